/**
 * The live hub: one LISTEN connection per web process hears the ingest
 * doorbell (NOTIFY samples_ready), reads the new samples of the series that
 * connected clients watch — one query per doorbell, not per client — and fans
 * them out. Each subscriber has a cursor, so a reconnect with Last-Event-ID
 * resumes exactly where it left off.
 */
import pg from 'pg';
import { SAMPLES_CHANNEL } from '../../../core/names';

/** A sample delivered to a subscriber: series id, time (ms), value. */
export interface LivePoint {
  s: number;
  t: number;
  v: number;
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
  deliver(points: LivePoint[], resumeFrom: number): boolean;
  /** Points at or before this time (ms) were already delivered. */
  since: number;
}

interface Entry extends Subscriber {
  cursor: Map<number, number>;
  delivered: Set<number>;
}

/** Hub options. */
export interface LiveHubOptions {
  pool: pg.Pool;
  connectionString: string;
  /** Most rows read per doorbell (protects the web process). */
  maxRows?: number;
}

/** Fan-out of new samples to SSE clients. */
export class LiveHub {
  private readonly subs = new Set<Entry>();
  private listener: pg.Client | undefined;
  private connecting: Promise<void> | undefined;
  private pending = new Set<number>();
  private pendingAll = false;
  private running = false;
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;
  /** Doorbells heard (tests, metrics). */
  doorbells = 0;

  constructor(private readonly opts: LiveHubOptions) {}

  /** Number of connected subscribers. */
  get size(): number {
    return this.subs.size;
  }

  /** Add a subscriber; it first receives what it missed since `since` (backfill). Returns an unsubscribe function. */
  async subscribe(sub: Subscriber): Promise<() => void> {
    await this.ensureListening();
    const entry: Entry = { ...sub, cursor: new Map(sub.seriesIds.map((id) => [id, sub.since])), delivered: new Set() };
    this.subs.add(entry);
    for (const id of sub.seriesIds) this.pending.add(id);
    void this.drain();
    return () => this.subs.delete(entry);
  }

  private async ensureListening(): Promise<void> {
    if (this.listener || this.closed) return;
    if (!this.connecting) {
      this.connecting = (async () => {
        const client = new pg.Client({ connectionString: this.opts.connectionString });
        client.on('error', () => this.reconnectLater(client));
        client.on('end', () => this.reconnectLater(client));
        client.on('notification', (msg) => {
          if (msg.channel !== SAMPLES_CHANNEL) return;
          this.doorbells++;
          if (!msg.payload || msg.payload === '*') this.pendingAll = true;
          else for (const id of msg.payload.split(',')) this.pending.add(Number(id));
          void this.drain();
        });
        await client.connect();
        await client.query(`LISTEN ${SAMPLES_CHANNEL}`);
        this.listener = client;
      })().finally(() => {
        this.connecting = undefined;
      });
    }
    await this.connecting;
  }

  private reconnectLater(client: pg.Client): void {
    if (this.listener !== client) return;
    this.listener = undefined;
    client.end().catch(() => undefined);
    if (this.closed || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.ensureListening()
        .then(() => {
          this.pendingAll = true; // catch up on anything missed while disconnected
          void this.drain();
        })
        .catch(() => this.reconnectLater(client));
    }, 1000);
  }

  /** Read and deliver new samples; coalesces doorbells that ring while a read runs. */
  private async drain(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (!this.closed && (this.pendingAll || this.pending.size > 0)) {
        const wanted = new Map<number, number>(); // series → earliest cursor among subscribers
        for (const sub of this.subs) {
          for (const [id, cursor] of sub.cursor) {
            if (!this.pendingAll && !this.pending.has(id)) continue;
            const prev = wanted.get(id);
            if (prev === undefined || cursor < prev) wanted.set(id, cursor);
          }
        }
        this.pending.clear();
        this.pendingAll = false;
        if (wanted.size === 0) break;
        const ids = [...wanted.keys()];
        const since = Math.min(...wanted.values());
        const res = await this.opts.pool.query<{ s: number; t: number; v: number }>(
          `SELECT series_id AS s, (extract(epoch FROM time) * 1000)::float8 AS t, value AS v
             FROM samples
            WHERE series_id = ANY($1::bigint[]) AND time > to_timestamp($2::float8 / 1000)
            ORDER BY time
            LIMIT $3`,
          [ids, since, this.opts.maxRows ?? 50_000],
        );
        for (const sub of [...this.subs]) {
          const mine: LivePoint[] = [];
          for (const row of res.rows) {
            const cursor = sub.cursor.get(row.s);
            if (cursor !== undefined && row.t > cursor) mine.push({ s: Number(row.s), t: row.t, v: row.v });
          }
          if (mine.length === 0) continue;
          for (const p of mine) {
            sub.cursor.set(p.s, Math.max(sub.cursor.get(p.s) ?? 0, p.t));
            sub.delivered.add(p.s);
          }
          let resumeFrom = Infinity;
          for (const id of sub.delivered) resumeFrom = Math.min(resumeFrom, sub.cursor.get(id)!);
          if (!sub.deliver(mine, resumeFrom)) this.subs.delete(sub);
        }
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
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.subs.clear();
    const l = this.listener;
    this.listener = undefined;
    await l?.end().catch(() => undefined);
  }
}
