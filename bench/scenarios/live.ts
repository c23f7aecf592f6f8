/**
 * Scenario 5: live latency — simulator emit time (the notification timestamp)
 * to the moment a headless Chromium EventSource receives the point, under load.
 */
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, ensureChromium } from '../../scripts/infra/chromium';
import { freePort, isPortOpen, waitFor } from '../../scripts/infra/proc';
import { ensureWebBuild } from '../../scripts/infra/web-build';
import { createTestUser, signInPage } from '../../testkit/web-auth';
import { percentile } from '../lib/procstat';
import { countersProfile, scrape, sleep, type BenchSystem } from '../lib/system';
import { COUNTERS_PER_INTERFACE, setSimulatorRate } from './pipeline';

/** Live-latency options. */
export interface LiveOptions {
  devices: number;
  interfaces: number;
  intervalMs: number;
  seconds: number;
  /** Series the browser watches. */
  watch: number;
  /**
   * Points per second to offer (the capacity the pipeline scenario found in the same run): the cheap generator
   * at that rate instead of the realistic one at `intervalMs` (devices × interfaces × 7 counters per interval).
   */
  offeredPointsPerSecond?: number;
}

/**
 * The live scenarios' system: the web build and Chromium ensured, a simulator of `devices` ×
 * `interfaces`, the control worker, a collector and the web app (up within `webStartMs`).
 */
export async function startLiveStack(sys: BenchSystem, devices: number, interfaces: number, webStartMs = 60_000, simulatorEnv: Record<string, string> = {}) {
  await ensureWebBuild();
  const chromiumPath = await ensureChromium();
  const sim = await sys.startSimulator(devices, interfaces, simulatorEnv);
  sys.spawn('control', 'workers/control.ts');
  const collector = await sys.startCollector('collector');
  const webPort = await freePort();
  sys.spawn('web', 'web/server.ts', { WEB_PORT: String(webPort) });
  await waitFor('the web app', () => isPortOpen(webPort), webStartMs);
  return { chromiumPath, sim, webPort, collectorMetricsPort: collector.metricsPort };
}

export async function liveLatency(sys: BenchSystem, o: LiveOptions) {
  const rated = o.offeredPointsPerSecond !== undefined;
  const { chromiumPath, sim, webPort, collectorMetricsPort } = await startLiveStack(sys, o.devices, o.interfaces, 60_000, rated ? { SIM_GNMI_GENERATOR: 'templates' } : {});
  // Points per second at rate factor 1 (every sample interval as configured); a rated run scales it to the offered rate.
  const base = (o.devices * o.interfaces * COUNTERS_PER_INTERFACE * 1000) / o.intervalMs;
  const offered = o.offeredPointsPerSecond ?? base;
  if (rated) await setSimulatorRate(sim.controlPort, base / offered);
  const ids = await sys.addDevices(sim.ports, countersProfile(o.intervalMs), { prefix: 'live' });
  // Watch in-octets of the first interfaces of the first devices.
  let series: number[] = [];
  await waitFor(
    'series to watch',
    async () => {
      const rows = await sys.db('series').whereIn('device_id', ids).andWhere('path', 'like', '%/in-octets').orderBy('id').limit(o.watch).pluck('id');
      series = rows.map(Number);
      return series.length >= Math.min(o.watch, ids.length * o.interfaces);
    },
    60_000,
  );
  const browser = await chromium.launch({ executablePath: chromiumPath, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage();
    const base = `http://127.0.0.1:${webPort}`;
    // /api/live needs a signed-in user, like any browser. An admin first: with none, /login is the first-run page that creates one.
    await createTestUser(sys.db, 'admin');
    await signInPage(page, base, await createTestUser(sys.db, 'viewer'));
    await page.evaluate(
      ({ url }) => {
        const w = window as unknown as { latencies: number[] };
        w.latencies = [];
        const es = new EventSource(url);
        es.onmessage = (ev) => {
          const now = Date.now();
          for (const p of JSON.parse(ev.data).points as Array<{ t: number }>) w.latencies.push(now - p.t);
        };
      },
      { url: `${base}/api/live?series=${series.join(',')}&since=${Date.now()}` },
    );
    await sleep(5000); // let the stream settle, then measure
    await page.evaluate(() => ((window as unknown as { latencies: number[] }).latencies = []));
    const before = { written: await scrape(collectorMetricsPort, 'ingest_points_written_total'), dropped: await scrape(collectorMetricsPort, 'ingest_points_dropped_total'), at: performance.now() };
    await sleep(o.seconds * 1000);
    const latencies = await page.evaluate(() => (window as unknown as { latencies: number[] }).latencies);
    const seconds = (performance.now() - before.at) / 1000;
    return {
      devices: o.devices,
      watchedSeries: series.length,
      intervalMs: o.intervalMs,
      seconds: o.seconds,
      generator: rated ? 'templates' : 'realistic',
      offeredPointsPerSecond: Math.round(offered),
      // What the pipeline carried while the browser measured (the load the latency was measured under).
      writtenPointsPerSecond: Math.round(((await scrape(collectorMetricsPort, 'ingest_points_written_total')) - before.written) / seconds),
      pointsDropped: (await scrape(collectorMetricsPort, 'ingest_points_dropped_total')) - before.dropped,
      points: latencies.length,
      latencyP50Ms: Math.round(percentile(latencies, 50)),
      latencyP99Ms: Math.round(percentile(latencies, 99)),
      latencyMaxMs: Math.round(Math.max(...latencies)),
    };
  } finally {
    await browser.close();
  }
}
