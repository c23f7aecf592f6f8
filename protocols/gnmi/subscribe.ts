/**
 * One gNMI Subscribe stream: the SubscriptionList built from a profile, then the
 * read loop (STREAM, ONCE, POLL) with backpressure — the next message is not
 * read while the previous one is still being handed to the sink.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { GnmiProfileSpec } from '../../core/device';
import { parsePath, PathSyntaxError, type StructuredPath } from '../../core/path';
import { SessionError } from '../../core/session';
import type { GnmiClient } from './client';
import { toGnmiSessionError } from './errors';
import { toWirePath } from './paths';
import type { WireEncoding, WireNotification, WireSubscribeResponse, WireSubscriptionList } from './proto';

const MS_TO_NS = 1_000_000n;

function parseConfiguredPath(text: string, what: string): StructuredPath {
  try {
    return parsePath(text);
  } catch (err) {
    if (err instanceof PathSyntaxError) throw new SessionError('CONFIG_INVALID', `${what}: ${err.message}`, { cause: err });
    throw err;
  }
}

/** The SubscriptionList for a profile (throws CONFIG_INVALID for a bad path). */
export function buildSubscriptionList(profile: GnmiProfileSpec, encoding: WireEncoding, target?: string): WireSubscriptionList {
  const prefixPath = profile.prefix ? parseConfiguredPath(profile.prefix, 'profile prefix') : { origin: '', elems: [] };
  const origin = profile.origin ?? prefixPath.origin ?? '';
  const list: WireSubscriptionList = {
    mode: profile.mode === 'once' ? 'ONCE' : profile.mode === 'poll' ? 'POLL' : 'STREAM',
    encoding,
    updates_only: profile.updatesOnly,
    subscription: profile.subscriptions.map((s) => {
      const path = parseConfiguredPath(s.path, 'subscription path');
      if (origin && path.origin && path.origin !== origin) {
        throw new SessionError('CONFIG_INVALID', `subscription path origin ${path.origin} differs from the profile origin ${origin}`);
      }
      // With an origin in the prefix, the spec wants it on the prefix only.
      const wire = toWirePath(origin ? { origin: '', elems: path.elems } : path);
      return {
        path: wire,
        mode: s.mode === 'on_change' ? 'ON_CHANGE' : s.mode === 'target_defined' ? 'TARGET_DEFINED' : 'SAMPLE',
        sample_interval: (BigInt(s.sampleIntervalMs) * MS_TO_NS).toString(),
        heartbeat_interval: (BigInt(s.heartbeatIntervalMs) * MS_TO_NS).toString(),
        suppress_redundant: s.suppressRedundant,
      };
    }),
  };
  if (origin || target || prefixPath.elems.length > 0) {
    list.prefix = toWirePath({ origin, elems: prefixPath.elems }, target);
  }
  return list;
}

/** What the read loop hands back. */
export interface StreamHandlers {
  /** Decode and deliver; awaiting it pauses reading (backpressure). */
  onNotification(n: WireNotification): Promise<void> | void;
  onSync(): void;
  /** The device answered the SubscriptionList (first response of the call): its encoding was accepted. */
  onAccepted?(): void;
}

/**
 * The device refused the SubscriptionList's encoding: the call failed before any
 * response with UNIMPLEMENTED (what the specification prescribes for an unsupported
 * encoding), or with INVALID_ARGUMENT whose details name the encoding (ADR 014).
 * A CONFIG_INVALID SessionError, so it parks the session when no fallback is left.
 */
export class EncodingRejectedError extends SessionError {
  constructor(
    readonly encoding: WireEncoding,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('CONFIG_INVALID', message, options);
    this.name = 'EncodingRejectedError';
  }
}

/** Whether a failure, before any response, is a refusal of the requested encoding. */
export function isEncodingRejection(err: unknown): boolean {
  const e = err as { code?: unknown; details?: unknown; message?: unknown } | null;
  if (!e || typeof e.code !== 'number') return false;
  if (e.code === GrpcStatus.UNIMPLEMENTED) return true;
  const text = `${typeof e.details === 'string' ? e.details : ''} ${typeof e.message === 'string' ? e.message : ''}`;
  return e.code === GrpcStatus.INVALID_ARGUMENT && /encod/i.test(text);
}

/** Longest stretch the read loop runs before letting timers and other sessions in. */
const MAX_LOOP_SLICE_MS = 10;

/**
 * Run one Subscribe call until the device ends it (ONCE), the signal aborts
 * (resolves), or it fails (rejects with a SessionError). POLL sends a Poll every
 * pollIntervalMs after the first sync_response.
 */
export async function runSubscription(client: GnmiClient, list: WireSubscriptionList, opts: { pollIntervalMs: number; signal: AbortSignal }, handlers: StreamHandlers): Promise<void> {
  if (opts.signal.aborted) return;
  const call = client.subscribe();
  const onAbort = () => call.cancel();
  opts.signal.addEventListener('abort', onAbort, { once: true });
  let pollTimer: NodeJS.Timeout | undefined;
  let responded = false;
  try {
    call.write({ subscribe: list });
    let sliceStart = performance.now();
    for await (const msg of call) {
      if (!responded) {
        responded = true;
        handlers.onAccepted?.();
      }
      if (msg.response === 'update' && msg.update) {
        // Awaited only when it is a promise (backpressure, a sliced notification): no microtask otherwise.
        const delivered = handlers.onNotification(msg.update);
        if (delivered) await delivered;
      } else if (msg.response === 'sync_response' || msg.sync_response) {
        handlers.onSync();
        if (list.mode === 'POLL' && !pollTimer) {
          pollTimer = setInterval(() => call.write({ poll: {} }), opts.pollIntervalMs);
        }
      } else if (msg.response === 'error') {
        throw new SessionError('UNAVAILABLE', `device sent an error: ${msg.error?.code} ${msg.error?.message ?? ''}`);
      }
      if (performance.now() - sliceStart > MAX_LOOP_SLICE_MS) {
        await yieldToLoop();
        sliceStart = performance.now();
      }
    }
    if (opts.signal.aborted) return;
    if (list.mode !== 'ONCE') throw new SessionError('UNAVAILABLE', 'Subscribe: the device ended the stream');
  } catch (err) {
    if (opts.signal.aborted) return;
    if (!responded && list.encoding && isEncodingRejection(err)) {
      const e = err as { code: number; details?: string };
      throw new EncodingRejectedError(list.encoding, `Subscribe (${list.encoding}): ${GrpcStatus[e.code]} ${e.details ?? ''}`.trim(), { cause: err });
    }
    throw toGnmiSessionError(err, 'Subscribe');
  } finally {
    if (pollTimer) clearInterval(pollTimer);
    opts.signal.removeEventListener('abort', onAbort);
    call.cancel();
  }
}
