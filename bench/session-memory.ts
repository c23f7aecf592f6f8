/**
 * Memory per idle streaming session, one layer at a time (issue 16). After one session (module
 * loading and one-time costs in the baseline), BENCH_SESSIONS − 1 more are started; once every
 * one is running, RSS, V8 heap (used and total), external and ArrayBuffer memory (after GC) are
 * compared with the baseline: delta / sessions. "native" is RSS growth less V8 heap-total
 * growth (malloc'd memory: nghttp2, sockets, the Temporal core, allocator slack).
 *
 *   BENCH_LAYER=gnmi (default)  the protocol layer alone: a simulator with BENCH_SESSIONS targets
 *                               (1 interface each) and that many gnmiProtocol.run sessions
 *                               subscribed to the counters every BENCH_SCALE_INTERVAL_MS (10 s)
 *   BENCH_LAYER=temporal        the Temporal side alone: an in-memory dev server, a workflow worker
 *                               in a child process, and in this process an activity worker like the
 *                               collector's (30 s heartbeat throttle) holding BENCH_SESSIONS
 *                               activities that heartbeat every second until cancelled — no protocol
 *   BENCH_LAYER=collector       both, as the collector holds them: that worker runs the collector's
 *                               session activity (activities/session.ts, its runner workers/collector-session-runner.ts) over gNMI to simulator
 *                               targets (device loaded by a fake, points counted: no database, no batcher)
 *
 *   node --expose-gc --import tsx bench/session-memory.ts
 *   GNMI_TRANSPORT=http2 …  the gNMI sessions on the node:http2 client (ADR 265), gnmi and collector layers
 *   BENCH_HEAP_SITES=15 …   also prints the allocation sites holding most of the sessions' heap
 *                           (V8 sampling heap profiler, live objects after GC)
 * (bench/scenarios/scale.ts measures the whole collector.)
 */
import path from 'node:path';
import { Session } from 'node:inspector/promises';
import { fileURLToPath } from 'node:url';
import { Context } from '@temporalio/activity';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { gnmiProtocol } from '../protocols/gnmi/index';
import { countersProfile } from './lib/system';
import { gnmiProfile, localGnmiDevice, recordingContext, type RecordingContext } from '../simulator/gnmi/harness';
import { SIM_PASSWORD, SIM_USERNAME } from '../simulator/fleet';
import type { Knex } from 'knex';
import { freePort, startChild, waitFor } from '../scripts/infra/proc';
import { startGnmiSimulator } from './lib/gnmi-sim';
import { createSessionActivities } from '../activities/session';
import { createSessionRunner } from '../workers/collector-session-runner';
import { MetricsRegistry } from '../core/metrics';
import type { RunSessionInput } from '../core/names';
import type { Keyring } from '../storage/secrets';
import { startDevServer } from '../scripts/infra/temporal-dev-server';
import { gnmiTransportSetting } from '../core/config';

const ROOT = path.resolve(import.meta.dirname, '..');
const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 200);
const INTERVAL_MS = Number(process.env.BENCH_SCALE_INTERVAL_MS ?? 10_000);

/** Settled memory figures (bytes) after forcing GC. */
async function settledMemory() {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
  return process.memoryUsage();
}

interface SamplingNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: SamplingNode[];
}

/** Live sampled bytes by allocation site (function and its caller), per session. */
async function printHeapSites(inspector: Session, top: number, sessions: number): Promise<void> {
  const { profile } = (await inspector.post('HeapProfiler.getSamplingProfile')) as { profile: { head: SamplingNode } };
  const bySite = new Map<string, number>();
  const frame = (n: SamplingNode) =>
    `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.replace(/^.*node_modules\//, '').replace(/^.*switch-telemetry\/|^file:\/\/.*?\/main\//, '')}:${n.callFrame.lineNumber + 1}`;
  const walk = (n: SamplingNode, parent?: SamplingNode) => {
    if (n.selfSize > 0) {
      const key = `${frame(n)}  ← ${parent ? frame(parent) : ''}`;
      bySite.set(key, (bySite.get(key) ?? 0) + n.selfSize);
    }
    for (const c of n.children) walk(c, n);
  };
  walk(profile.head);
  console.log(`  live heap by allocation site (sampled), KiB per session:`);
  for (const [site, bytes] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${(bytes / sessions / 1024).toFixed(2).padStart(7)}  ${site}`);
}

/** One layer under measurement: start session i (0-based), and how many have started fully. */
interface Layer {
  name: string;
  sessions: number;
  start(i: number): void;
  ready(): number;
}

/** Baseline after the first session, then all the others; prints per-session growth. */
async function measure(layer: Layer): Promise<void> {
  // One session first, so module loading and the first one's one-time costs are in the baseline.
  layer.start(0);
  await waitFor('the first session', async () => layer.ready() === 1, 60_000, 50);
  const heapSites = Number(process.env.BENCH_HEAP_SITES ?? 0);
  const inspector = heapSites > 0 ? new Session() : undefined;
  if (inspector) {
    inspector.connect();
    await inspector.post('HeapProfiler.startSampling', { samplingInterval: 1024 });
  }
  const before = await settledMemory();
  for (let i = 1; i < layer.sessions; i++) layer.start(i);
  await waitFor(`${layer.sessions} sessions running`, async () => layer.ready() === layer.sessions, 300_000, 100);
  // Every session has run a while (a heartbeat throttle period, a few samples) before it is weighed.
  const settleMs = Number(process.env.BENCH_SETTLE_MS ?? 35_000);
  await new Promise((r) => setTimeout(r, settleMs));
  const after = await settledMemory();
  const n = layer.sessions - 1;
  const kib = (bytes: number) => (bytes / n / 1024).toFixed(1).padStart(7);
  const per = (k: keyof NodeJS.MemoryUsage) => kib(after[k] - before[k]);
  console.log(`${n} sessions, ${layer.name}, gNMI transport ${gnmiTransportSetting()}, ${settleMs / 1000} s after the last started, after GC, KiB per session:`);
  console.log(
    `  rss ${per('rss')}   heapUsed ${per('heapUsed')}   heapTotal ${per('heapTotal')}   native (rss - heapTotal) ${kib(after.rss - after.heapTotal - (before.rss - before.heapTotal))}   external ${per('external')}   arrayBuffers ${per('arrayBuffers')}`,
  );
  if (inspector) await printHeapSites(inspector, heapSites, n);
  console.log(`  (process rss ${(after.rss / 2 ** 20).toFixed(1)} MiB with ${layer.sessions} sessions, ${(before.rss / 2 ** 20).toFixed(1)} MiB with one)`);
}

/** A simulator process with SESSIONS gNMI targets of one interface each, and their ports. */
const startSimulator = () => startGnmiSimulator(SESSIONS);

/** The gNMI protocol layer: simulator targets and gnmiProtocol.run sessions, no Temporal. */
async function gnmiLayer(): Promise<void> {
  const { child: sim, ports } = await startSimulator();
  const running: Array<{ ctx: RecordingContext; done: Promise<void> }> = [];
  try {
    const profiles = [gnmiProfile(countersProfile(INTERVAL_MS))];
    let delivered = 0;
    await measure({
      name: `idle streaming gNMI sessions (${INTERVAL_MS} ms SAMPLE of 1 interface's counters)`,
      sessions: ports.length,
      ready: () => delivered,
      start(i) {
        const device = localGnmiDevice(ports[i], { allowPlaintextCredentials: true }, { id: i + 1, username: SIM_USERNAME, secrets: { password: SIM_PASSWORD } });
        const ctx = recordingContext(device, profiles);
        let first = true;
        // Count only: an idle session must not grow a recording of its points.
        ctx.sink.push = () => {
          if (first) delivered++;
          first = false;
        };
        running.push({ ctx, done: gnmiProtocol.run(ctx).catch((err) => console.error(`session ${i + 1}: ${(err as Error).message}`)) });
      },
    });
  } finally {
    for (const r of running) r.ctx.controller.abort();
    await Promise.all(running.map((r) => r.done));
    await sim.stop();
  }
}

const WORKFLOW_QUEUE = 'session-memory-workflows';
const HOLD_ACTIVITY_QUEUE = 'session-memory-activities';

/**
 * Activities held by an activity worker like the collector's: `temporal`, one that only heartbeats
 * (no protocol); `collector`, the collector's own session activity (activities/session.ts and its runner) over
 * gNMI to simulator targets, its device loaded by a fake and its points counted, not stored.
 */
async function temporalLayer(withSessions: boolean): Promise<void> {
  const port = await freePort();
  const server = await startDevServer({ port, uiPort: 0, headless: true, quiet: true });
  const workflows = startChild('workflow worker', process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
    cwd: ROOT,
    quietOnStop: true,
    env: { ...process.env, BENCH_ROLE: 'workflows', BENCH_TEMPORAL_ADDRESS: server.address },
  });
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const connection = await NativeConnection.connect({ address: server.address });
  const client = new Client({ connection: await Connection.connect({ address: server.address }) });
  let started = 0;
  const sim = withSessions ? await startSimulator() : undefined;
  const liveSessions = new Map<string, 'connecting' | 'streaming'>();
  const profiles = [gnmiProfile(countersProfile(INTERVAL_MS))];
  const runner = createSessionRunner({
    db: undefined as unknown as Knex,
    keyring: undefined as unknown as Keyring,
    metrics: new MetricsRegistry(),
    liveSessions,
    handovers: new Map(),
    heartbeatEveryMs: 1000,
    sink: { push: () => undefined },
    getProtocol: async () => gnmiProtocol,
    loadDevice: async (id) => ({
      enabled: true,
      profiles,
      config: localGnmiDevice(sim!.ports[id - 1], { allowPlaintextCredentials: true }, { id, username: SIM_USERNAME, secrets: { password: SIM_PASSWORD } }),
    }),
  });
  const sessionActivities = createSessionActivities({ runner });
  const worker = await Worker.create({
    connection,
    taskQueue: HOLD_ACTIVITY_QUEUE,
    maxConcurrentActivityTaskExecutions: SESSIONS + 10,
    // As the collector's placed sessions (ADR 160): a heartbeat every second, sent at most every 30 s.
    maxHeartbeatThrottleInterval: 30_000,
    defaultHeartbeatThrottleInterval: 30_000,
    activities: {
      async runDeviceSession(input: RunSessionInput) {
        started++;
        return sessionActivities.runDeviceSession(input);
      },
      async holdSession(): Promise<void> {
        const ctx = Context.current();
        const hb = { attempt: 1, points: 0, lastPoint: '' };
        const beat = setInterval(() => {
          hb.points += 7;
          hb.lastPoint = new Date().toISOString();
          ctx.heartbeat(hb);
        }, 1000);
        ctx.heartbeat(hb);
        started++;
        try {
          await ctx.cancelled;
        } catch {
          // cancelled: the bench is over
        } finally {
          clearInterval(beat);
        }
      },
    },
  });
  const running = worker.run();
  try {
    const starts: Promise<void>[] = [];
    const streaming = () => {
      let n = 0;
      for (const state of liveSessions.values()) if (state === 'streaming') n++;
      return n;
    };
    await measure({
      name: withSessions
        ? `the collector's session activities over gNMI (${INTERVAL_MS} ms SAMPLE of 1 interface's counters; heartbeat every 1 s, throttled to 30 s)`
        : 'held Temporal activities (heartbeat every 1 s, throttled to 30 s)',
      sessions: sim ? sim.ports.length : SESSIONS,
      ready: withSessions ? streaming : () => started,
      start(i) {
        const args = withSessions ? [HOLD_ACTIVITY_QUEUE, 'runDeviceSession', { deviceId: i + 1, generation: 1, attempt: 1 } satisfies RunSessionInput] : [HOLD_ACTIVITY_QUEUE];
        // The handle is dropped: only the worker's side is weighed.
        starts.push(client.workflow.start('holdWorkflow', { taskQueue: WORKFLOW_QUEUE, workflowId: `session-memory-${i}`, args }).then(() => undefined));
      },
    });
    await Promise.all(starts);
  } finally {
    worker.shutdown();
    await running.catch(() => undefined);
    await client.connection.close();
    await workflows.stop();
    await server.stop();
    await sim?.child.stop();
  }
}

/** The workflow worker of the Temporal layer (a child process: its memory is not measured). */
async function workflowWorker(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const connection = await NativeConnection.connect({ address: process.env.BENCH_TEMPORAL_ADDRESS! });
  const worker = await Worker.create({
    connection,
    taskQueue: WORKFLOW_QUEUE,
    workflowsPath: fileURLToPath(new URL('./support/hold-workflow.ts', import.meta.url)),
    maxCachedWorkflows: 0,
  });
  process.once('SIGTERM', () => worker.shutdown());
  await worker.run();
}

async function main() {
  if (process.env.BENCH_ROLE === 'workflows') return workflowWorker();
  const layer = process.env.BENCH_LAYER ?? 'gnmi';
  if (layer === 'gnmi') return gnmiLayer();
  if (layer === 'temporal' || layer === 'collector') return temporalLayer(layer === 'collector');
  throw new Error(`BENCH_LAYER must be gnmi, temporal or collector, not ${layer}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
