/**
 * What the device-session workflow shows of its state machine (core/session-machine.ts): the state last
 * shown and since when, its detail, the recent changes, the encoding and Capabilities outcome the session
 * reported, the status query's answer and Temporal Web's current details text; and the validation of
 * the workflow's input (a non-retryable CONFIG_INVALID failure) and of its requests (pause, resume, reconfigure). Plain state, no Temporal calls: the workflow upserts the search
 * attribute and sets the current details from what `show` returns.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { DeviceSessionInput, DeviceSessionStatus, SessionEventPayload, SessionState } from './names';
import { MAX_REASON, type SessionMachine } from './session-machine';

/** Recent state changes kept for the status query. */
export const RECENT_STATES = 20;

export class SessionDisplay {
  private shown: SessionState = 'connecting';
  private shownDetail = '';
  private readonly recent: NonNullable<DeviceSessionStatus['recent']> = [];
  /** gNMI encoding and Capabilities outcome the latest session reported (status query only). */
  private encoding: string | undefined;
  private capabilities: DeviceSessionStatus['capabilities'];

  constructor(private since: number) {}

  /** A session event of the current attempt: keep what it reports about the encoding and Capabilities. */
  reported(event: Pick<SessionEventPayload, 'encoding' | 'capabilities'>): void {
    if (typeof event.encoding === 'string') this.encoding = event.encoding.slice(0, 100);
    if (event.capabilities) this.capabilities = event.capabilities;
  }

  /**
   * Show the machine's state at `now`: a change of state or detail joins the recent changes. Returns whether the
   * state changed (the workflow upserts the SessionState search attribute) and Temporal Web's current details.
   */
  show(m: SessionMachine, now: number, where: { protocol: string; address?: string }): { stateChanged: boolean; details: string } {
    const { state, detail, lastError, attempt, carried } = m;
    if (state !== this.shown || detail !== this.shownDetail) {
      this.recent.push({ state, at: now, detail: detail || undefined, backoffMs: state === 'backoff' ? m.backoff?.ms : undefined });
      if (this.recent.length > RECENT_STATES) this.recent.shift();
    }
    const stateChanged = state !== this.shown;
    if (stateChanged) {
      this.shown = state;
      this.since = now;
    }
    this.shownDetail = detail;
    const at = where.address ? ` · ${where.address}` : '';
    const lines = [`**${state}**${detail ? ` — ${detail}` : ''}`, `${where.protocol}${at} · attempt ${attempt} · generation ${carried.generation}`];
    if (lastError && state !== 'streaming') lines.push(`last error: ${lastError.slice(0, 300)}`);
    return { stateChanged, details: lines.join('\n\n') };
  }

  /** The status query's answer. */
  status(m: SessionMachine, device: { deviceId: number; deviceName: string }): DeviceSessionStatus {
    const backoff = m.state === 'backoff' ? m.backoff : undefined;
    return {
      deviceId: device.deviceId,
      deviceName: device.deviceName,
      state: this.shown,
      since: this.since,
      detail: this.shownDetail,
      attempt: m.attempt,
      generation: m.carried.generation,
      lastPointAt: m.carried.lastPointAt,
      lastError: m.lastError,
      paused: m.carried.paused,
      recent: [...this.recent],
      encoding: this.encoding,
      capabilities: this.capabilities,
      failingSince: isoOf(m.carried.failingSince),
      nextRetryAt: backoff ? isoOf(backoff.at + backoff.ms) : undefined,
      backoffMs: backoff?.ms,
      parkedReason: m.carried.parked?.error,
    };
  }
}

function isoOf(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : new Date(ms).toISOString();
}

/** Validates a pause / resume / reconfigure request (an update validator: throwing rejects it). */
export function validateRequest(req: unknown): void {
  if (req === undefined || req === null) return;
  if (typeof req !== 'object' || Array.isArray(req)) throw new Error('the request must be an object');
  const reason = (req as { reason?: unknown }).reason;
  if (reason !== undefined && (typeof reason !== 'string' || reason.length > MAX_REASON)) {
    throw new Error(`reason must be a string of at most ${MAX_REASON} characters`);
  }
}

/** Validates a reconfigure request: as validateRequest, and a device name, when given, of 1–255 characters. */
export function validateReconfigure(req: { deviceName?: unknown } | undefined): void {
  validateRequest(req);
  if (req?.deviceName !== undefined && (typeof req.deviceName !== 'string' || !req.deviceName.trim() || req.deviceName.length > 255)) {
    throw new Error('deviceName must be a non-empty string of at most 255 characters');
  }
}

/** Validates the workflow's input: a malformed one fails the workflow at once (non-retryable CONFIG_INVALID). */
export function validateInput(input: DeviceSessionInput): void {
  if (!Number.isInteger(input?.deviceId) || input.deviceId <= 0) {
    throw ApplicationFailure.nonRetryable(`invalid deviceId ${JSON.stringify(input?.deviceId)}`, 'CONFIG_INVALID');
  }
  if (input.protocol !== 'gnmi' && input.protocol !== 'netconf') {
    throw ApplicationFailure.nonRetryable(`invalid protocol ${JSON.stringify(input.protocol)}`, 'CONFIG_INVALID');
  }
  if (typeof input.deviceName !== 'string' || !input.deviceName) {
    throw ApplicationFailure.nonRetryable('deviceName is required', 'CONFIG_INVALID');
  }
}
