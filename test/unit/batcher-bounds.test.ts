/**
 * The batcher's buffering and bounds against an in-memory writer (no SQL: the PostgreSQL
 * writer is covered by the integration suite): flush by size and by time in few writes,
 * backpressure while the writer is slow, oldest-first drops (counted) while it is down,
 * and recovery without loss.
 */
import assert from 'node:assert/strict';
import { IngestBatcher, type BatchWriter, type WriteResult } from '../../storage/batcher';
import type { TelemetryPoint } from '../../core/point';
import { until as untilEvery } from '../../testkit/until';

/** Polled every 5 ms: flushes are timed against a 100 ms interval. */
const until = (what: string, check: () => boolean, ms = 3000) => untilEvery(what, check, ms, 5);

type Mode = 'ok' | 'down' | 'slow';

/** A writer that stores points in memory keyed by (device, path, time), like the table's key. */
class FakeWriter implements BatchWriter {
  mode: Mode = 'ok';
  slowMs = 100;
  /** Successful and failed write calls. */
  writes = 0;
  failures = 0;
  readonly stored = new Map<string, number>();

  async write(points: TelemetryPoint[]): Promise<WriteResult> {
    this.writes++;
    if (this.mode === 'down') {
      this.failures++;
      throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
    }
    // The condition under test, not synchronisation: a database that takes slowMs per write.
    if (this.mode === 'slow') await new Promise((r) => setTimeout(r, this.slowMs));
    let inserted = 0;
    for (const p of points) {
      const k = `${p.deviceId}|${p.path}@${p.timestamp}`;
      if (!this.stored.has(k)) {
        this.stored.set(k, Number(p.value));
        inserted++;
      }
    }
    return { rows: points.length, inserted, seriesIds: [] };
  }
}

let clock = 1_700_000_000_000;
const points = (n: number, device = 1): TelemetryPoint[] =>
  Array.from({ length: n }, () => ({ deviceId: device, path: '/a/b', timestamp: (clock += 10), value: clock % 1000 }));

describe('ingest batcher: flushing and bounds', () => {
  let batcher: IngestBatcher | undefined;
  afterEach(async () => {
    await batcher?.close(500);
    batcher = undefined;
  });

  it('flushes a full batch at once in at most two writes, never point by point', async () => {
    const writer = new FakeWriter();
    // The timer is an hour away: only the batch size can flush these rows.
    batcher = new IngestBatcher({ writer, batchSize: 1000, flushIntervalMs: 3_600_000 });
    batcher.push(points(2500));
    await until('all rows stored', () => writer.stored.size === 2500, 5000);
    assert.ok(writer.writes <= 2, `${writer.writes} writes`);
    assert.equal(batcher.metrics.get('ingest_points_written_total'), 2500);
  });

  it('flushes a small batch by the flush interval, in one write, never before it', async () => {
    const writer = new FakeWriter();
    batcher = new IngestBatcher({ writer, batchSize: 1000, flushIntervalMs: 100 });
    const started = Date.now();
    batcher.push(points(10));
    // Far below the batch size: only the timer flushes. Its lower bound is exact; how late
    // it fires depends on the machine's load, so the wait is generous instead of timed.
    await until('10 rows stored', () => writer.stored.size === 10, 5000);
    const took = Date.now() - started;
    assert.ok(took >= 90, `flushed after ${took} ms, before the 100 ms interval`);
    assert.equal(writer.writes, 1, 'one write for the small batch');
  });

  it('applies backpressure while the database is slow: the buffer stays bounded and nothing is dropped', async () => {
    const writer = new FakeWriter();
    writer.mode = 'slow';
    batcher = new IngestBatcher({ writer, batchSize: 200, flushIntervalMs: 50, maxBuffered: 1000 });
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
    assert.equal(writer.stored.size, 6000);
    assert.equal(batcher.metrics.total('ingest_points_dropped_total'), 0);
  });

  it('holds points while the database is down, drops the oldest beyond the bound and counts them, then writes the rest', async () => {
    const writer = new FakeWriter();
    writer.mode = 'down';
    batcher = new IngestBatcher({
      writer,
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
    writer.mode = 'ok';
    await until('the held points written', () => writer.stored.size === 500, 3000);
    const newest = sent.slice(-500).map((p) => p.timestamp);
    const storedTimes = [...writer.stored.keys()].map((k) => Number(k.split('@')[1])).sort((a, b) => a - b);
    assert.deepEqual(storedTimes, newest, 'the newest points survive');
  });
});
