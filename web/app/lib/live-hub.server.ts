/**
 * The live hub: one LISTEN connection per web process hears the ingest
 * doorbell (NOTIFY samples_ready), reads the new samples of the series that
 * connected clients watch — one query per doorbell, not per client — and fans
 * them out. Each subscriber has a cursor, so a reconnect with Last-Event-ID
 * resumes exactly where it left off.
 *
 * Budgets (issue 14): a new subscriber's backfill (its `since` up to now) is read
 * by a query of its own on the replay pool, at most `maxConcurrentReplays` at a
 * time, while the subscriber stays out of the shared read — so an old `since`
 * never slows the fan-out to everybody else; the shared read never looks back
 * further than `replayWindowMs`; streams are counted per user and in total.
 */
import type pg from 'pg';
import { ALERT_MARKERS_CHANNEL, SAMPLES_CHANNEL } from '../../../core/names';
import { listenReconnecting, type Listener } from '../../../storage/listen';
import { samplesSince, samplesSinceEach, type LiveSampleRow } from '../../../storage/newest-points';

/** A sample delivered to a subscriber: series id, time (ms), value. */
export interface LivePoint {
  s: number;
  t: number;
  v: number;
}

/** When the shared read that delivers some points ran (diagnosis: the live aggregates' trace). Times in ms since the epoch. */
export interface SharedReadTiming {
  /** The first doorbell this read answers was heard. */
  heardAt: number;
  /** The read started (after the previous read, which coalesces doorbells ringing meanwhile) and ended. */
  readAt: number;
  readDoneAt: number;
  /** Rows it returned (for every subscriber: from the oldest cursor). */
  rows: number;
}

/** One connected client. */
export interface Subscriber {
  seriesIds: number[];
  /**
   * Deliver points (ordered by time); return false to be dropped (slow or closed client).
   * `resumeFrom` is the time to resume from after a disconnect without losing a point:
   * the oldest cursor among the series that have delivered (a series whose samples are
   * ingested late holds it back; replays are dropped by the client by time).
   */
  deliver(points: LivePoint[], resumeFrom: number, timing?: SharedReadTiming): boolean;
  /** Points at or before this time (ms) were already delivered. */
  since: number;
}

interface Entry extends Subscriber {
  cursor: Map<number, number>;
  delivered: Set<number>;
  /** Still receiving its backfill: the shared read leaves it alone. */
  replaying: boolean;
}

/** Hub options. */
export interface LiveHubOptions {
  /** Connections of the shared read (a pool of the hub's own, apart from pages and APIs). */
  pool: pg.Pool;
  /** Connections of subscribers' backfills (defaults to `pool`). */
  replayPool?: pg.Pool;
  connectionString: string;
  /** Most rows read per doorbell, and per page of a backfill (protects the web process). */
  maxRows?: number;
  /** Oldest time (ms before now) any read looks back to. */
  replayWindowMs?: number;
  /** Backfills running at once; later ones wait their turn. */
  maxConcurrentReplays?: number;
  /** Streams open at once per user, and in total. */
  maxStreamsPerUser?: number;
  maxStreams?: number;
}

/** Told which devices' alert markers changed (`'*'`: any device's, e.g. after the listener reconnected). */
export type AlertMarkersListener = (devices: string[] | '*') => void;

/** A stream slot: release it when the stream ends. */
export type StreamAdmission = { ok: true; release: () => void } | { ok: false; message: string };

type Row = LiveSampleRow;

/** Fan-out of new samples to SSE clients. */
export class LiveHub {
  private readonly subs = new Set<Entry>();
  private listener: Listener | undefined;
  private pending = new Set<number>();
  private pendingAll = false;
  /** When the first doorbell not yet answered by a shared read was heard. */
  private heardAt: number | undefined;
  private running = false;
  private closed = false;
  private replaysRunning = 0;
  private readonly replayQueue: Array<() => void> = [];
  private readonly streamsByUser = new Map<number, number>();
  private streams = 0;
  private readonly alertListeners = new Set<AlertMarkersListener>();
  /** Doorbells heard (tests, metrics). */
  doorbells = 0;
  /** Shared reads run (tests, metrics). */
  sharedReads = 0;
  /** Shared reads that hit `maxRows` and were read again per series (tests). */
  truncatedReads = 0;

  constructor(private readonly opts: LiveHubOptions) {}

  /** Number of connected subscribers. */
  get size(): number {
    return this.subs.size;
  }

  /** Oldest time any read may start from now. */
  private floor(): number {
    return Date.now() - (this.opts.replayWindowMs ?? 5 * 60_000);
  }

  /**
   * Take a stream slot for a user, or say why not (too many streams of this user,
   * or of the whole process). The caller answers 429 with the message.
   */
  admit(userId: number): StreamAdmission {
    const perUser = this.opts.maxStreamsPerUser ?? Infinity;
    const total = this.opts.maxStreams ?? Infinity;
    const mine = this.streamsByUser.get(userId) ?? 0;
    if (mine >= perUser) return { ok: false, message: `Too many live streams: you already have ${mine} open (at most ${perUser}). Close other dashboards or tabs, or turn live off on some.` };
    if (this.streams >= total) return { ok: false, message: `Too many live streams on this server (${this.streams}, at most ${total}). Try again in a minute.` };
    this.streams++;
    this.streamsByUser.set(userId, mine + 1);
    let released = false;
    return {
      ok: true,
      release: () => {
        if (released) return;
        released = true;
        this.streams--;
        const n = (this.streamsByUser.get(userId) ?? 1) - 1;
        if (n > 0) this.streamsByUser.set(userId, n);
        else this.streamsByUser.delete(userId);
      },
    };
  }

  /**
   * Add a subscriber. It first receives what it missed since `since` (backfill,
   * never older than the replay window) from a read of its own, then joins the
   * shared read. Returns an unsubscribe function.
   */
  async subscribe(sub: Subscriber): Promise<() => void> {
    await this.ensureListening();
    const since = Math.max(sub.since, this.floor());
    const entry: Entry = { ...sub, since, cursor: new Map(sub.seriesIds.map((id) => [id, since])), delivered: new Set(), replaying: true };
    this.subs.add(entry);
    void this.replay(entry).finally(() => {
      entry.replaying = false;
      if (!this.subs.has(entry)) return;
      // Points stored while the backfill ran come with the next shared read.
      for (const id of entry.seriesIds) this.pending.add(id);
      void this.drain();
    });
    return () => this.subs.delete(entry);
  }

  /**
   * Hear the alert-marker doorbell (storage/alerts.ts notifyAlertMarkers) on the hub's LISTEN connection (ADR 226):
   * live-alert-markers.server.ts turns it into markers for the streams. Returns a function that stops listening.
   */
  async onAlertMarkers(listener: AlertMarkersListener): Promise<() => void> {
    this.alertListeners.add(listener);
    await this.ensureListening();
    return () => this.alertListeners.delete(listener);
  }

  private alertMarkersChanged(devices: string[] | '*'): void {
    for (const listener of this.alertListeners) listener(devices);
  }

  /** A subscriber's backfill, page by page, on the replay pool. */
  private async replay(entry: Entry): Promise<void> {
    const limit = this.opts.maxConcurrentReplays ?? 2;
    if (this.replaysRunning >= limit) await new Promise<void>((resolve) => this.replayQueue.push(resolve));
    this.replaysRunning++;
    try {
      const pool = this.opts.replayPool ?? this.opts.pool;
      const pageRows = this.opts.maxRows ?? 50_000;
      let from = Math.max(entry.since, this.floor());
      while (!this.closed && this.subs.has(entry)) {
        const rows = await samplesSince(pool, entry.seriesIds, from - 1, pageRows);
        if (!this.deliverTo(entry, rows)) return;
        if (rows.length < pageRows) return;
        const last = rows[rows.length - 1].t;
        if (last <= from) return; // a page of one instant: the shared read takes the rest
        from = last;
      }
    } catch {
      // The database is unreachable: the shared read catches the subscriber up later.
    } finally {
      this.replaysRunning--;
      this.replayQueue.shift()?.();
    }
  }

  /** Deliver the rows newer than each of the subscriber's cursors; false when it was dropped. */
  private deliverTo(sub: Entry, rows: Row[], timing?: SharedReadTiming): boolean {
    const mine: LivePoint[] = [];
    for (const row of rows) {
      const cursor = sub.cursor.get(Number(row.s));
      if (cursor !== undefined && row.t > cursor) mine.push({ s: Number(row.s), t: row.t, v: row.v });
    }
    if (mine.length === 0) return true;
    for (const p of mine) {
      sub.cursor.set(p.s, Math.max(sub.cursor.get(p.s) ?? 0, p.t));
      sub.delivered.add(p.s);
    }
    let resumeFrom = Infinity;
    for (const id of sub.delivered) resumeFrom = Math.min(resumeFrom, sub.cursor.get(id)!);
    if (sub.deliver(mine, resumeFrom, timing)) return true;
    this.subs.delete(sub);
    return false;
  }

  /**
   * Listen before a subscriber joins (it hears every doorbell after its backfill); fails when the
   * database cannot be reached now. The connection, once started, reconnects by itself, and a shared
   * read follows every reconnection.
   */
  private async ensureListening(): Promise<void> {
    if (this.closed) return;
    this.listener ??= listenReconnecting({
      databaseUrl: this.opts.connectionString,
      channels: [SAMPLES_CHANNEL, ALERT_MARKERS_CHANNEL],
      onNotification: (channel, payload) => {
        if (channel === ALERT_MARKERS_CHANNEL) {
          let devices: string[] | '*' = '*';
          try {
            if (payload && payload !== '*') devices = (JSON.parse(payload) as unknown[]).map(String);
          } catch {
            // not a list: treat as any device
          }
          return this.alertMarkersChanged(devices);
        }
        if (channel !== SAMPLES_CHANNEL) return;
        this.doorbells++;
        this.heardAt ??= Date.now();
        if (!payload || payload === '*') this.pendingAll = true;
        else for (const id of payload.split(',')) this.pending.add(Number(id));
        void this.drain();
      },
      onConnected: (reconnected) => {
        if (!reconnected) return;
        // Catch up on anything missed while disconnected.
        this.pendingAll = true;
        this.alertMarkersChanged('*');
        void this.drain();
      },
    });
    await this.listener.ready();
  }

  /** Read and deliver new samples; coalesces doorbells that ring while a read runs. */
  private async drain(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (!this.closed && (this.pendingAll || this.pending.size > 0)) {
        const wanted = new Map<number, number>(); // series → earliest cursor among subscribers
        for (const sub of this.subs) {
          if (sub.replaying) continue;
          for (const [id, cursor] of sub.cursor) {
            if (!this.pendingAll && !this.pending.has(id)) continue;
            const prev = wanted.get(id);
            if (prev === undefined || cursor < prev) wanted.set(id, cursor);
          }
        }
        this.pending.clear();
        this.pendingAll = false;
        const heardAt = this.heardAt ?? Date.now();
        this.heardAt = undefined;
        if (wanted.size === 0) break;
        const ids = [...wanted.keys()];
        // A quiet series keeps an old cursor; the shared read still never looks back past the window.
        const since = Math.max(Math.min(...wanted.values()), this.floor());
        this.sharedReads++;
        const readAt = Date.now();
        const limit = this.opts.maxRows ?? 50_000;
        let rows = await samplesSince(this.opts.pool, ids, since, limit);
        if (rows.length >= limit) {
          // Truncated: a quiet series' old cursor held the read back, and the same oldest rows would come
          // every time. Read each series from its own cursor instead, and go round again until caught up.
          this.truncatedReads++;
          const floor = this.floor();
          rows = await samplesSinceEach(this.opts.pool, ids, ids.map((id) => Math.max(wanted.get(id)!, floor)), limit);
          if (rows.length >= limit) this.pendingAll = true;
        }
        const timing = { heardAt, readAt, readDoneAt: Date.now(), rows: rows.length };
        for (const sub of [...this.subs]) if (!sub.replaying) this.deliverTo(sub, rows, timing);
      }
    } catch {
      // The database is unreachable: try again on the next doorbell or reconnect.
      this.pendingAll = true;
    } finally {
      this.running = false;
    }
  }

  /** Stop listening and forget every subscriber. */
  async close(): Promise<void> {
    this.closed = true;
    this.subs.clear();
    const l = this.listener;
    this.listener = undefined;
    await l?.close();
  }
}
