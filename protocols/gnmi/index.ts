/**
 * The gNMI protocol session: Capabilities, then one Subscribe stream per gNMI
 * subscription profile, decoded into TelemetryPoints for the sink. Resolves when
 * ctx.signal aborts; rejects with a SessionError when the session breaks.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { GnmiProfileSpec } from '../../core/device';
import type { TelemetryPoint } from '../../core/point';
import { SessionError, type GnmiCapabilitiesAnswer, type ProtocolSession, type SessionContext } from '../../core/session';
import { capabilitiesState, dialGnmi, encodingCandidates, probeCapabilities, type CapabilitiesOutcome, type GnmiClient } from './client';
import { NotificationDecoder, type DecodedNotification } from './decode';
import { CAPABILITIES_MISSING_COUNTER, counterFor, SKIPPED_COUNTER, SYNC_COUNTER, toGnmiSessionError, ZERO_TIMESTAMP_COUNTER, DUPLICATE_LEAF_COUNTER } from './errors';
import type { WireEncoding, WireNotification } from './proto';
import { buildSubscriptionList, EncodingRejectedError, runSubscription } from './subscribe';
import { validatedProfileSpec } from '../profile-spec';

/** The gNMI profiles of a session, validated (defaults applied). */
function gnmiProfiles(ctx: SessionContext): GnmiProfileSpec[] {
  const out: GnmiProfileSpec[] = [];
  for (const p of ctx.profiles) {
    if (p.protocol !== 'gnmi' || !p.gnmi) continue;
    out.push(validatedProfileSpec(GnmiProfileSpec, p.name, p.gnmi));
  }
  if (out.length === 0) throw new SessionError('CONFIG_INVALID', 'no gNMI subscription profile is attached to the device');
  return out;
}

/**
 * Decode → sink → events, for one stream. Synchronous unless the decoder slices a large
 * notification or the batcher applies backpressure: a promise only then. No closure is named
 * per notification or per session here: under tsx (esbuild keepNames) each closure bound to a
 * name gets a `name` property of its own (~250 bytes, and a defineProperty call), issue 16.
 */
function deliverer(ctx: SessionContext) {
  const decoder = new NotificationDecoder(ctx.device.id);
  return (n: WireNotification): void | Promise<void> => {
    const decoded = decoder.decodeSliced(n);
    return decoded instanceof Promise ? decoded.then((d) => deliverDecoded(ctx, d)) : deliverDecoded(ctx, decoded);
  };
}

function deliverDecoded(ctx: SessionContext, decoded: DecodedNotification): void | Promise<void> {
  for (const kind in decoded.skipped) ctx.count(SKIPPED_COUNTER, decoded.skipped[kind], { kind });
  if (decoded.receiveTime) ctx.count(ZERO_TIMESTAMP_COUNTER);
  if (decoded.duplicates > 0) ctx.count(DUPLICATE_LEAF_COUNTER, decoded.duplicates);
  const points = decoded.points;
  if (points.length === 0) return;
  // One push per notification keeps an atomic notification together.
  const pushed = ctx.sink.push(points);
  if (pushed) return pushed.then(() => announcePoints(ctx, points));
  announcePoints(ctx, points);
}

function announcePoints(ctx: SessionContext, points: TelemetryPoint[]): void {
  ctx.onEvent({ type: 'points', count: points.length, lastTimestamp: lastTimestamp(points) });
}

function lastTimestamp(points: TelemetryPoint[]): number {
  let max = -Infinity;
  for (const p of points) if (p.timestamp > max) max = p.timestamp;
  return max;
}

/**
 * Run one profile for the life of the session (ONCE repeats every pollIntervalMs).
 * The first encoding the device accepts is kept; a refused one moves to the next
 * candidate (ADR 014), announced as a warning, the accepted one as `negotiated`.
 */
async function runProfile(
  ctx: SessionContext,
  client: GnmiClient,
  profile: GnmiProfileSpec,
  caps: CapabilitiesOutcome,
  signal: AbortSignal,
  onSync: () => void,
  onSubscribed: () => void,
): Promise<void> {
  const { candidates, warning } = encodingCandidates(caps, profile.encoding ?? ctx.device.gnmi.encoding);
  if (warning) ctx.onEvent({ type: 'warning', message: warning });
  let index = 0;
  let accepted = false;
  const opts = { pollIntervalMs: profile.pollIntervalMs, signal };
  const onNotification = deliverer(ctx);
  const subscribeOnce = async (): Promise<void> => {
    for (;;) {
      const encoding = candidates[index];
      const list = buildSubscriptionList(profile, encoding, ctx.device.gnmi.target);
      const onAccepted = () => {
        if (accepted) return;
        accepted = true;
        onSubscribed();
        ctx.onEvent({ type: 'negotiated', encoding, capabilities: capabilitiesState(caps) });
      };
      try {
        return await runSubscription(client, list, opts, { onNotification, onSync, onAccepted });
      } catch (err) {
        if (!(err instanceof EncodingRejectedError) || accepted) throw err;
        const next = candidates[index + 1];
        if (!next) {
          throw new SessionError('CONFIG_INVALID', `the device refused every encoding tried (${candidates.join(', ')}); last: ${err.message}`, { cause: err });
        }
        ctx.onEvent({ type: 'warning', message: `gNMI device refused encoding ${encoding} (${err.message}); trying ${next}` });
        index++;
      }
    }
  };
  if (profile.mode !== 'once') return subscribeOnce();
  while (!signal.aborted) {
    await subscribeOnce();
    await sleep(profile.pollIntervalMs, undefined, { signal }).catch(() => undefined);
  }
}

/** A Capabilities answer the device gave to an earlier dial, as if given now (ADR 298). */
function knownOutcome(known: GnmiCapabilitiesAnswer): CapabilitiesOutcome {
  return { answered: true, response: { supported_encodings: known.encodings as WireEncoding[], gNMI_version: known.gnmiVersion } };
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
      const known = ctx.gnmiCapabilities?.known;
      const caps = known ? knownOutcome(known) : await probeCapabilities(client, ctx.device.gnmi.capabilitiesTimeoutMs, inner.signal);
      if (ctx.signal.aborted) return;
      // Told what the device answered before a hand-over (ADR 298): connected once a Subscribe is answered.
      let onAccepted = () => {};
      if (known) {
        onAccepted = () => {
          onAccepted = () => {};
          ctx.onEvent({ type: 'connected', detail: `gNMI ${known.gnmiVersion || 'unknown'} over ${client.security}; Capabilities as answered to its previous collector` });
        };
      } else if (caps.answered) {
        ctx.gnmiCapabilities?.onAnswered?.({ encodings: caps.response.supported_encodings ?? [], gnmiVersion: caps.response.gNMI_version ?? '' });
        ctx.onEvent({ type: 'connected', detail: `gNMI ${caps.response.gNMI_version || 'unknown'} over ${client.security}` });
      } else {
        // Nothing parks for a missing Capabilities (issue 13): subscribe without it, and say so.
        const why = caps.reason === 'unimplemented' ? `the device does not implement the gNMI Capabilities RPC (${caps.detail})` : `gNMI ${caps.detail}`;
        ctx.onEvent({ type: 'warning', message: `${why}; subscribing without it` });
        ctx.count(CAPABILITIES_MISSING_COUNTER, 1, { reason: caps.reason });
        // UNIMPLEMENTED came from the device itself, so the connection works; a timeout proves nothing yet.
        if (caps.reason === 'unimplemented') ctx.onEvent({ type: 'connected', detail: `gNMI (no Capabilities) over ${client.security}` });
      }
      let unsynced = profiles.length;
      let first: SessionError | undefined;
      await Promise.all(
        profiles.map((profile) => {
          let synced = false;
          const onSync = () => {
            ctx.count(SYNC_COUNTER);
            if (synced) return;
            synced = true;
            if (--unsynced === 0) ctx.onEvent({ type: 'synced' });
          };
          return runProfile(ctx, client, profile, caps, inner.signal, onSync, () => onAccepted()).catch((err) => {
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
