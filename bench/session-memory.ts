/**
 * Memory per idle streaming gNMI session, protocol layer only: a simulator process with
 * BENCH_SESSIONS targets (1 interface each), and in this process that many
 * gnmiProtocol.run sessions subscribed to the counters every BENCH_SCALE_INTERVAL_MS
 * (10 s). Once every session has delivered its first points, RSS, heap, external and
 * ArrayBuffer memory (after GC) are compared with the figures before the sessions began:
 * delta / sessions. No Temporal activity or heartbeat (bench/scenarios/scale.ts measures
 * the whole collector).
 *
 *   node --expose-gc --import tsx bench/session-memory.ts
 *   BENCH_HEAP_SITES=15 …   also prints the allocation sites holding most of the sessions' heap
 *                           (V8 sampling heap profiler, live objects after GC)
 */
import path from 'node:path';
import { Session } from 'node:inspector/promises';
import { gnmiProtocol } from '../protocols/gnmi/index';
import { countersProfile } from './lib/system';
import { gnmiProfile, localGnmiDevice, recordingContext, type RecordingContext } from '../simulator/gnmi/harness';
import { SIM_PASSWORD, SIM_USERNAME } from '../simulator/fleet';
import { freePort, isPortOpen, startChild, waitFor } from '../scripts/infra/proc';
import { entryArgs } from '../scripts/infra/entry';

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
  const frame = (n: SamplingNode) => `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.replace(/^.*node_modules\//, '').replace(/^.*switch-telemetry\/|^file:\/\/.*?\/main\//, '')}:${n.callFrame.lineNumber + 1}`;
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

async function main() {
  const controlPort = await freePort();
  const base = 20000 + Math.floor(Math.random() * 20000);
  const sim = startChild('simulator', process.execPath, entryArgs(ROOT, 'simulator/main.ts'), {
    cwd: ROOT,
    quiet: true,
    env: { ...process.env, SIM_GNMI_COUNT: String(SESSIONS), SIM_GNMI_BASE_PORT: String(base), SIM_NETCONF_COUNT: '0', SIM_INTERFACES: '1', SIM_CONTROL_PORT: String(controlPort), LOG_LEVEL: 'warn' },
  });
  const running: Array<{ ctx: RecordingContext; done: Promise<void> }> = [];
  try {
    await waitFor('the simulator', () => isPortOpen(controlPort), 120_000);
    const ports = ((await (await fetch(`http://127.0.0.1:${controlPort}/devices`)).json()) as Array<{ port: number }>).map((m) => m.port);
    const profiles = [gnmiProfile(countersProfile(INTERVAL_MS))];
    let delivered = 0;
    const start = (i: number) => {
      const device = localGnmiDevice(ports[i], { allowPlaintextCredentials: true }, { id: i + 1, username: SIM_USERNAME, secrets: { password: SIM_PASSWORD } });
      const ctx = recordingContext(device, profiles);
      let first = true;
      // Count only: an idle session must not grow a recording of its points.
      ctx.sink.push = () => {
        if (first) delivered++;
        first = false;
      };
      running.push({ ctx, done: gnmiProtocol.run(ctx).catch((err) => console.error(`session ${i + 1}: ${(err as Error).message}`)) });
    };
    // One session first, so module loading and the first channel's one-time costs are in the baseline.
    start(0);
    await waitFor('the first session', async () => delivered === 1, 60_000, 50);
    const heapSites = Number(process.env.BENCH_HEAP_SITES ?? 0);
    const inspector = heapSites > 0 ? new Session() : undefined;
    if (inspector) {
      inspector.connect();
      await inspector.post('HeapProfiler.startSampling', { samplingInterval: 1024 });
    }
    const before = await settledMemory();
    for (let i = 1; i < ports.length; i++) start(i);
    await waitFor(`${ports.length} sessions delivering`, async () => delivered === ports.length, 180_000, 100);
    const after = await settledMemory();
    const n = ports.length - 1;
    const per = (k: keyof NodeJS.MemoryUsage) => ((after[k] - before[k]) / n / 1024).toFixed(1).padStart(7);
    console.log(`${n} idle streaming gNMI sessions (${INTERVAL_MS} ms SAMPLE of 1 interface's counters), after GC, KiB per session:`);
    console.log(`  rss ${per('rss')}   heapUsed ${per('heapUsed')}   external ${per('external')}   arrayBuffers ${per('arrayBuffers')}`);
    if (inspector) await printHeapSites(inspector, heapSites, n);
    console.log(`  (process rss ${(after.rss / 2 ** 20).toFixed(1)} MiB with ${ports.length} sessions, ${(before.rss / 2 ** 20).toFixed(1)} MiB with one)`);
  } finally {
    for (const r of running) r.ctx.controller.abort();
    await Promise.all(running.map((r) => r.done));
    await sim.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
