/**
 * Whether what the device page shows is true now: the age of a value, when it
 * counts as stale, the ongoing outage of a session (no data since …, why, next
 * retry), and what would unpark a parked session, in operator words.
 * Pure and browser-safe: loaders gather the inputs, pages and charts render them.
 */
import type { DeviceSessionStatus } from '../../../core/names';
import { formatTime } from './time-format';

/** A value is stale after this many of its sample intervals without a newer one. */
export const STALE_INTERVALS = 3;
/** Lower bound of the stale threshold: jitter and batching never make a live value stale. */
export const MIN_STALE_MS = 30_000;
/** Threshold for values whose interval is unknown (one sample, or on-change leaves). */
export const DEFAULT_STALE_MS = 60_000;

/** How old a value may be before it is shown as stale rather than as current state. */
export function staleAfterMs(intervalMs?: number): number {
  if (!intervalMs || !Number.isFinite(intervalMs) || intervalMs <= 0) return DEFAULT_STALE_MS;
  return Math.max(MIN_STALE_MS, STALE_INTERVALS * intervalMs);
}

/** True when a value stamped `at` is older than its threshold at `now` (no time at all is stale). */
export function isStale(at: number | undefined | null, now: number, intervalMs?: number): boolean {
  if (!at) return true;
  return now - at > staleAfterMs(intervalMs);
}

/** The session fields this module reads; `failingSince`, `nextRetryAt`, `parkedReason` when the workflow reports them. */
export type SessionFacts = Pick<DeviceSessionStatus, 'state' | 'since' | 'attempt' | 'lastError' | 'detail' | 'paused'> & {
  /** ISO time (or ms) of the first failure since the device last streamed. */
  failingSince?: string | number;
  /** ISO time (or ms) the next attempt starts. */
  nextRetryAt?: string | number;
  backoffMs?: number;
  parkedReason?: string;
};

/** ms of an ISO time or ms value, or undefined. */
function msOf(t: string | number | undefined): number | undefined {
  if (t === undefined) return undefined;
  const ms = typeof t === 'number' ? t : Date.parse(t);
  return Number.isFinite(ms) ? ms : undefined;
}

/** An ongoing outage: the device has sent nothing since `since` (or never), and why. */
export interface Outage {
  /** Why no session is streaming: retrying after failures, parked on a problem, paused, disabled, or streaming without data. */
  kind: 'retrying' | 'parked' | 'paused' | 'disabled' | 'silent' | 'unknown';
  /** The newest point before the outage, when there is one. */
  since?: number;
  /** The error or reason, as the workflow words it. */
  reason?: string;
  /** Failures in a row (backoff), when known. */
  retry?: number;
  /** When the next attempt starts (ms), when known. */
  retryAt?: number;
  /** First failure since the device last streamed (ms), when the workflow reports it. */
  failingSince?: number;
}

const BACKOFF_DETAIL = /; retry (\d+) in ([\d.]+) s$/;

/**
 * The outage a device is in, or undefined while its data are fresh. `lastPointAt` is the
 * newest point stored or reported; `intervalMs` the device's usual spacing of points when known.
 */
export function sessionOutage(input: { enabled: boolean; status: SessionFacts | null | undefined; lastPointAt?: number; intervalMs?: number; now: number }): Outage | undefined {
  const { enabled, status, lastPointAt, now } = input;
  const since = lastPointAt;
  const failingSince = msOf(status?.failingSince);
  if (!enabled) return { kind: 'disabled', since, reason: 'the device is disabled' };
  if (!status) return isStale(lastPointAt, now, input.intervalMs) ? { kind: 'unknown', since, reason: 'no session answered (its workflow is not running or Temporal is unreachable)' } : undefined;
  if (status.paused || status.state === 'paused') return { kind: 'paused', since, reason: status.detail || 'paused' };
  if (status.state === 'auth-failed' || status.state === 'config-invalid') return { kind: 'parked', since, failingSince, reason: status.parkedReason ?? status.lastError ?? status.detail };
  if (status.state === 'backoff') {
    const m = BACKOFF_DETAIL.exec(status.detail ?? '');
    const retryAt = msOf(status.nextRetryAt) ?? (m ? status.since + Math.round(Number(m[2]) * 1000) : undefined);
    return { kind: 'retrying', since, failingSince, reason: status.lastError ?? status.detail?.replace(BACKOFF_DETAIL, ''), retry: m ? Number(m[1]) : undefined, retryAt };
  }
  if (status.state === 'disabled') return { kind: 'disabled', since, reason: status.detail || 'the device is disabled' };
  // connecting or streaming: an outage only when the points stopped coming.
  if (!isStale(lastPointAt, now, input.intervalMs)) return undefined;
  if (status.state === 'connecting') return { kind: 'retrying', since, failingSince, reason: status.detail || 'connecting', retry: status.attempt };
  return { kind: 'silent', since, reason: 'the session is up but the device sends nothing' };
}

/** An error as an operator reads it: gRPC's empty trailer on connection errors ("… Resolution note: ") says nothing. */
export const tidy = (reason: string) => reason.replace(/\s*Resolution note:\s*$/, '').trim();

/** One line for an outage: "No data since 06:40 UTC — SSH connection refused · retry 33 in 22 s" (times in `zone`). */
export function outageLine(o: Outage, now: number, zone = 'UTC'): string {
  const head = o.since ? `No data since ${formatTime(o.since, zone, now)}` : 'No data yet';
  const parts = [o.reason ? `${head} — ${tidy(o.reason)}` : head];
  if (o.kind === 'retrying' && o.retryAt !== undefined) {
    const secs = Math.max(0, Math.ceil((o.retryAt - now) / 1000));
    parts.push(secs > 0 ? `retry${o.retry ? ` ${o.retry}` : ''} in ${secs} s` : `retry${o.retry ? ` ${o.retry}` : ''} now`);
  } else if (o.kind === 'retrying') {
    parts.push('retrying');
  }
  return parts.join(' · ');
}

/** What would unpark a parked session, and whether the cause is the device rather than our configuration. */
export interface ParkedAdvice {
  /** What to do, naming the setting to edit. */
  action: string;
  /** The device lacks something (a capability, a model, a method): editing our side alone may not help. */
  deviceLimitation: boolean;
}

// Device limitations: the message says the device does not offer something.
const LIMITATION = /does not advertise|does not implement|not supported by the device|unimplemented|advertises neither|refused the netconf subsystem|does not support/i;

/** Operator words for a parked session (`auth-failed` or `config-invalid`) from its error. */
export function parkedAdvice(state: string, error: string | undefined, protocol: 'gnmi' | 'netconf'): ParkedAdvice {
  const e = error ?? '';
  const resume = 'then press Retry now (saving the device also reconnects it)';
  if (LIMITATION.test(e)) {
    return {
      deviceLimitation: true,
      action: `The device does not offer what a subscription profile asks for. Attach a profile the device supports (Edit → Profiles), or enable the feature on the device, ${resume}.`,
    };
  }
  if (/HOST_KEY_MISMATCH/.test(e)) return { deviceLimitation: false, action: `The device's SSH host key changed. If the change is expected, use “Forget pinned key” below (or paste the new fingerprint in Edit → SSH host key), ${resume}.` };
  if (/HOST_KEY_UNKNOWN/.test(e)) return { deviceLimitation: false, action: `The SSH host key is not trusted yet. Approve first use below, or paste its fingerprint in Edit → SSH host key, ${resume}.` };
  if (/TLS_FAILED|certificate|tls/i.test(e) && protocol === 'gnmi') return { deviceLimitation: false, action: `The TLS connection failed. Check Edit → TLS (mode, CA certificate, server name), ${resume}.` };
  if (state === 'auth-failed' || /AUTH_FAILED/.test(e)) {
    const what = /passphrase/i.test(e) ? 'the private key passphrase' : 'the username and password (or private key)';
    return { deviceLimitation: false, action: `The device refused the credentials. Correct ${what} in Edit → Credentials, ${resume}.` };
  }
  if (/profile|subscription|filter|path/i.test(e)) return { deviceLimitation: false, action: `A subscription profile is not valid for this device. Fix the profile (Profiles) or attach another one (Edit → Profiles), ${resume}.` };
  return { deviceLimitation: false, action: `The device's configuration is not usable as it is. Correct the setting named in the error (Edit), ${resume}.` };
}
