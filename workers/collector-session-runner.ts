/**
 * The collector's session runner: one attempt of a device session, as the session activity
 * (activities/session.ts) runs it. Holds one device's gNMI stream or NETCONF session (or adopts
 * the warm one, ADR 235), forwards points to the process's batcher, and heartbeats small details
 * through its host (the activity's Temporal context). Cancellation (pause, reconfigure) or the
 * workflow's direct stop (`endLocal`, ADR 160), a bulk pause carried out here (a `paused` result,
 * ADR 250), a hand-over, the lease, or an idle timeout end it; failures become typed
 * ApplicationFailures (non-retryable where retrying cannot help). Telemetry and secrets never enter Temporal.
 */
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import { createLogger } from '../core/log';
import { metricsKey, type MetricsRegistry } from '../core/metrics';
import {
  sessionEventSignal,
  type BulkPauseEnding,
  type EndLocalSessionInput,
  type RunSessionInput,
  type RunSessionResult,
  type SessionEventPayload,
  type SessionHeartbeat,
  type SessionPlacement,
} from '../core/names';
import type { TelemetryPoint } from '../core/point';
import { SessionError, toSessionError, type Logger, type PointSink, type ProtocolSession, type SessionEvent } from '../core/session';
import { batchedDeviceLoader, pinHostKey, type loadDeviceConfig } from '../storage/devices';
import { lastStoredPointAt, recordGap, type Gap } from '../storage/gaps';
import type { DialLimiter } from '../protocols/dial-limiter';
import type { Keyring } from '../storage/secrets';
import type { SessionAttemptHost, SessionRunner, WarmStreamHandle, WarmStreams } from '../activities/types';
import { capabilitiesHooks, type WarmDeps } from './collector-warm-sessions';

/** What the session runner needs, wired by the collector worker (tests pass their own). */
export interface SessionDeps {
  db: Knex;
  keyring: Keyring;
  sink: PointSink;
  getProtocol(name: 'gnmi' | 'netconf'): Promise<ProtocolSession>;
  /** Used to tell the workflow the session is streaming; optional in unit tests. */
  client?: Client;
  metrics: MetricsRegistry;
  heartbeatEveryMs?: number;
  idleTimeoutMs?: number;
  defaultLeaseMs?: number;
  /** Sessions by state, for /metrics. */
  liveSessions?: Map<string, 'connecting' | 'streaming'>;
  /** Aborted when the collector is leaving (SIGTERM): every session ends at once and fails over. */
  leaving?: AbortSignal;
  /**
   * Filled with one hand-over function per running device (ADR 110): the collector calls it when
   * placement moves the session elsewhere (rebalance, drain); the session ends as on SIGTERM.
   */
  handovers?: Map<number, () => void>;
  /**
   * Filled with one function per running attempt, by device: the collector calls it for a bulk
   * pause (ADR 250); the attempt ends with a `paused` result (false: it was already ending otherwise).
   */
  pauses?: Map<number, (pause: BulkPauseEnding) => boolean>;
  /** Where the collector, leaving, placed each of its sessions' next attempts (ADR 200, 231; workers/collector-handover-placements.ts): handed back with the `handover` result. */
  handoverPlacements?: { next(deviceId: number): Promise<SessionPlacement | undefined> };
  /** Observes how late each heartbeat tick fires (event-loop pressure), for /metrics (core/metrics.ts LagTracker). */
  heartbeatLag?: { observe(lateMs: number): void };
  /** A gNMI device answered Capabilities (ADR 298): recorded for the next hand-over. */
  onCapabilities?: WarmDeps['onCapabilities'];
  /** Loads a device (default: from the database, secrets decrypted, the loads of attempts starting together in one batch, ADR 261); tests pass a fake. */
  loadDevice?: (deviceId: number) => ReturnType<typeof loadDeviceConfig>;
  /** Stores a gap record (default: the gaps table); tests pass a fake. */
  /** Caps concurrent dials of this process (reconnect storms); none when absent. */
  dials?: DialLimiter;
  /** Newest stored point of a device before a time (tests replace it). */
  lastStoredAt?: (deviceId: number, before: number) => Promise<number | undefined>;
  saveGap?: (gap: Gap) => Promise<void>;
  /** Streams this collector dialled on a hand-over before their attempt came (ADR 235): an attempt adopts its device's. */
  warm?: WarmStreams;
  /** An attempt streams its device here now (its first point): the collector says so to the others (ADR 236). */
  onStreaming?: (deviceId: number) => void;
}

/**
 * A planned restart is a clean hand-over, not a failed activity (issue 21), naming where the leaving collector placed the next
 * attempt (ADR 200) and, for a session streaming until now, when it ended (ADR 236).
 */
async function handoverResult(deps: SessionDeps, deviceId: number, hb: SessionHeartbeat, streaming = false): Promise<RunSessionResult> {
  const streamedUntil = streaming ? Date.now() : undefined;
  const next = await deps.handoverPlacements?.next(deviceId);
  return { reason: 'handover', lastPointAt: hb.lastPointAt, points: hb.points, ...(next ? { next } : {}), ...(streamedUntil ? { streamedUntil } : {}) };
}

/**
 * Ended by the direct stop: a cancellation when Temporal's reached us meanwhile, else a benign
 * failure the workflow reads as its own request (it is interrupted), with the progress details.
 */
function stoppedFailure(host: SessionAttemptHost, hb: SessionHeartbeat): Error {
  return host.cancellation.aborted
    ? new CancelledFailure('session cancelled')
    : ApplicationFailure.create({
        type: 'SESSION_STOPPED',
        message: 'SESSION_STOPPED: ended by the workflow (pause, reconfigure or stop; direct stop, ADR 160)',
        nonRetryable: true,
        details: [readable(hb)],
        // Logged at debug level and not counted as a failure by the SDK's metrics.
        category: 'BENIGN',
      });
}

/** Tell the session's workflow something (streaming, negotiated); a failure is logged, never thrown. */
function signalSessionEvent(client: Client | undefined, workflowId: string | undefined, log: Logger, payload: SessionEventPayload): void {
  if (!workflowId) return;
  client?.workflow
    .getHandle(workflowId)
    .signal(sessionEventSignal, payload)
    .catch((err) => log.warn('could not signal workflow', { error: (err as Error).message }));
}

/** Heartbeat details with their times also as ISO text (Temporal Web shows them as they are). */
function readable(hb: SessionHeartbeat): SessionHeartbeat {
  const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
  return { ...hb, connected: iso(hb.connectedAt), lastPoint: iso(hb.lastPointAt) };
}

/** Why a session is being ended (`stopped`: by the workflow's direct stop, ADR 160). */
type Ending = 'cancelled' | 'lease' | 'stalled' | 'leaving' | 'moved' | 'gone' | 'stopped' | 'paused';

/** How long a direct stop for an attempt not (yet) running here is kept: it ends that attempt if it starts meanwhile. */
const EARLY_STOP_KEPT_MS = 5 * 60_000;
const EARLY_STOPS_MAX = 10_000;

/** One attempt of one workflow run: a direct stop names exactly this, never a newer attempt. */
function localStopKey(deviceId: number, runId: string | undefined, attempt: number): string {
  return `${deviceId}/${runId ?? ''}/${attempt}`;
}

/** Build the session runner: its attempts, and the direct stop that ends one of them here (ADR 160). */
export function createSessionRunner(deps: SessionDeps): SessionRunner {
  /** Attempts running in this process, by localStopKey: ends that attempt. */
  const localStops = new Map<string, () => void>();
  /** Direct stops that came before their attempt started here, with when they came. */
  const earlyStops = new Map<string, number>();
  const loadDevice = deps.loadDevice ?? batchedDeviceLoader(deps.db, deps.keyring);
  deps.metrics.describe('session_direct_stops_total', 'Direct stops of a session (ADR 160), by whether the attempt ran here');
  return {
    async endLocal(input: EndLocalSessionInput): Promise<'ended' | 'not-running'> {
      const key = localStopKey(input.deviceId, input.runId, input.attempt);
      const stop = localStops.get(key);
      let result: 'ended' | 'not-running' = 'ended';
      if (stop) stop();
      else {
        result = 'not-running';
        const now = Date.now();
        for (const [k, at] of earlyStops) if (now - at > EARLY_STOP_KEPT_MS || earlyStops.size >= EARLY_STOPS_MAX) earlyStops.delete(k);
        earlyStops.set(key, now);
      }
      deps.metrics.inc('session_direct_stops_total', 1, { result });
      createLogger('session', { deviceId: input.deviceId, attempt: input.attempt }).info('direct stop', { reason: input.reason, result });
      return result;
    },
    async run(input: RunSessionInput, host: SessionAttemptHost): Promise<RunSessionResult> {
      // Claimed before the device loads, so a warm start for it (ADR 235) cannot begin meanwhile.
      const warm = deps.warm?.claim(input.deviceId);
      try {
        return await runAttempt(input, host, warm);
      } finally {
        deps.warm?.release(input.deviceId);
      }
    },
  };

  /** One attempt, taking over the device's warm stream when one runs here with the same configuration (ADR 235). */
  async function runAttempt(input: RunSessionInput, host: SessionAttemptHost, warm: WarmStreamHandle | undefined): Promise<RunSessionResult> {
    const key = `${input.deviceId}/${input.attempt}`;
    const log = createLogger('session', { deviceId: input.deviceId, attempt: input.attempt });
    const hb: SessionHeartbeat = { attempt: input.attempt, points: 0 };
    // A planned restart is a clean hand-over, not a failed activity (issue 21): the workflow fails
    // over at once and records the gap as it does for COLLECTOR_LEAVING.
    // Module functions and bound ones here, not closures bound to names: under tsx each of those costs ~255 bytes per session (issue 16).
    if (deps.leaving?.aborted) return handoverResult(deps, input.deviceId, hb);
    host.heartbeat(readable(hb));
    const loaded = await loadDevice(input.deviceId);
    if (!loaded) return { reason: 'deleted', points: 0 };
    if (!loaded.enabled) return { reason: 'disabled', points: 0 };
    if (loaded.profiles.length === 0) {
      throw ApplicationFailure.create({
        type: 'CONFIG_INVALID',
        message: `CONFIG_INVALID: device ${loaded.config.name} has no ${loaded.config.protocol} subscription profile`,
        nonRetryable: true,
      });
    }
    const adopted = deps.warm?.adopt(warm, loaded);
    const protocol = await deps.getProtocol(loaded.config.protocol);
    const abort = new AbortController();
    let ending: Ending | undefined;
    let lastActivity = Date.now();
    let streaming = false;
    let gapFrom = input.gapFrom;
    deps.liveSessions?.set(key, 'connecting');

    const end = (why: NonNullable<typeof ending>) => {
      if (!ending) ending = why;
      abort.abort(why);
    };
    // The worker cancels with WORKER_SHUTDOWN when it shuts down, NOT_FOUND / TIMED_OUT when the
    // server no longer knows this attempt (a stale one), CANCELLED when the workflow asked.
    const onCancel = () => {
      const why = (host.cancellation.reason as Error | undefined)?.message;
      end(why === 'WORKER_SHUTDOWN' ? 'leaving' : why === 'NOT_FOUND' || why === 'TIMED_OUT' ? 'gone' : 'cancelled');
    };
    const onLeaving = end.bind(undefined, 'leaving');
    const moveOff = end.bind(undefined, 'moved');
    deps.handovers?.set(input.deviceId, moveOff);
    // A bulk pause carried out here (ADR 250): the attempt ends with a `paused` result, the workflow pauses on it.
    let pausedBy: BulkPauseEnding | undefined;
    const pauseHere = (pause: BulkPauseEnding): boolean => {
      if (ending) return false;
      pausedBy = pause;
      end('paused');
      return true;
    };
    deps.pauses?.set(input.deviceId, pauseHere);
    const stopKey = localStopKey(input.deviceId, host.runId, input.attempt);
    const stopHere = end.bind(undefined, 'stopped');
    localStops.set(stopKey, stopHere);
    if (earlyStops.delete(stopKey)) stopHere();
    if (host.cancellation.aborted) onCancel();
    host.cancellation.addEventListener('abort', onCancel);
    deps.leaving?.addEventListener('abort', onLeaving);
    const leaseTimer = setTimeout(() => end('lease'), input.leaseMs ?? deps.defaultLeaseMs ?? 4 * 3600_000);
    const idleTimeoutMs = deps.idleTimeoutMs ?? 60_000;
    const heartbeatEveryMs = deps.heartbeatEveryMs ?? 1000;
    let lastTick = Date.now();
    // Placed sessions hand their progress to the SDK every half throttle interval, not every tick (ADR 294).
    const recordEveryMs = host.heartbeatRecordEveryMs ?? 0;
    let lastRecorded = lastTick;
    const beat = setInterval(() => {
      const now = Date.now();
      deps.heartbeatLag?.observe(Math.max(0, now - lastTick - heartbeatEveryMs));
      lastTick = now;
      if (now - lastRecorded >= recordEveryMs) {
        lastRecorded = now;
        host.heartbeat(readable(hb));
      }
      if (now - lastActivity > idleTimeoutMs) end('stalled');
    }, heartbeatEveryMs);

    const markStreaming = (firstPointAt: number) => {
      streaming = true;
      deps.onStreaming?.(input.deviceId);
      deps.liveSessions?.set(key, 'streaming');
      deps.metrics.inc('sessions_streaming_transitions_total');
      // Make before break (ADR 236): the previous attempt streamed until after this stream's first point,
      // so the device's data has no gap (its points still being flushed there must not read as one).
      const overlapped = adopted !== undefined && gapFrom !== undefined && gapFrom >= firstPointAt;
      if (overlapped) {
        gapFrom = undefined;
        log.info('hand-over overlapped the previous attempt: no gap');
      } else if (gapFrom !== undefined || input.gapReason !== undefined) {
        // The previous attempt broke. The gap starts at the newest point actually stored
        // (the heartbeat's lastPointAt may be stale or include points never flushed).
        const hinted = gapFrom;
        gapFrom = undefined;
        const lastStored = deps.lastStoredAt ?? ((id: number, before: number) => lastStoredPointAt(deps.db, id, before));
        void lastStored(input.deviceId, firstPointAt)
          .catch(() => undefined)
          .then((stored) => {
            const from = stored ?? hinted;
            if (from === undefined || firstPointAt <= from) return;
            return (deps.saveGap ?? ((gap: Gap) => recordGap(deps.db, gap)))({
              deviceId: input.deviceId,
              from,
              to: firstPointAt,
              reason: input.gapReason ?? 'session broken',
            });
          })
          .catch((err) => log.warn('could not record gap', { error: (err as Error).message }));
      }
      signalSessionEvent(deps.client, host.workflowId, log, {
        type: 'streaming',
        attempt: input.attempt,
        at: Date.now(),
        detail: hb.connectedAt ? undefined : 'first points',
        encoding: hb.encoding,
        capabilities: hb.capabilities,
      });
    };

    // The counter's label key, made once: a push comes with every notification.
    const receivedKey = metricsKey({ protocol: loaded.config.protocol });
    const sink: PointSink = {
      push(points: TelemetryPoint[]) {
        if (points.length === 0) return;
        lastActivity = Date.now();
        hb.points += points.length;
        let last = hb.lastPointAt ?? 0;
        for (const p of points) if (p.timestamp > last) last = p.timestamp;
        hb.lastPointAt = last;
        if (!streaming) {
          releaseDial();
          markStreaming(points[0].timestamp);
        }
        deps.metrics.incKey('session_points_received_total', receivedKey, points.length);
        return deps.sink.push(points);
      },
    };
    const onEvent = (event: SessionEvent) => {
      lastActivity = Date.now();
      if (event.type === 'connected') {
        releaseDial();
        hb.connectedAt = Date.now();
        log.info('connected', event.detail ? { detail: event.detail } : undefined);
      } else if (event.type === 'dropped') {
        deps.metrics.inc('session_points_dropped_total', event.count, { reason: event.reason });
      } else if (event.type === 'warning') {
        log.warn(event.message);
      } else if (event.type === 'negotiated') {
        recordNegotiated(event);
      }
    };
    // Encoding and Capabilities outcome: heartbeat details now, the workflow's status with the
    // streaming signal, or in a signal of their own when they change after it (ADR 014).
    const encodings = new Set<string>();
    const recordNegotiated = (event: Extract<SessionEvent, { type: 'negotiated' }>) => {
      encodings.add(event.encoding);
      const encoding = [...encodings].join(', ');
      if (encoding === hb.encoding && event.capabilities === hb.capabilities) return;
      hb.encoding = encoding;
      hb.capabilities = event.capabilities;
      log.info('negotiated', { encoding, capabilities: event.capabilities });
      if (streaming) signalSessionEvent(deps.client, host.workflowId, log, { type: 'negotiated', attempt: input.attempt, at: Date.now(), encoding, capabilities: hb.capabilities });
    };

    let releaseDial = () => {};
    try {
      if (adopted) {
        // Already streaming since the hand-over: its points went to the batcher; from now on they come here.
        log.info('adopted the warm stream', { pointsBefore: adopted.points, warmForMs: Date.now() - adopted.startedAt });
        adopted.attach({ sink, onEvent });
        hb.points = adopted.points;
        if (adopted.firstPointAt !== undefined && !streaming) {
          hb.lastPointAt = adopted.lastPointAt;
          markStreaming(adopted.firstPointAt);
        }
        const stopAdopted = () => adopted.stop(abort.signal.reason);
        if (abort.signal.aborted) stopAdopted();
        else abort.signal.addEventListener('abort', stopAdopted, { once: true });
        await adopted.done;
      } else {
        if (deps.dials) releaseDial = await deps.dials.acquire(abort.signal);
        await protocol.run({
          device: loaded.config,
          profiles: loaded.profiles,
          sink,
          signal: abort.signal,
          onEvent,
          count(name, by, labels) {
            deps.metrics.inc(name, by ?? 1, labels);
          },
          log,
          async saveHostKey(sha256) {
            await pinHostKey(deps.db, input.deviceId, sha256);
          },
          // An attempt's own dial always asks Capabilities; the answer is kept for the next hand-over (ADR 298).
          gnmiCapabilities: capabilitiesHooks(loaded.config, undefined, deps.onCapabilities),
        });
      }
      if (ending === 'leaving' || ending === 'moved') {
        deps.metrics.inc('session_failovers_total', 1, { reason: ending === 'moved' ? 'moved' : 'collector_leaving' });
        return handoverResult(deps, input.deviceId, hb, streaming);
      }
      if (ending === 'paused') return { reason: 'paused', lastPointAt: hb.lastPointAt, points: hb.points, pause: pausedBy };
      if (ending === 'cancelled' || ending === 'gone') throw new CancelledFailure(`session ${ending}`);
      if (ending === 'stopped') throw stoppedFailure(host, hb);
      if (ending === 'stalled') throw new SessionError('STALLED', `no data for ${idleTimeoutMs} ms`);
      return { reason: ending === 'lease' ? 'lease' : 'completed', lastPointAt: hb.lastPointAt, points: hb.points };
    } catch (err) {
      if (ending === 'leaving' || ending === 'moved') {
        deps.metrics.inc('session_failovers_total', 1, { reason: ending === 'moved' ? 'moved' : 'collector_leaving' });
        return handoverResult(deps, input.deviceId, hb, streaming);
      }
      if (ending === 'paused') return { reason: 'paused', lastPointAt: hb.lastPointAt, points: hb.points, pause: pausedBy };
      if (ending === 'stopped') throw stoppedFailure(host, hb);
      if (ending === 'cancelled' || ending === 'gone' || err instanceof CancelledFailure) {
        host.heartbeat(readable(hb));
        throw err instanceof CancelledFailure ? err : new CancelledFailure('session cancelled');
      }
      const se = ending === 'stalled' && !(err instanceof SessionError) ? new SessionError('STALLED', `no data for ${idleTimeoutMs} ms`) : toSessionError(err);
      deps.metrics.inc('session_failures_total', 1, { code: se.code });
      log.warn('session ended with an error', { code: se.code, error: se.message });
      throw ApplicationFailure.create({ type: se.code, message: se.message, nonRetryable: !se.retryable, details: [readable(hb)] });
    } finally {
      releaseDial();
      clearInterval(beat);
      clearTimeout(leaseTimer);
      host.cancellation.removeEventListener('abort', onCancel);
      deps.leaving?.removeEventListener('abort', onLeaving);
      deps.liveSessions?.delete(key);
      if (deps.handovers?.get(input.deviceId) === moveOff) deps.handovers.delete(input.deviceId);
      if (deps.pauses?.get(input.deviceId) === pauseHere) deps.pauses.delete(input.deviceId);
      if (localStops.get(stopKey) === stopHere) localStops.delete(stopKey);
    }
  }
}
