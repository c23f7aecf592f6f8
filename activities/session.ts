/**
 * The session activity (task queue `device-sessions`): holds one device's gNMI
 * stream or NETCONF session, forwards points to the process's batcher, and
 * heartbeats small details. Cancellation (pause, reconfigure), the lease, or an
 * idle timeout end it; failures become typed ApplicationFailures (non-retryable
 * where retrying cannot help). Telemetry and secrets never enter Temporal.
 */
import { Context, CancelledFailure } from '@temporalio/activity';
import { ApplicationFailure, type Client } from '@temporalio/client';
import type { Knex } from 'knex';
import { createLogger } from '../core/log';
import type { MetricsRegistry } from '../core/metrics';
import {
  sessionEventSignal,
  type RunSessionInput,
  type RunSessionResult,
  type SessionHeartbeat,
} from '../core/names';
import type { TelemetryPoint } from '../core/point';
import { SessionError, toSessionError, type PointSink, type ProtocolSession, type SessionEvent } from '../core/session';
import { loadDeviceConfig } from './db/devices';
import { recordGap } from './db/gaps';
import type { Keyring } from './db/secrets';
import type { SessionActivities } from './types';

/** What the session activity needs, wired by the collector worker (tests pass their own). */
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
}

/** Build the session activities. */
export function createSessionActivities(deps: SessionDeps): SessionActivities {
  return {
    async runDeviceSession(input: RunSessionInput): Promise<RunSessionResult> {
      const ctx = Context.current();
      const key = `${input.deviceId}/${input.attempt}`;
      const log = createLogger('session', { deviceId: input.deviceId, attempt: input.attempt });
      const loaded = await loadDeviceConfig(deps.db, deps.keyring, input.deviceId);
      if (!loaded) return { reason: 'deleted', points: 0 };
      if (!loaded.enabled) return { reason: 'disabled', points: 0 };
      if (loaded.profiles.length === 0) {
        throw ApplicationFailure.create({
          type: 'CONFIG_INVALID',
          message: `CONFIG_INVALID: device ${loaded.config.name} has no ${loaded.config.protocol} subscription profile`,
          nonRetryable: true,
        });
      }
      const protocol = await deps.getProtocol(loaded.config.protocol);
      const hb: SessionHeartbeat = { attempt: input.attempt, points: 0 };
      const abort = new AbortController();
      let ending: 'cancelled' | 'lease' | 'stalled' | undefined;
      let lastActivity = Date.now();
      let streaming = false;
      let gapFrom = input.gapFrom;
      deps.liveSessions?.set(key, 'connecting');

      const end = (why: NonNullable<typeof ending>) => {
        if (!ending) ending = why;
        abort.abort(why);
      };
      const onCancel = () => end('cancelled');
      ctx.cancellationSignal.addEventListener('abort', onCancel);
      const leaseTimer = setTimeout(() => end('lease'), input.leaseMs ?? deps.defaultLeaseMs ?? 4 * 3600_000);
      const idleTimeoutMs = deps.idleTimeoutMs ?? 60_000;
      const beat = setInterval(() => {
        ctx.heartbeat(hb);
        if (Date.now() - lastActivity > idleTimeoutMs) end('stalled');
      }, deps.heartbeatEveryMs ?? 1000);

      const markStreaming = (firstPointAt: number) => {
        streaming = true;
        deps.liveSessions?.set(key, 'streaming');
        deps.metrics.inc('sessions_streaming_transitions_total');
        if (gapFrom !== undefined && firstPointAt > gapFrom) {
          const from = gapFrom;
          gapFrom = undefined;
          recordGap(deps.db, { deviceId: input.deviceId, from, to: firstPointAt, reason: input.gapReason ?? 'session broken' }).catch((err) =>
            log.warn('could not record gap', { error: (err as Error).message }),
          );
        }
        deps.client?.workflow
          .getHandle(ctx.info.workflowExecution.workflowId)
          .signal(sessionEventSignal, { type: 'streaming', attempt: input.attempt, at: Date.now(), detail: hb.connectedAt ? undefined : 'first points' })
          .catch((err) => log.warn('could not signal workflow', { error: (err as Error).message }));
      };

      const sink: PointSink = {
        push(points: TelemetryPoint[]) {
          if (points.length === 0) return;
          lastActivity = Date.now();
          hb.points += points.length;
          let last = hb.lastPointAt ?? 0;
          for (const p of points) if (p.timestamp > last) last = p.timestamp;
          hb.lastPointAt = last;
          if (!streaming) markStreaming(points[0].timestamp);
          deps.metrics.inc('session_points_received_total', points.length, { protocol: loaded.config.protocol });
          return deps.sink.push(points);
        },
      };
      const onEvent = (event: SessionEvent) => {
        lastActivity = Date.now();
        if (event.type === 'connected') {
          hb.connectedAt = Date.now();
          log.info('connected', event.detail ? { detail: event.detail } : undefined);
        } else if (event.type === 'dropped') {
          deps.metrics.inc('session_points_dropped_total', event.count, { reason: event.reason });
        } else if (event.type === 'warning') {
          log.warn(event.message);
        }
      };

      try {
        await protocol.run({
          device: loaded.config,
          profiles: loaded.profiles,
          sink,
          signal: abort.signal,
          onEvent,
          count: (name, by, labels) => deps.metrics.inc(name, by ?? 1, labels),
          log,
          saveHostKey: async (sha256) => {
            await deps.db('devices')
              .where({ id: input.deviceId })
              .update({
                settings: deps.db.raw(
                  `jsonb_set(jsonb_set(settings, '{netconf}', coalesce(settings->'netconf', '{}'::jsonb)), '{netconf,hostKeySha256}', to_jsonb(?::text))`,
                  [sha256],
                ),
                updated_at: deps.db.fn.now(),
              });
          },
        });
        if (ending === 'cancelled') throw new CancelledFailure('session cancelled');
        if (ending === 'stalled') throw new SessionError('STALLED', `no data for ${idleTimeoutMs} ms`);
        return { reason: ending === 'lease' ? 'lease' : 'completed', lastPointAt: hb.lastPointAt, points: hb.points };
      } catch (err) {
        if (ending === 'cancelled' || err instanceof CancelledFailure) {
          ctx.heartbeat(hb);
          throw err instanceof CancelledFailure ? err : new CancelledFailure('session cancelled');
        }
        const se = ending === 'stalled' && !(err instanceof SessionError) ? new SessionError('STALLED', `no data for ${idleTimeoutMs} ms`) : toSessionError(err);
        deps.metrics.inc('session_failures_total', 1, { code: se.code });
        log.warn('session ended with an error', { code: se.code, error: se.message });
        throw ApplicationFailure.create({ type: se.code, message: se.message, nonRetryable: !se.retryable, details: [hb] });
      } finally {
        clearInterval(beat);
        clearTimeout(leaseTimer);
        ctx.cancellationSignal.removeEventListener('abort', onCancel);
        deps.liveSessions?.delete(key);
      }
    },
  };
}
