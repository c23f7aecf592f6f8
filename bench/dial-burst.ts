/**
 * Dial throughput of a warm hand-over burst (issue 20): how fast one collector process dials
 * sessions handed to it all at once, with the collector's own warm-session path (WarmSessions,
 * activities/warm-sessions.ts: devices loaded together, one dial permit of DialLimiter held until
 * Capabilities answers or the first point) and the real gNMI protocol layer against simulator
 * targets. No database, Temporal or batcher: points are counted, so the figures are the dial
 * path alone (the collector's ingest is not competing for the event loop, the simulator is).
 * First `BENCH_DIAL_BACKGROUND` sessions are dialled and left streaming (the collector's own
 * load), then `BENCH_DIAL_SESSIONS` more at once; reported: sessions streaming per second
 * during the burst (first point of each), time to first point p50/p99/max, the event loop's
 * delay p99 meanwhile, CPU of this process and of the simulator; then every stream is ended at
 * once (as a collector handing all its sessions over does): seconds until every channel closed.
 *
 *   node --import tsx bench/dial-burst.ts
 *   GNMI_TRANSPORT=http2 …                                                      (the node:http2 client, ADR 265)
 *   BENCH_DIAL_PROFILE=/tmp/burst.cpuprofile …                                  (this side's V8 profile of the burst alone)
 *   BENCH_SIM_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof" …                (the simulator's)
 *   node --import tsx bench/cpu-profile-top.ts <file.cpuprofile>                (read one)
 *   BENCH_DIAL_CAPABILITIES=ask …                                               (the burst asks Capabilities; default: it subscribes
 *                                                                               with the answer recorded before, as a hand-over does, ADR 298)
 */
import fs from 'node:fs';
import { Session } from 'node:inspector/promises';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { gnmiProtocol } from '../protocols/gnmi/index';
import { DialLimiter } from '../protocols/dial-limiter';
import { MetricsRegistry } from '../core/metrics';
import { WarmSessions, type LoadedDevice } from '../workers/collector-warm-sessions';
import { gnmiProfile, localGnmiDevice } from '../simulator/gnmi/harness';
import { SIM_PASSWORD, SIM_USERNAME } from '../simulator/fleet';
import { SUPPORTED_ENCODINGS } from '../simulator/gnmi/stream';
import { GNMI_VERSION } from '../simulator/gnmi/target';
import { countersProfile } from './lib/system';
import { cpuSeconds, percentile } from './lib/procstat';
import { startGnmiSimulator } from './lib/gnmi-sim';
import { waitFor } from '../scripts/infra/proc';
import { gnmiTransportSetting } from '../core/config';
import type { Knex } from 'knex';

const BURST = Number(process.env.BENCH_DIAL_SESSIONS ?? 1000);
const BACKGROUND = Number(process.env.BENCH_DIAL_BACKGROUND ?? 0);
const LIMIT = Number(process.env.BENCH_DIAL_LIMIT ?? 64);
const INTERVAL_MS = Number(process.env.BENCH_DIAL_INTERVAL_MS ?? 1000);
/** `known`: the burst's devices come with the Capabilities answer a simulated target gives (a hand-over, ADR 298); `ask`: they ask. */
const CAPABILITIES = process.env.BENCH_DIAL_CAPABILITIES ?? 'known';

async function main() {
  const total = BACKGROUND + BURST;
  const simFlags = (process.env.BENCH_SIM_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  const { child: sim, ports } = await startGnmiSimulator(total, simFlags);
  const profiles = [gnmiProfile(countersProfile(INTERVAL_MS))];
  const devices = new Map<number, LoadedDevice>(
    ports.map((port, i) => [
      i + 1,
      { enabled: true, profiles, config: localGnmiDevice(port, { allowPlaintextCredentials: true }, { id: i + 1, username: SIM_USERNAME, secrets: { password: SIM_PASSWORD } }) },
    ]),
  );
  const firstPointAt = new Map<number, number>();
  let points = 0;
  // Streams whose protocol run has ended (its channel closed): the teardown is timed too.
  let ended = 0;
  const protocol = { ...gnmiProtocol, run: (ctx: Parameters<typeof gnmiProtocol.run>[0]) => gnmiProtocol.run(ctx).finally(() => void ended++) };
  const warm = new WarmSessions({
    db: undefined as unknown as Knex,
    loadDevices: async (ids) => ({ devices: new Map(ids.map((id) => [id, devices.get(id)!])), failed: new Map() }),
    getProtocol: async () => protocol,
    sink: { push: (p) => void (points += p.length) },
    metrics: new MetricsRegistry(),
    dials: new DialLimiter(LIMIT),
    adoptWithinMs: 3_600_000,
    onUp: (id) => firstPointAt.set(id, performance.now()),
    unwanted: async () => new Set(),
  });
  const ids = [...devices.keys()];
  try {
    if (BACKGROUND > 0) {
      const t0 = performance.now();
      await warm.start(ids.slice(0, BACKGROUND));
      await waitFor(`${BACKGROUND} background sessions streaming`, async () => firstPointAt.size >= BACKGROUND, 600_000, 100);
      console.log(`${BACKGROUND} background sessions streaming after ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
    const burst = ids.slice(BACKGROUND);
    if (CAPABILITIES === 'known') for (const id of burst) devices.get(id)!.knownCapabilities = { encodings: [...SUPPORTED_ENCODINGS], gnmiVersion: GNMI_VERSION };
    const loop = monitorEventLoopDelay({ resolution: 10 });
    const cpu0 = { self: process.cpuUsage(), sim: cpuSeconds(sim.child.pid!) };
    const profileTo = process.env.BENCH_DIAL_PROFILE;
    const inspector = profileTo ? new Session() : undefined;
    if (inspector) {
      inspector.connect();
      await inspector.post('Profiler.enable');
      await inspector.post('Profiler.start');
    }
    const t0 = performance.now();
    loop.enable();
    await warm.start(burst);
    await waitFor(`${BURST} burst sessions streaming`, async () => burst.every((id) => firstPointAt.has(id)), 1_800_000, 50);
    loop.disable();
    if (inspector) fs.writeFileSync(profileTo!, JSON.stringify((await inspector.post('Profiler.stop')).profile));
    const s = (performance.now() - t0) / 1000;
    const self = process.cpuUsage(cpu0.self);
    const times = burst.map((id) => (firstPointAt.get(id)! - t0) / 1000);
    const selfCpuS = (self.user + self.system) / 1e6;
    const fig = {
      transport: gnmiTransportSetting(),
      burst: BURST,
      background: BACKGROUND,
      dialLimit: LIMIT,
      capabilities: CAPABILITIES,
      seconds: Number(s.toFixed(2)),
      streamingPerSecond: Number((BURST / s).toFixed(1)),
      firstPointP50S: Number(percentile(times, 50).toFixed(2)),
      firstPointP99S: Number(percentile(times, 99).toFixed(2)),
      eventLoopDelayP99Ms: Number((loop.percentile(99) / 1e6).toFixed(1)),
      cpuSelfPercent: Math.round((selfCpuS / s) * 100),
      // The burst's CPU per session dialled (its first points' decoding and delivery included; background streams too, when any).
      cpuSelfMsPerDial: Number(((selfCpuS * 1000) / BURST).toFixed(2)),
      cpuSimulatorPercent: Math.round(((cpuSeconds(sim.child.pid!) - cpu0.sim) / s) * 100),
      pointsReceived: points,
    };
    // End every stream at once, as a collector handing all its sessions over does: until each channel is closed.
    const tEnd = performance.now();
    warm.close();
    await waitFor('every stream ended', async () => ended >= total, 600_000, 20);
    console.log(JSON.stringify({ ...fig, endAllSeconds: Number(((performance.now() - tEnd) / 1000).toFixed(2)) }));
  } finally {
    warm.close();
    await sim.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
