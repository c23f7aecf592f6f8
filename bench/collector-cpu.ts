/**
 * Collector CPU per point without a database or a network: the cheap generator's
 * PROTO notifications (simulator/gnmi/templates.ts, 48 interfaces × their counters,
 * as the pipeline scenario subscribes) go through what a gNMI session runs for each
 * frame — the gRPC deserializer, NotificationDecoder.decodeSliced, the session's
 * sink bookkeeping and IngestBatcher.push — into an in-memory BatchWriter that
 * resolves series ids through the PostgreSQL writer's SeriesCache.
 * Prints process CPU µs per point, median of BENCH_RUNS runs (default 7).
 *
 *   npx tsx bench/collector-cpu.ts
 *   node --cpu-prof --cpu-prof-dir=bench/results/profiles --import tsx bench/collector-cpu.ts
 */
import { NotificationDecoder } from '../protocols/gnmi/decode';
import { gnmiProto, type WireSubscribeResponse } from '../protocols/gnmi/proto';
import type pg from 'pg';
import { IngestBatcher, type BatchWriter } from '../storage/batcher';
import { SeriesCache } from '../storage/series-cache';
import { MetricsRegistry, metricsKey } from '../core/metrics';
import type { TelemetryPoint } from '../core/point';
import { SimDevice } from '../simulator/model';
import { leafPath, pathSelects } from '../simulator/gnmi/match';
import { NotificationTemplates } from '../simulator/gnmi/templates';
import { nowNanos } from '../simulator/gnmi/encode';

const { Subscribe } = gnmiProto().service;
/** The Subscribe response reader of the collector's client (protocols/gnmi/client.ts). */
const readResponse = gnmiProto().CollectorClient.service.Subscribe.responseDeserialize;
const SUBSCRIPTION = leafPath('/interfaces/interface/state/counters');
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const TICKS = Number(process.env.BENCH_TICKS ?? 300);
const INTERFACES = Number(process.env.BENCH_INTERFACES ?? 48);

/** Frames of TICKS ticks of one device, rendered by the cheap generator with advancing values. */
function renderFrames(): { frames: Buffer[]; points: number } {
  const device = new SimDevice({ name: 'bench', interfaces: INTERFACES });
  const indices: number[] = [];
  const selected = device.leaves().flatMap((l, i) => {
    const path = leafPath(l.path);
    if (!pathSelects(SUBSCRIPTION.elems, path.elems)) return [];
    indices.push(i);
    return [{ path, value: l.value }];
  });
  const templates = NotificationTemplates.build(selected, {}, (msg) => Subscribe.responseSerialize(msg));
  if (!templates) throw new Error('the counters subtree has a leaf the cheap generator cannot patch');
  const frames: Buffer[] = [];
  let ts = BigInt(nowNanos());
  for (let t = 0; t < TICKS; t++) {
    const all = device.leafValues();
    // Values advance like counters do between ticks (distinct varint bytes each time).
    const values = indices.map((i) => (all[i] as bigint) + BigInt(t * 1_000_003));
    frames.push(...templates.render(values, ts));
    ts += 100_000_000n;
  }
  return { frames, points: TICKS * selected.length };
}

/**
 * An in-memory writer: resolves every point's series id through the PostgreSQL writer's
 * SeriesCache (a fake client answers its one creation round with ids), then accepts the batch.
 */
class NullWriter implements BatchWriter {
  rows = 0;
  private nextId = 1;
  readonly series = new SeriesCache();
  private readonly client = {
    query: async (sql: string, params: unknown[]) => {
      if (!sql.trimStart().startsWith('SELECT')) return { rows: [] };
      const [devices, paths] = params as [number[], string[]];
      return { rows: paths.map((path, i) => ({ id: this.nextId++, device_id: devices[i], path })) };
    },
  } as unknown as pg.ClientBase;
  async write(points: TelemetryPoint[]) {
    const ids = await this.series.idsFor(this.client, points);
    if (ids.length !== points.length) throw new Error('series ids missing');
    this.rows += points.length;
    return { rows: points.length, inserted: points.length, seriesIds: [] };
  }
}

/** One run over every frame; returns process CPU µs per point. */
async function run(frames: Buffer[], expected: number): Promise<number> {
  const metrics = new MetricsRegistry();
  const writer = new NullWriter();
  const batcher = new IngestBatcher({ writer, metrics });
  const decoder = new NotificationDecoder(1);
  let hbPoints = 0;
  let lastPointAt = 0;
  const receivedKey = metricsKey({ protocol: 'gnmi' });
  // The batcher's flush timer is unref'd (a collector's sockets keep it alive); here nothing else is, so past
  // maxBuffered points the push awaiting backpressure would let the process exit with no figure.
  const keepAlive = setInterval(() => {}, 1 << 30);
  const cpu0 = process.cpuUsage();
  for (const f of frames) {
    const msg = readResponse(f) as WireSubscribeResponse;
    const sliced = decoder.decodeSliced(msg.update!);
    const decoded = sliced instanceof Promise ? await sliced : sliced;
    for (const kind in decoded.skipped) metrics.inc('gnmi_values_skipped_total', decoded.skipped[kind], { kind });
    // What the session's sink does per push (workers/collector-session-runner.ts), then the batcher.
    hbPoints += decoded.points.length;
    for (const p of decoded.points) if (p.timestamp > lastPointAt) lastPointAt = p.timestamp;
    metrics.incKey('session_points_received_total', receivedKey, decoded.points.length);
    const pushed = batcher.push(decoded.points);
    if (pushed) await pushed;
  }
  await batcher.close();
  const used = process.cpuUsage(cpu0);
  clearInterval(keepAlive);
  if (writer.rows !== expected || hbPoints !== expected) throw new Error(`wrote ${writer.rows} of ${expected} points`);
  return (used.user + used.system) / expected;
}

async function main() {
  const { frames, points } = renderFrames();
  const bytes = frames.reduce((a, b) => a + b.length, 0);
  console.log(`${frames.length} frames (${(bytes / frames.length).toFixed(0)} B avg), ${points} points (${(points / frames.length).toFixed(1)} per notification); ${RUNS} runs after one warm-up`);
  await run(frames, points);
  const results: number[] = [];
  for (let r = 0; r < RUNS; r++) results.push(await run(frames, points));
  const sorted = [...results].sort((a, b) => a - b);
  console.log(`runs (µs/point): ${results.map((v) => v.toFixed(2)).join(' ')}`);
  console.log(`collector CPU per point (deserialize → decode → sink → batcher → series ids, no database): median ${sorted[Math.floor(sorted.length / 2)].toFixed(2)} µs, min ${sorted[0].toFixed(2)} µs`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
