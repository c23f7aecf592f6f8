/**
 * The batcher's flushing and bounds against a scripted database: flush by size and
 * by time with one statement per table, backpressure while the database is slow,
 * oldest-first drops (counted) while it is down, and recovery without loss.
 */
import assert from 'node:assert/strict';
import type pg from 'pg';
import { IngestBatcher } from '../../storage/batcher';
import type { TelemetryPoint } from '../../core/point';

type Mode = 'ok' | 'down' | 'slow';

/** A pool whose clients answer the batcher's statements from memory. */
class ScriptedPool {
  mode: Mode = 'ok';
  slowMs = 100;
  readonly stored = new Map<string, number>();
  readonly statements: string[] = [];
  private readonly seriesIds = new Map<string, number>();

  async connect() {
    if (this.mode === 'down') throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
    const listeners: Array<(e: Error) => void> = [];
    return {
      on: (_: string, l: (e: Error) => void) => listeners.push(l),
      removeListener: () => undefined,
      release: () => undefined,
      query: async (text: string, values: unknown[] = []) => this.query(text, values),
    };
  }

  private async query(text: string, values: unknown[]) {
    const sql = text.trim().split(/\s+/).slice(0, 3).join(' ');
    this.statements.push(sql);
    if (sql.startsWith('SELECT s.id')) {
      const [devices, paths] = values as [number[], string[]];
      return {
        rows: devices.map((d, i) => {
          const k = `${d}|${paths[i]}`;
          if (!this.seriesIds.has(k)) this.seriesIds.set(k, this.seriesIds.size + 1);
          return { id: this.seriesIds.get(k), device_id: d, path: paths[i] };
        }),
      };
    }
    if (sql.startsWith('INSERT INTO samples')) {
      if (this.mode === 'slow') await new Promise((r) => setTimeout(r, this.slowMs));
      const [times, series, vals] = values as [number[], number[], number[]];
      let n = 0;
      times.forEach((t, i) => {
        const k = `${series[i]}@${t}`;
        if (!this.stored.has(k)) {
          this.stored.set(k, vals[i]);
          n++;
        }
      });
      return { rows: [], rowCount: n };
    }
    return { rows: [], rowCount: 0 };
  }

  count(prefix: string): number {
    return this.statements.filter((s) => s.startsWith(prefix)).length;
  }
}

let clock = 1_700_000_000_000;
const points = (n: number, device = 1): TelemetryPoint[] =>
  Array.from({ length: n }, () => ({ deviceId: device, path: '/a/b', timestamp: (clock += 10), value: clock % 1000 }));

const until = async (what: string, check: () => boolean, ms = 3000) => {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('ingest batcher: flushing and bounds', () => {
  let batcher: IngestBatcher | undefined;
  afterEach(async () => {
    await batcher?.close(500);
    batcher = undefined;
  });

  it('flushes a full batch at once with one INSERT per table, never row by row', async () => {
    const pool = new ScriptedPool();
    batcher = new IngestBatcher({ pool: pool as unknown as pg.Pool, batchSize: 1000, flushIntervalMs: 250 });
    batcher.push(points(2500));
    await until('all rows stored', () => pool.stored.size === 2500, 200); // well before the 250 ms timer
    assert.ok(pool.count('INSERT INTO samples') <= 2, `${pool.count('INSERT INTO samples')} inserts`);
    assert.equal(batcher.metrics.get('ingest_points_written_total'), 2500);
  });

  it('flushes a small batch within the flush interval', async () => {
    const pool = new ScriptedPool();
    batcher = new IngestBatcher({ pool: pool as unknown as pg.Pool, batchSize: 1000, flushIntervalMs: 100 });
    const started = Date.now();
    batcher.push(points(10));
    await until('10 rows stored', () => pool.stored.size === 10, 1000);
    const took = Date.now() - started;
    assert.ok(took >= 90 && took < 250, `took ${took} ms`);
  });

  it('applies backpressure while the database is slow: the buffer stays bounded and nothing is dropped', async () => {
    const pool = new ScriptedPool();
    pool.mode = 'slow';
    batcher = new IngestBatcher({ pool: pool as unknown as pg.Pool, batchSize: 200, flushIntervalMs: 50, maxBuffered: 1000 });
    let maxSeen = 0;
    let waits = 0;
    for (let i = 0; i < 60; i++) {
      const pending = batcher.push(points(100));
      maxSeen = Math.max(maxSeen, batcher.buffered);
      if (pending) {
        waits++;
        await pending; // a session stops reading here
      }
    }
    assert.ok(waits > 0, 'the producer was told to wait');
    assert.ok(maxSeen <= 1100, `buffer grew to ${maxSeen}`);
    await batcher.close(10_000);
    assert.equal(pool.stored.size, 6000);
    assert.equal(batcher.metrics.total('ingest_points_dropped_total'), 0);
  });

  it('holds points while the database is down, drops the oldest beyond the bound and counts them, then writes the rest', async () => {
    const pool = new ScriptedPool();
    pool.mode = 'down';
    batcher = new IngestBatcher({
      pool: pool as unknown as pg.Pool,
      batchSize: 100,
      flushIntervalMs: 20,
      maxBuffered: 100,
      maxHeld: 500,
      maxBackoffMs: 50,
    });
    batcher.push(points(50));
    await until('a failed flush', () => batcher!.metrics.get('ingest_flush_failures_total') > 0);
    const sent: TelemetryPoint[] = [];
    for (let i = 0; i < 12; i++) {
      const chunk = points(100);
      sent.push(...chunk);
      // While the database is down, sessions are not held back (their devices would drop them).
      assert.equal(batcher.push(chunk), undefined);
    }
    assert.equal(batcher.buffered, 500);
    assert.equal(batcher.metrics.get('ingest_points_dropped_total', { reason: 'database_unavailable' }), 1250 - 500);
    pool.mode = 'ok';
    await until('the held points written', () => pool.stored.size === 500, 3000);
    const newest = sent.slice(-500).map((p) => p.timestamp / 1000);
    const storedTimes = [...pool.stored.keys()].map((k) => Number(k.split('@')[1])).sort((a, b) => a - b);
    assert.deepEqual(storedTimes, newest, 'the newest points survive');
  });
});
