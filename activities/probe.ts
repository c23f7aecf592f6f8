/**
 * Test connection (task queue `device-sessions`, so it runs where sessions run):
 * connect with the device form's unsaved settings, let the protocol report its
 * gNMI Capabilities / NETCONF hello, wait for one sample of the first chosen
 * profile, and stop. Points go to an in-memory sink and are dropped; no host key
 * is saved, no gap or state is recorded (ADR 091). A NETCONF device's presented host key
 * is reported beside the pinned one, so the operator can pin it on first use (ADR 127).
 */
import { Context } from '@temporalio/activity';
import type { Knex } from 'knex';
import { GnmiDeviceSettings, NetconfDeviceSettings, type DeviceConfig, type DeviceSecrets } from '../core/device';
import { createLogger } from '../core/log';
import type { MetricsRegistry } from '../core/metrics';
import type { ProbeDeviceInput, ProbeDeviceResult } from '../core/names';
import type { TelemetryPoint } from '../core/point';
import { toSessionError, type ProtocolSession } from '../core/session';
import { loadSecrets, parseProfileRow } from '../storage/devices';
import { openProbeSecrets } from '../storage/probe-secrets';
import { getProfile } from '../storage/profiles';
import type { Keyring } from '../storage/secrets';
import type { DialLimiter } from '../protocols/dial-limiter';
import type { ProbeActivities } from './types';
import { protocolLabel } from '../core/profile-protocol';

export interface ProbeDeps {
  db: Knex;
  keyring: Keyring;
  getProtocol(name: 'gnmi' | 'netconf'): Promise<ProtocolSession>;
  metrics?: MetricsRegistry;
  dials?: DialLimiter;
}

/** A value as one line of text. */
function show(p: TelemetryPoint): string {
  if (p.value === null) return '(deleted)';
  const v = p.exact ?? (typeof p.value === 'object' ? JSON.stringify(p.value) : String(p.value));
  return v.length > 200 ? `${v.slice(0, 200)}…` : v;
}

export function createProbeActivities(deps: ProbeDeps): ProbeActivities {
  return {
    async probeDevice(input: ProbeDeviceInput): Promise<ProbeDeviceResult> {
      const started = Date.now();
      const elapsed = () => Date.now() - started;
      const log = createLogger('probe', { deviceId: input.deviceId, host: input.host });
      const ctx = Context.current();
      const workflowId = ctx.info.workflowExecution?.workflowId ?? '';

      const row = input.profileId ? await getProfile(deps.db, input.profileId) : undefined;
      if (!row || row.protocol !== input.protocol) {
        return { ok: false, elapsedMs: elapsed(), code: 'NO_PROFILE', error: `Choose a ${protocolLabel(input.protocol)} subscription profile: the probe fetches one sample of it.` };
      }
      const profile = parseProfileRow(row);

      let secrets: DeviceSecrets = {};
      try {
        const stored = input.deviceId && !input.clearSecrets ? await loadSecrets(deps.db, deps.keyring, input.deviceId) : {};
        const typed = input.sealedSecrets ? openProbeSecrets(deps.keyring, input.sealedSecrets, workflowId) : {};
        // Typed secrets win; blank ones keep what is stored (as saving the form would).
        secrets = { ...stored, ...Object.fromEntries(Object.entries(typed).filter(([, v]) => v !== undefined && v !== '')) };
      } catch (err) {
        return { ok: false, elapsedMs: elapsed(), code: 'SECRETS', error: `The credentials could not be read: ${(err as Error).message}` };
      }
      const device: DeviceConfig = {
        id: input.deviceId ?? 0,
        name: input.name,
        protocol: input.protocol,
        host: input.host,
        port: input.port,
        username: input.username,
        secrets,
        gnmi: GnmiDeviceSettings.parse(input.gnmi ?? {}),
        netconf: NetconfDeviceSettings.parse(input.netconf ?? {}),
      };

      const result: ProbeDeviceResult = { ok: false, elapsedMs: 0, profileName: profile.name };
      const abort = new AbortController();
      const onCancel = () => abort.abort('cancelled');
      ctx.cancellationSignal.addEventListener('abort', onCancel);
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        abort.abort('timeout');
      }, input.timeoutMs);
      const beat = setInterval(() => ctx.heartbeat({ elapsedMs: elapsed() }), 1000);
      let release: (() => void) | undefined;
      try {
        if (deps.dials) release = await deps.dials.acquire(abort.signal);
        const protocol = await deps.getProtocol(input.protocol);
        await protocol.run({
          device,
          profiles: [profile],
          signal: abort.signal,
          sink: {
            push(points: TelemetryPoint[]) {
              if (result.sample || points.length === 0) return;
              const p = points[0];
              result.sample = { path: p.path, value: show(p), at: new Date(p.timestamp).toISOString() };
              abort.abort('sampled');
            },
          },
          onEvent(e) {
            if (e.type === 'connected') result.connected = e.detail ?? 'connected';
            if (e.type === 'negotiated') result.negotiated = `encoding ${e.encoding}${e.capabilities ? `, Capabilities ${e.capabilities}` : ''}`;
          },
          count: (name, by, labels) => deps.metrics?.inc(name, by, labels),
          log,
          // No saveHostKey: a probe never pins a key itself; it shows the presented one, which the operator may pin (ADR 127).
          onHostKey({ presented, pinned }) {
            result.hostKey = { presented, pinned, status: !pinned ? 'unknown' : pinned === presented ? 'pinned' : 'changed' };
          },
        });
      } catch (err) {
        if (!result.sample) {
          const e = toSessionError(err);
          result.code = e.code;
          result.error = e.message;
        }
      } finally {
        clearTimeout(timer);
        clearInterval(beat);
        release?.();
        ctx.cancellationSignal.removeEventListener('abort', onCancel);
      }
      result.elapsedMs = elapsed();
      if (result.sample) result.ok = true;
      else if (!result.error) {
        result.code = timedOut ? 'TIMEOUT' : 'NO_SAMPLE';
        result.error = timedOut
          ? `No ${result.connected ? 'sample' : 'answer'} within ${Math.round(input.timeoutMs / 1000)} s${result.connected ? ' (connected, but the profile produced nothing yet)' : ''}.`
          : 'The session ended before a sample arrived.';
      }
      log.info('probe done', { ok: result.ok, code: result.code, elapsedMs: result.elapsedMs });
      return result;
    },
  };
}
