/**
 * The batcher's lanes (INGEST_FLUSH_LANES) against an in-memory writer whose writes the test
 * holds open: lanes flush at once, each device stays in one lane so its points are written in
 * the order they came, the bounds are shared, and a failing lane loses nothing.
 */
import assert from 'node:assert/strict';
import { IngestBatcher, type BatchWriter, type WriteResult } from '../../storage/batcher';
import type { TelemetryPoint } from '../../core/point';
import { until } from '../../testkit/until';

/** A writer whose writes wait until the test lets them end; it records every write's points and when it ended. */
class GatedWriter implements BatchWriter {
  /** Writes started and not yet ended. */
  readonly open: Array<{ points: TelemetryPoint[]; end: (fail?: Error) => void }> = [];
  /** Points written, in the order their writes ended. */
  readonly written: TelemetryPoint[] = [];
  mostAtOnce = 0;
  /** Once set (the test is over), writes end as they start. */
  ending = false;

  write(points: TelemetryPoint[]): Promise<WriteResult> {
    if (this.ending) {
      this.written.push(...points);
      return Promise.resolve({ rows: points.length, inserted: points.length, seriesIds: [] });
    }
    return new Promise((resolve, reject) => {
      const entry = {
        points,
        end: (fail?: Error) => {
          this.open.splice(this.open.indexOf(entry), 1);
          if (fail) return reject(fail);
          this.written.push(...points);
          resolve({ rows: points.length, inserted: points.length, seriesIds: [] });
        },
      };
      this.open.push(entry);
      this.mostAtOnce = Math.max(this.mostAtOnce, this.open.length);
    });
  }
}

let clock = 1_700_000_000_000;
const points = (n: number, device: number): TelemetryPoint[] => Array.from({ length: n }, () => ({ deviceId: device, path: '/a/b', timestamp: (clock += 10), value: 1 }));
const devicesOf = (ps: TelemetryPoint[]) => [...new Set(ps.map((p) => p.deviceId))].sort((a, b) => a - b);

describe('ingest batcher: lanes', () => {
  let batcher: IngestBatcher | undefined;
  let writer: GatedWriter;
  beforeEach(() => (writer = new GatedWriter()));
  afterEach(async () => {
    // Let every write end so that close() can flush what is left.
    writer.ending = true;
    for (const w of [...writer.open]) w.end();
    await batcher?.close(200);
    batcher = undefined;
  });

  it('refuses a lane count that is not a whole number of at least 1', () => {
    assert.throws(() => new IngestBatcher({ writer, lanes: 0 }), /lanes must be a whole number of at least 1, not 0/);
    assert.throws(() => new IngestBatcher({ writer, lanes: 1.5 }), /not 1.5/);
  });

  it('with one lane, a second batch waits for the first write to end', async () => {
    batcher = new IngestBatcher({ writer, batchSize: 100, flushIntervalMs: 3_600_000 });
    batcher.push(points(100, 1));
    await until('the first write', () => writer.open.length === 1);
    batcher.push(points(100, 2));
    // The second device's full batch is buffered, not written beside the first.
    assert.equal(writer.open.length, 1);
    assert.equal(batcher.buffered, 100);
    writer.open[0].end();
    await until('the second write', () => writer.open.length === 1 && writer.open[0].points[0].deviceId === 2);
    writer.open[0].end();
    await until('both written', () => writer.written.length === 200);
  });

  it('counts as unwritten the points buffered and those in a write under way, until the write commits', async () => {
    batcher = new IngestBatcher({ writer, batchSize: 100, flushIntervalMs: 3_600_000, lanes: 2 });
    batcher.push(points(100, 1));
    await until('the first write', () => writer.open.length === 1);
    batcher.push(points(30, 1));
    // 100 in the write under way (no longer buffered), 30 buffered behind it in the same lane.
    assert.equal(batcher.buffered, 30);
    assert.equal(batcher.unwritten, 130);
    writer.open[0].end(new Error('connection lost'));
    // A failed write puts its points back: still unwritten, now buffered, none counted twice.
    await until('the failed batch buffered again', () => batcher!.buffered === 130);
    assert.equal(batcher.unwritten, 130);
    void batcher.flush();
    await until('the retry', () => writer.open.length === 1);
    writer.open[0].end();
    await until('written', () => batcher!.unwritten === 0);
    assert.equal(writer.written.length, 130);
  });

  it('with two lanes, devices in different lanes are written at once', async () => {
    batcher = new IngestBatcher({ writer, batchSize: 100, flushIntervalMs: 3_600_000, lanes: 2 });
    batcher.push(points(100, 1));
    batcher.push(points(100, 2));
    await until('two writes open together', () => writer.open.length === 2);
    assert.deepEqual(writer.open.map((w) => devicesOf(w.points)).sort(), [[1], [2]], 'each write holds one lane: device 1 or device 2');
    for (const w of [...writer.open]) w.end();
    await until('both written', () => writer.written.length === 200);
    assert.equal(writer.mostAtOnce, 2);
  });

  it("keeps a device's points in order: its later batch is written only after its earlier one", async () => {
    batcher = new IngestBatcher({ writer, batchSize: 100, flushIntervalMs: 3_600_000, lanes: 2 });
    const first = points(100, 4);
    const second = points(100, 4);
    batcher.push(first);
    await until('the first write', () => writer.open.length === 1);
    batcher.push(second);
    // Same device, same lane: no second write while the first is open, although the other lane is idle.
    assert.equal(writer.open.length, 1);
    writer.open[0].end();
    await until('the second write', () => writer.open.length === 1 && writer.open[0].points[0] === second[0]);
    writer.open[0].end();
    await until('both written', () => writer.written.length === 200);
    assert.deepEqual(
      writer.written.map((p) => p.timestamp),
      [...first, ...second].map((p) => p.timestamp),
      'written in the order pushed',
    );
  });

  it('splits a push that mixes devices between their lanes', async () => {
    batcher = new IngestBatcher({ writer, batchSize: 3, flushIntervalMs: 3_600_000, lanes: 2 });
    const mixed = [...points(3, 10), ...points(3, 11)];
    batcher.push(mixed);
    await until('a write per lane', () => writer.open.length === 2);
    assert.deepEqual(writer.open.map((w) => devicesOf(w.points)).sort(), [[10], [11]]);
    for (const w of [...writer.open]) w.end();
    await until('all written', () => writer.written.length === 6);
  });

  it('counts every lane against the backpressure bound', async () => {
    batcher = new IngestBatcher({ writer, batchSize: 1000, flushIntervalMs: 3_600_000, maxBuffered: 150, lanes: 2 });
    assert.equal(batcher.push(points(100, 1)), undefined, 'lane of device 1 under the bound alone');
    const held = batcher.push(points(100, 2));
    assert.ok(held instanceof Promise, 'the two lanes together (200) are over the bound of 150: the session is held back');
    assert.equal(batcher.metrics.get('ingest_backpressure_waits_total'), 1);
    let released = false;
    void held.then(() => (released = true));
    // Written down to half the bound or less: the session may read again.
    void batcher.flush();
    await until('writes for both lanes', () => writer.open.length === 2);
    for (const w of [...writer.open]) w.end();
    await until('the session released', () => released);
    assert.equal(writer.written.length, 200);
  });

  it('a failing lane puts its batch back and writes it later; the other lane is not lost', async () => {
    batcher = new IngestBatcher({ writer, batchSize: 50, flushIntervalMs: 3_600_000, lanes: 2, maxBackoffMs: 20 });
    batcher.push(points(50, 1));
    batcher.push(points(50, 2));
    await until('two writes open', () => writer.open.length === 2);
    const failing = writer.open.find((w) => w.points[0].deviceId === 1)!;
    failing.end(new Error('connection terminated'));
    await until('the failure counted', () => batcher!.metrics.get('ingest_flush_failures_total') === 1);
    writer.open.find((w) => w.points[0].deviceId === 2)!.end();
    await until('device 1 written again', () => writer.open.length === 1 && writer.open[0].points[0].deviceId === 1);
    writer.open[0].end();
    await until('everything written', () => writer.written.length === 100);
    assert.equal(batcher.metrics.total('ingest_points_dropped_total'), 0);
  });

  it('splits the held-points bound between the lanes while the database is down', async () => {
    batcher = new IngestBatcher({ writer, batchSize: 1000, flushIntervalMs: 3_600_000, maxBuffered: 100, maxHeld: 400, lanes: 2, maxBackoffMs: 10_000 });
    batcher.push(points(10, 1));
    void batcher.flush();
    await until('a write open', () => writer.open.length === 1);
    writer.open[0].end(new Error('connect ECONNREFUSED'));
    await until('the database seen down', () => batcher!.databaseDown);
    // Device 1's lane holds at most 400 / 2: the oldest beyond it are dropped and counted.
    for (let i = 0; i < 3; i++) batcher.push(points(100, 1));
    assert.equal(batcher.buffered, 200);
    assert.equal(batcher.metrics.get('ingest_points_dropped_total', { reason: 'database_unavailable' }), 110);
  });
});
