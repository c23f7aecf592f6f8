/**
 * Warm hand-over (ADR 235): when placement moves a running session onto this collector
 * because its collector was lost (kill -9) or is leaving (SIGTERM), the collector hears it
 * from PostgreSQL (NOTIFY, storage/collectors.ts) and dials the device at once, before the
 * session's workflow has started its next attempt here. Points flow into the batcher from
 * the first message; when the attempt's activity arrives it adopts the running stream
 * instead of dialling again. So the gap in a device's data is the lease, the placement and
 * one dial, not the time Temporal needs to run one workflow task per moved session.
 *
 * The workflow stays the authority: a stream nobody adopts within `adoptWithinMs` ends; one
 * whose device was paused, disabled or deleted meanwhile (as the session-state mirror and
 * the devices table say, checked every sweep) ends; an attempt that loads a different
 * device configuration than the stream was started with ends it and dials its own.
 */
import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { createLogger } from '../core/log';
import type { MetricsRegistry } from '../core/metrics';
import type { GnmiCapabilitiesAnswer, Logger, PointSink, ProtocolSession, SessionContext, SessionEvent } from '../core/session';
import type { TelemetryPoint } from '../core/point';
import type { DialLimiter } from '../protocols/dial-limiter';
import { devicesNotToCollect, type SessionDevice } from '../storage/devices';
import type { StreamTarget, WarmStreamHandle, WarmStreams } from '../activities/types';

/** A device as the session activity loads it. */
export type LoadedDevice = SessionDevice;

/** Why a warm stream ended without being adopted. */
export type WarmEnd = 'expired' | 'unwanted' | 'config-changed' | 'failed' | 'leaving' | 'taken-elsewhere';

/** The configuration a stream runs with, as one comparable value (secrets only hashed, never kept). */
export function deviceFingerprint(loaded: LoadedDevice): string {
  return createHash('sha256')
    .update(JSON.stringify([loaded.config, loaded.profiles]))
    .digest('hex');
}

/**
 * One device's protocol session started before its activity. Until `attach`, points go to the
 * collector's sink and events are remembered (connected, the negotiated encoding); after it,
 * both go to the adopting attempt, which also ends the stream through `stop`.
 */
export class WarmStream implements WarmStreamHandle {
  private readonly abort = new AbortController();
  private target?: StreamTarget;
  readonly startedAt = Date.now();
  firstPointAt?: number;
  lastPointAt?: number;
  connectedAt?: number;
  negotiated?: Extract<SessionEvent, { type: 'negotiated' }>;
  /** Points received before adoption. */
  points = 0;
  /** The protocol run: resolves when the stream ended as asked, rejects when the device broke it. */
  done!: Promise<void>;
  settled = false;

  constructor(
    readonly deviceId: number,
    readonly fingerprint: string,
    private readonly fallback: PointSink,
    private readonly onPoints: (count: number) => void,
    private readonly onFirstPoint: () => void = () => {},
  ) {}

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  /** End the stream (its protocol run resolves). */
  stop(reason?: unknown): void {
    this.abort.abort(reason);
  }

  /** Hand points and events to the adopting attempt from now on. */
  attach(target: StreamTarget): void {
    this.target = target;
    if (this.connectedAt !== undefined)
      target.onEvent({
        type: 'connected',
        detail: 'adopted from a warm hand-over',
      });
    if (this.negotiated) target.onEvent(this.negotiated);
  }

  get adopted(): boolean {
    return this.target !== undefined;
  }

  /** The sink the protocol writes to. */
  readonly sink: PointSink = {
    push: (points: TelemetryPoint[]) => {
      if (this.target) return this.target.sink.push(points);
      if (points.length === 0) return;
      this.points += points.length;
      if (this.firstPointAt === undefined) {
        this.firstPointAt = points[0].timestamp;
        this.onFirstPoint();
      }
      let last = this.lastPointAt ?? 0;
      for (const p of points) if (p.timestamp > last) last = p.timestamp;
      this.lastPointAt = last;
      this.onPoints(points.length);
      return this.fallback.push(points);
    },
  };

  /** The protocol's event callback. */
  onEvent(event: SessionEvent): void {
    if (this.target) return this.target.onEvent(event);
    if (event.type === 'connected') this.connectedAt = Date.now();
    else if (event.type === 'negotiated') this.negotiated = event;
  }
}

/** A session's Capabilities hooks (ADR 298): the earlier answer to subscribe with, if any, and where new answers go. */
export function capabilitiesHooks(
  config: LoadedDevice['config'],
  known: GnmiCapabilitiesAnswer | undefined,
  record: WarmDeps['onCapabilities'],
): SessionContext['gnmiCapabilities'] {
  return { known, onAnswered: record && ((answer) => record(config, answer)) };
}

/** What the warm sessions of one collector need. */
export interface WarmDeps {
  db: Knex;
  /** The devices of a hand-over in a few statements (thousands at once); missing ones are gone, `failed` could not be read. */
  loadDevices(deviceIds: number[]): Promise<{ devices: Map<number, LoadedDevice>; failed: Map<number, Error> }>;
  getProtocol(name: 'gnmi' | 'netconf'): Promise<ProtocolSession>;
  /** The collector's batcher. */
  sink: PointSink;
  metrics: MetricsRegistry;
  dials?: DialLimiter;
  /** How long a stream waits for its attempt before it ends (COLLECTOR_WARM_ADOPT_MS). */
  adoptWithinMs: number;
  /** Store a newly approved host key (NETCONF first use), as the activity does. */
  saveHostKey?(deviceId: number, sha256: string): Promise<void>;
  /** A warm stream's first point: this collector streams the device now (its old collector may end its stream, ADR 236). */
  onUp?(deviceId: number): void;
  /** A gNMI device answered Capabilities (ADR 298): recorded for the next hand-over. */
  onCapabilities?(config: LoadedDevice['config'], answer: GnmiCapabilitiesAnswer): void;
  /** Devices among these that should not be collected now (paused, disabled, deleted); default: the database. */
  unwanted?(deviceIds: number[]): Promise<Set<number>>;
  log?: Logger;
}

/**
 * The collector's warm streams, by device. `start` begins them (placement told this collector it
 * now holds sessions that were running elsewhere); the session activity calls `claim` when an
 * attempt begins here, taking the device's stream if one runs, and `release` when it ends.
 */
export class WarmSessions implements WarmStreams {
  private readonly streams = new Map<number, WarmStream>();
  /** Attempts running here, by device (a warm start for such a device is skipped). */
  private readonly claimed = new Map<number, number>();
  /** Devices being loaded for a warm start (an attempt claiming one cancels it). */
  private readonly starting = new Set<number>();
  private closed = false;
  private readonly log: Logger;
  private sweeping?: NodeJS.Timeout;

  constructor(private readonly deps: WarmDeps) {
    this.log = deps.log ?? createLogger('warm-sessions');
    deps.metrics.describe('session_warm_starts_total', 'Sessions dialled at once on a hand-over, before their attempt started here (ADR 235)');
    deps.metrics.describe('session_warm_adopted_total', "Warm streams taken over by their session's attempt (ADR 235)");
    deps.metrics.describe('session_warm_ended_total', 'Warm streams ended without being adopted, by reason (ADR 235)');
    deps.metrics.describe('session_warm', 'Warm streams waiting for their attempt now (ADR 235)');
    deps.metrics.describe(
      'session_warm_skipped_total',
      'Hand-overs heard but not dialled, by reason: the attempt already runs here, the device is not to be collected, it could not be loaded, the collector is leaving (ADR 235)',
    );
    deps.metrics.describe('session_warm_points_total', 'Points received by warm streams before their attempt adopted them (ADR 235)');
    for (const name of ['session_warm_starts_total', 'session_warm_adopted_total', 'session_warm_points_total']) deps.metrics.inc(name, 0);
    deps.metrics.gauge('session_warm', () => this.waiting);
  }

  /** Streams waiting for their attempt. */
  get waiting(): number {
    let n = 0;
    for (const s of this.streams.values()) if (!s.adopted) n++;
    return n;
  }

  /** Check now and then for streams nobody adopted in time, or whose device is no longer wanted. */
  startSweeping(everyMs = 2000): void {
    const loop = () => {
      void this.sweep()
        .catch((err) =>
          this.log.warn('warm session sweep failed', {
            error: (err as Error).message,
          }),
        )
        .finally(() => {
          if (!this.closed) (this.sweeping = setTimeout(loop, everyMs)).unref();
        });
    };
    (this.sweeping = setTimeout(loop, everyMs)).unref();
  }

  /** Dial these devices now (loaded together), each unless its attempt already runs here or a stream does. */
  async start(deviceIds: readonly number[]): Promise<void> {
    const fresh: number[] = [];
    for (const id of new Set(deviceIds)) {
      if (this.closed) this.skipped('leaving');
      else if (this.claimed.has(id) || this.streams.has(id) || this.starting.has(id)) this.skipped('attempt-here');
      else {
        this.starting.add(id);
        fresh.push(id);
      }
    }
    if (fresh.length === 0) return;
    const loaded = await this.loadAll(fresh);
    await Promise.all(fresh.map((id) => this.begin(id, loaded.get(id))));
  }

  /** Each device loaded, undefined when gone, or the error that kept it from loading. */
  private async loadAll(ids: number[]): Promise<Map<number, LoadedDevice | Error | undefined>> {
    const out = new Map<number, LoadedDevice | Error | undefined>();
    try {
      const { devices, failed } = await this.deps.loadDevices(ids);
      for (const id of ids) out.set(id, devices.get(id) ?? failed.get(id));
    } catch (err) {
      for (const id of ids) out.set(id, err as Error);
    }
    return out;
  }

  private skipped(reason: 'attempt-here' | 'not-collected' | 'load-failed' | 'leaving'): void {
    this.deps.metrics.inc('session_warm_skipped_total', 1, { reason });
  }

  private async begin(deviceId: number, loaded: LoadedDevice | Error | undefined): Promise<void> {
    // Claimed by an attempt while loading: that attempt dials itself.
    const cancelled = !this.starting.delete(deviceId);
    if (loaded instanceof Error) {
      this.log.warn('warm start: could not load the device', { deviceId, error: loaded.message });
      return this.skipped('load-failed');
    }
    if (!loaded || !loaded.enabled || loaded.profiles.length === 0) return this.skipped('not-collected');
    let protocol: ProtocolSession;
    try {
      protocol = await this.deps.getProtocol(loaded.config.protocol);
    } catch (err) {
      this.log.warn('warm start: no protocol for the device', { deviceId, error: (err as Error).message });
      return this.skipped('load-failed');
    }
    if (this.closed) return this.skipped('leaving');
    if (cancelled || this.claimed.has(deviceId) || this.streams.has(deviceId)) return this.skipped('attempt-here');
    const protocolName = loaded.config.protocol;
    const stream = new WarmStream(
      deviceId,
      deviceFingerprint(loaded),
      this.deps.sink,
      (n) => {
        this.deps.metrics.inc('session_warm_points_total', n);
        this.deps.metrics.inc('session_points_received_total', n, { protocol: protocolName });
      },
      () => this.deps.onUp?.(deviceId),
    );
    this.streams.set(deviceId, stream);
    this.deps.metrics.inc('session_warm_starts_total');
    stream.done = this.run(stream, protocol, loaded);
    // The adopting attempt awaits `done` itself; until then a failure only ends the stream.
    stream.done.catch(() => undefined);
  }

  private async run(stream: WarmStream, protocol: ProtocolSession, loaded: LoadedDevice): Promise<void> {
    const log = createLogger('session', {
      deviceId: stream.deviceId,
      warm: true,
    });
    let releaseDial = () => {};
    const onEvent = (event: SessionEvent) => {
      if (event.type === 'connected') releaseDial();
      else if (event.type === 'dropped')
        this.deps.metrics.inc('session_points_dropped_total', event.count, {
          reason: event.reason,
        });
      else if (event.type === 'warning' && !stream.adopted) log.warn(event.message);
      stream.onEvent(event);
    };
    const sink: PointSink = {
      push(points) {
        if (points.length) releaseDial();
        return stream.sink.push(points);
      },
    };
    try {
      if (this.deps.dials) releaseDial = await this.deps.dials.acquire(stream.signal);
      await protocol.run({
        device: loaded.config,
        profiles: loaded.profiles,
        sink,
        signal: stream.signal,
        onEvent,
        count: (name, by, labels) => this.deps.metrics.inc(name, by ?? 1, labels),
        log,
        saveHostKey: this.deps.saveHostKey ? (sha256) => this.deps.saveHostKey!(stream.deviceId, sha256) : undefined,
        gnmiCapabilities: capabilitiesHooks(loaded.config, loaded.knownCapabilities, this.deps.onCapabilities),
      });
      if (!stream.adopted && !stream.signal.aborted) this.ended(stream, 'failed', 'the device ended the stream');
    } catch (err) {
      if (!stream.adopted) this.ended(stream, stream.signal.aborted ? undefined : 'failed', (err as Error).message);
      throw err;
    } finally {
      releaseDial();
      stream.settled = true;
      if (this.streams.get(stream.deviceId) === stream) this.streams.delete(stream.deviceId);
    }
  }

  private ended(stream: WarmStream, why: WarmEnd | undefined, detail?: string): void {
    if (why) {
      this.deps.metrics.inc('session_warm_ended_total', 1, { reason: why });
      this.log.info('warm stream ended without its attempt', {
        deviceId: stream.deviceId,
        reason: why,
        points: stream.points,
        ...(detail ? { detail } : {}),
      });
    }
  }

  private endStream(stream: WarmStream, why: WarmEnd): void {
    if (this.streams.get(stream.deviceId) === stream) this.streams.delete(stream.deviceId);
    this.ended(stream, why);
    stream.stop(why);
  }

  /**
   * An attempt for this device begins here: returns its warm stream, if one runs (the attempt
   * checks the configuration with `adopt` once it has loaded the device), and keeps any later
   * warm start for the device away until `release`.
   */
  claim(deviceId: number): WarmStream | undefined {
    this.claimed.set(deviceId, (this.claimed.get(deviceId) ?? 0) + 1);
    this.starting.delete(deviceId);
    const stream = this.streams.get(deviceId);
    return stream && !stream.settled && !stream.adopted ? stream : undefined;
  }

  /**
   * Take over the claimed stream if it runs with the configuration the attempt loaded; otherwise
   * end it (the attempt dials its own). Returns the stream to use, or undefined.
   */
  adopt(stream: WarmStream | undefined, loaded: LoadedDevice): WarmStream | undefined {
    if (!stream || stream.settled) return undefined;
    if (stream.fingerprint !== deviceFingerprint(loaded)) {
      this.endStream(stream, 'config-changed');
      return undefined;
    }
    this.deps.metrics.inc('session_warm_adopted_total');
    return stream;
  }

  /** The attempt for this device ended here; a stream it claimed but did not adopt ends too. */
  release(deviceId: number): void {
    const n = (this.claimed.get(deviceId) ?? 1) - 1;
    if (n > 0) this.claimed.set(deviceId, n);
    else this.claimed.delete(deviceId);
    const stream = this.streams.get(deviceId);
    if (stream && !stream.adopted) this.endStream(stream, 'unwanted');
  }

  /** End streams not adopted within `adoptWithinMs`, and those whose device is no longer wanted. */
  async sweep(now = Date.now()): Promise<void> {
    const waiting = [...this.streams.values()].filter((s) => !s.adopted && !s.settled);
    for (const s of waiting) if (now - s.startedAt > this.deps.adoptWithinMs) this.endStream(s, 'expired');
    const left = waiting.filter((s) => this.streams.get(s.deviceId) === s);
    if (left.length === 0) return;
    const unwanted = await (this.deps.unwanted ?? ((ids: number[]) => devicesNotToCollect(this.deps.db, ids)))(left.map((s) => s.deviceId));
    for (const s of left) if (unwanted.has(s.deviceId) && !s.adopted && this.streams.get(s.deviceId) === s) this.endStream(s, 'unwanted');
  }

  /** Another collector streams these devices now (an attempt started there, ADR 236): their streams here, not adopted, end. */
  takenElsewhere(deviceIds: Iterable<number>): void {
    for (const id of deviceIds) {
      const s = this.streams.get(id);
      if (s && !s.adopted && !s.settled) this.endStream(s, 'taken-elsewhere');
    }
  }

  /** The collector is leaving: end every stream not adopted, start no more. */
  close(): void {
    this.closed = true;
    clearTimeout(this.sweeping);
    for (const s of [...this.streams.values()]) if (!s.adopted) this.endStream(s, 'leaving');
  }
}
