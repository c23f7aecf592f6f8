/**
 * Scenario: live aggregate latency (issue 17) — one dashboard widget summing the in-octets
 * rates of every interface of the simulated fleet (default 100 devices × 100 interfaces =
 * 10,000 series, each sampled every second), computed in the web process from the live feed
 * (web/app/lib/live-aggregates.server.ts) and received by a headless Chromium's EventSource on
 * /api/live?dashboard=. A step's row is sent as soon as every series reached the step and sent
 * again as the step's later points arrive; its last version carries the step's last points, each
 * emitted at most one sampling interval before the step's end (the devices' timers are not in
 * phase). So for each step, (last version received − step end) is a lower bound of emit →
 * browser for the step's last point, and that plus the interval an upper bound; both printed.
 */
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS } from '../../scripts/infra/chromium';
import { waitFor } from '../../scripts/infra/proc';
import { createTestUser, signInPage } from '../../testkit/web-auth';
import { addWidget, createDashboard } from '../../storage/dashboards';
import { aggregateStepMs } from '../../web/app/lib/live-aggregates.server';
import { percentile } from '../lib/procstat';
import { sleep, type BenchSystem } from '../lib/system';
import { startLiveStack } from './live';

/** Live-aggregate options. */
export interface LiveAggregateOptions {
  devices: number;
  interfaces: number;
  intervalMs: number;
  seconds: number;
  /** The dashboard's window (ms): its step is the history's for it. */
  windowMs: number;
}

export async function liveAggregateLatency(sys: BenchSystem, o: LiveAggregateOptions) {
  // The web app may first be rebuilt on a loaded machine: three minutes to start.
  const { chromiumPath, sim, webPort } = await startLiveStack(sys, o.devices, o.interfaces, 180_000);
  // Only in-octets, every interval: one series per interface.
  await sys.addDevices(
    sim.ports,
    {
      mode: 'stream',
      pollIntervalMs: 10_000,
      updatesOnly: false,
      subscriptions: [{ path: '/interfaces/interface/state/counters/in-octets', mode: 'sample', sampleIntervalMs: o.intervalMs, heartbeatIntervalMs: 0, suppressRedundant: false }],
    },
    { prefix: 'agg' },
  );
  const expected = o.devices * o.interfaces;
  const path = '/interfaces/interface[name=*]/state/counters/in-octets';
  // The widget's series are resolved when the stream opens: wait until every interface has reported.
  let series = 0;
  await waitFor(
    `${expected} in-octets series`,
    async () => {
      series = Number((await sys.db('series').where('path', 'like', '%/in-octets').count<{ n: string }[]>({ n: '*' }))[0].n);
      return series >= expected;
    },
    10 * 60_000,
  );
  const user = await createTestUser(sys.db, 'admin');
  const userId = Number((await sys.db('users').where({ email: user.email }).first('id')).id);
  const dashboardId = await createDashboard(sys.db, { name: 'bench live aggregate', timeRange: '15m', live: true }, userId);
  await addWidget(sys.db, dashboardId, { title: 'Inbound, whole fleet', deviceId: null, path, aggregate: 'sum', groupBy: 'all', rate: true, chart: 'line', unit: 'bits/s', width: 12 });
  const stepMs = aggregateStepMs(o.windowMs);
  const browser = await chromium.launch({ executablePath: chromiumPath, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage();
    const base = `http://127.0.0.1:${webPort}`;
    await signInPage(page, base, user);
    await page.evaluate(
      ({ url }) => {
        const w = window as unknown as { steps: Map<number, number> };
        w.steps = new Map();
        const es = new EventSource(url);
        es.onmessage = (ev) => {
          const now = Date.now();
          // Each step's last version: when it arrived.
          for (const a of (JSON.parse(ev.data).aggregates ?? []) as Array<{ insert: Array<{ t: number }> }>) for (const r of a.insert) w.steps.set(r.t, now);
        };
      },
      { url: `${base}/api/live?dashboard=${dashboardId}&window=${o.windowMs}` },
    );
    // The stream first sends the steps since the history's end: measure only steps that start after the first one arrived.
    await waitFor('the first aggregated step', () => page.evaluate(() => (window as unknown as { steps: Map<number, number> }).steps.size > 0), 120_000);
    const from = Date.now();
    // Meanwhile, every 5 s: how far behind now each series' newest stored point is (the ingest side's share), median and worst series.
    const lags: Array<{ p50: number; max: number }> = [];
    while (Date.now() - from < o.seconds * 1000) {
      const next = Date.now() + 5000;
      const r = await sys.db.raw(
        `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY lag) AS p50, max(lag) AS max
           FROM (SELECT extract(epoch FROM now() - max(time)) * 1000 AS lag FROM samples WHERE time > now() - INTERVAL '30 seconds' GROUP BY series_id) x`,
      );
      lags.push({ p50: Number(r.rows[0].p50), max: Number(r.rows[0].max) });
      await sleep(Math.max(0, Math.min(next, from + o.seconds * 1000) - Date.now()));
    }
    const until = Date.now();
    // Steps that ended at least 5 s before the end (their last version has had time to come).
    const arrivals = await page.evaluate(() => [...(window as unknown as { steps: Map<number, number> }).steps]);
    const latencies = arrivals.filter(([t]) => t >= from && t + stepMs < until - 5000).map(([t, at]) => at - (t + stepMs));
    if (latencies.length === 0) throw new Error('live-aggregate: no aggregated step reached the browser while measuring');
    // Where the time goes: the stored lag's median series (median over the samples) and its worst series (p50 and worst over the samples).
    const storedLag = {
      p50Ms: Math.round(percentile(lags.map((l) => l.p50), 50)),
      worstSeriesP50Ms: Math.round(percentile(lags.map((l) => l.max), 50)),
      worstSeriesMaxMs: Math.round(Math.max(...lags.map((l) => l.max))),
      samples: lags.length,
    };
    return {
      devices: o.devices,
      series,
      intervalMs: o.intervalMs,
      windowMs: o.windowMs,
      stepMs,
      seconds: o.seconds,
      steps: latencies.length,
      /** Step end → its last version in the browser (lower bound of emit → browser). */
      latencyP50Ms: Math.round(percentile(latencies, 50)),
      latencyP99Ms: Math.round(percentile(latencies, 99)),
      latencyMaxMs: Math.round(Math.max(...latencies)),
      /** Plus one sampling interval: upper bound of emit → browser for the step's last point. */
      upperP50Ms: Math.round(percentile(latencies, 50)) + o.intervalMs,
      upperP99Ms: Math.round(percentile(latencies, 99)) + o.intervalMs,
      /** Now − each series' newest stored point, sampled every 5 s while measuring (ingest lag, before the web process sees it): the median series, and the slowest series (which completes a step). */
      storedLag,
    };
  } finally {
    await browser.close();
  }
}
