/**
 * The gNMI protocol session: Capabilities, then one Subscribe stream per gNMI
 * subscription profile, decoded into TelemetryPoints for the sink. Resolves when
 * ctx.signal aborts; rejects with a SessionError when the session breaks.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { GnmiProfileSpec } from '../../core/device';
import type { TelemetryPoint } from '../../core/point';
import { SessionError, type ProtocolSession, type SessionContext } from '../../core/session';
import { chooseEncoding, dialGnmi, getCapabilities, type GnmiClient } from './client';
import { NotificationDecoder } from './decode';
import { counterFor, SKIPPED_COUNTER, toGnmiSessionError } from './errors';
import type { WireNotification } from './proto';
import { buildSubscriptionList, runSubscription } from './subscribe';

/** The gNMI profiles of a session, validated (defaults applied). */
function gnmiProfiles(ctx: SessionContext): GnmiProfileSpec[] {
  const out: GnmiProfileSpec[] = [];
  for (const p of ctx.profiles) {
    if (p.protocol !== 'gnmi' || !p.gnmi) continue;
    const parsed = GnmiProfileSpec.safeParse(p.gnmi);
    if (!parsed.success) {
      throw new SessionError('CONFIG_INVALID', `profile ${p.name}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    }
    out.push(parsed.data);
  }
  if (out.length === 0) throw new SessionError('CONFIG_INVALID', 'no gNMI subscription profile is attached to the device');
  return out;
}

/** Decode → sink → events, for one stream. */
function deliverer(ctx: SessionContext) {
  const decoder = new NotificationDecoder(ctx.device.id);
  return async (n: WireNotification): Promise<void> => {
    const decoded = await decoder.decodeSliced(n);
    for (const [kind, count] of Object.entries(decoded.skipped)) ctx.count(SKIPPED_COUNTER, count, { kind });
    if (decoded.points.length === 0) return;
    // One push per notification keeps an atomic notification together.
    const pushed = ctx.sink.push(decoded.points);
    if (pushed) await pushed;
    ctx.onEvent({ type: 'points', count: decoded.points.length, lastTimestamp: lastTimestamp(decoded.points) });
  };
}

function lastTimestamp(points: TelemetryPoint[]): number {
  let max = -Infinity;
  for (const p of points) if (p.timestamp > max) max = p.timestamp;
  return max;
}

/** Run one profile for the life of the session (ONCE repeats every pollIntervalMs). */
async function runProfile(
  ctx: SessionContext,
  client: GnmiClient,
  profile: GnmiProfileSpec,
  supported: Parameters<typeof chooseEncoding>[0],
  signal: AbortSignal,
  onSync: () => void,
): Promise<void> {
  const { encoding, warning } = chooseEncoding(supported, profile.encoding ?? ctx.device.gnmi.encoding);
  if (warning) ctx.onEvent({ type: 'warning', message: warning });
  const list = buildSubscriptionList(profile, encoding, ctx.device.gnmi.target);
  const handlers = { onNotification: deliverer(ctx), onSync };
  const opts = { pollIntervalMs: profile.pollIntervalMs, signal };
  if (profile.mode !== 'once') return runSubscription(client, list, opts, handlers);
  while (!signal.aborted) {
    await runSubscription(client, list, opts, handlers);
    await sleep(profile.pollIntervalMs, undefined, { signal }).catch(() => undefined);
  }
}

/** The gNMI ProtocolSession. */
export const gnmiProtocol: ProtocolSession = {
  protocol: 'gnmi',
  async run(ctx: SessionContext): Promise<void> {
    if (ctx.signal.aborted) return;
    const profiles = gnmiProfiles(ctx);
    const client = dialGnmi(ctx.device);
    // Ends every stream when one fails, as well as when the session is cancelled.
    const inner = new AbortController();
    const onOuterAbort = () => inner.abort();
    ctx.signal.addEventListener('abort', onOuterAbort, { once: true });
    try {
      const caps = await getCapabilities(client, inner.signal);
      if (ctx.signal.aborted) return;
      ctx.onEvent({ type: 'connected', detail: `gNMI ${caps.gNMI_version || 'unknown'} over ${client.security}` });
      let unsynced = profiles.length;
      let first: SessionError | undefined;
      await Promise.all(
        profiles.map((profile) => {
          let synced = false;
          const onSync = () => {
            if (synced) return;
            synced = true;
            if (--unsynced === 0) ctx.onEvent({ type: 'synced' });
          };
          return runProfile(ctx, client, profile, caps.supported_encodings, inner.signal, onSync).catch((err) => {
            const e = toGnmiSessionError(err, 'Subscribe');
            first ??= e;
            inner.abort();
          });
        }),
      );
      if (ctx.signal.aborted) return;
      if (first) throw first;
      // Only ONCE profiles could end by themselves, and they loop until aborted.
    } catch (err) {
      if (ctx.signal.aborted) return;
      const e = toGnmiSessionError(err, 'gNMI');
      const counter = counterFor(e);
      if (counter) ctx.count(counter);
      ctx.log.warn('gNMI session failed', { deviceId: ctx.device.id, code: e.code, error: e.message });
      throw e;
    } finally {
      ctx.signal.removeEventListener('abort', onOuterAbort);
      inner.abort();
      client.close();
    }
  },
};
