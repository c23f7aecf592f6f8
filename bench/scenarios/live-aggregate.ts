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
 *
 * Where the time goes (`breakdown`): the stream is opened with `trace=1`, so each aggregate event
 * says when the hub handed its points to the aggregation, when the changes were ready and written
 * (web/app/lib/live-aggregates.server.ts AggregateTrace), and the newest sample time among its
 * points (stamped by the simulator when it emits). Per event, p50/p99 of: emit of the newest point
 * → hub (collector, batcher flush, COPY and commit, NOTIFY, the hub's read), hub → aggregated,
 * aggregated → written to the stream, written → browser, and emit → browser for that point. Per
 * step, the completion wait: a step is drawn once every series has a point in it (a total never
 * dips), so a point emitted early in the step waits for the series whose first point in the step
 * comes last (read from the stored samples afterwards): first version in the browser − step start
 * = that wait + the pipeline. The collector's event-loop delay and mean flush time are scraped.
 *
 * The target's reading (ADR 270): emit → browser of the point that completes each step (first
 * version − step start − completion wait) and of each event's newest point; the completion wait
 * is sampling, reported beside them. `extraPointsPerSecond` (BENCH_LIVE_AGG_EXTRA_POINTS) adds
 * ingest load in no widget on the same collector, database and doorbell: a second simulator of
 * devices with as many interfaces streaming out-octets at the same interval (devices rounded up;
 * their own streams: a second subscription on the widget's devices would share a stream, whose
 * simulated target skips a tick while the stream is blocked). The points written per second while
 * measuring and the load average are reported.
 */
import os from 'node:os';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS } from '../../scripts/infra/chromium';
import { waitFor } from '../../scripts/infra/proc';
import { createTestUser, signInPage } from '../../testkit/web-auth';
import { addWidget, createDashboard } from '../../storage/dashboards';
import { aggregateStepMs } from '../../web/app/lib/live-aggregates.server';
import { percentile } from '../lib/procstat';
import { scrape, sleep, type BenchSystem } from '../lib/system';
import { startLiveStack } from './live';

/** Live-aggregate options. */
export interface LiveAggregateOptions {
  devices: number;
  interfaces: number;
  intervalMs: number;
  seconds: number;
  /** The dashboard's window (ms): its step is the history's for it. */
  windowMs: number;
  /** Ingest load beside the widget's series (points/s, none of them in it): devices of `interfaces` interfaces streaming out-octets at `intervalMs`. */
  extraPointsPerSecond?: number;
}

export async function liveAggregateLatency(sys: BenchSystem, o: LiveAggregateOptions) {
  // The web app may first be rebuilt on a loaded machine: three minutes to start.
  const { chromiumPath, sim, webPort, collectorMetricsPort } = await startLiveStack(sys, o.devices, o.interfaces, 180_000);
  // One counter of every interface, every interval: in-octets (one series per interface, the widget's) and, on the extra devices, out-octets (load only).
  const oneCounter = (counter: string) => ({
    mode: 'stream' as const,
    pollIntervalMs: 10_000,
    updatesOnly: false,
    subscriptions: [{ path: `/interfaces/interface/state/counters/${counter}`, mode: 'sample' as const, sampleIntervalMs: o.intervalMs, heartbeatIntervalMs: 0, suppressRedundant: false }],
  });
  await sys.addDevices(sim.ports, oneCounter('in-octets'), { prefix: 'agg' });
  const extraDevices = Math.ceil(((o.extraPointsPerSecond ?? 0) * o.intervalMs) / 1000 / o.interfaces);
  if (extraDevices > 0) {
    const load = await sys.startSimulator(extraDevices, o.interfaces);
    await sys.addDevices(load.ports, oneCounter('out-octets'), { prefix: 'load' });
  }
  const expected = o.devices * o.interfaces;
  const path = '/interfaces/interface[name=*]/state/counters/in-octets';
  // The widget's series are resolved when the stream opens: wait until every interface has reported (and the load's, so it runs while measuring).
  const seriesOf = async (counter: string) => Number((await sys.db('series').where('path', 'like', `%/${counter}`).count<{ n: string }[]>({ n: '*' }))[0].n);
  let series = 0;
  await waitFor(
    `${expected} in-octets series`,
    async () => {
      series = await seriesOf('in-octets');
      return series >= expected;
    },
    10 * 60_000,
  );
  await waitFor(`${extraDevices * o.interfaces} out-octets series of the load`, async () => (await seriesOf('out-octets')) >= extraDevices * o.interfaces, 10 * 60_000);
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
        const w = window as unknown as { steps: Map<number, number>; firsts: Map<number, number>; traces: Array<Record<string, number>> };
        w.steps = new Map();
        w.firsts = new Map();
        w.traces = [];
        const es = new EventSource(url);
        es.onmessage = (ev) => {
          const now = Date.now();
          // Each step's first and last version: when they arrived; each event's trace with its arrival.
          for (const a of (JSON.parse(ev.data).aggregates ?? []) as Array<{ insert: Array<{ t: number }>; trace?: Record<string, number> }>) {
            for (const r of a.insert) {
              w.steps.set(r.t, now);
              if (!w.firsts.has(r.t)) w.firsts.set(r.t, now);
            }
            if (a.trace) w.traces.push({ ...a.trace, at: now });
          }
        };
      },
      { url: `${base}/api/live?dashboard=${dashboardId}&window=${o.windowMs}&trace=1` },
    );
    // The stream first sends the steps since the history's end: measure only steps that start after the first one arrived.
    await waitFor('the first aggregated step', () => page.evaluate(() => (window as unknown as { steps: Map<number, number> }).steps.size > 0), 120_000);
    const from = Date.now();
    const writtenAtStart = await scrape(collectorMetricsPort, 'ingest_points_written_total');
    const loadavgBefore = os.loadavg().map((l) => +l.toFixed(2));
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
    // The whole ingest while measuring (the widget's series and the extra counters), and the machine's load.
    const ingestPointsPerSecond = ((await scrape(collectorMetricsPort, 'ingest_points_written_total')) - writtenAtStart) / ((until - from) / 1000);
    const loadavgAfter = os.loadavg().map((l) => +l.toFixed(2));
    // Steps that ended at least 5 s before the end (their last version has had time to come).
    const seen = await page.evaluate(() => {
      const w = window as unknown as { steps: Map<number, number>; firsts: Map<number, number>; traces: Array<Record<string, number>> };
      return { arrivals: [...w.steps], firsts: [...w.firsts], traces: w.traces };
    });
    const measured = ([t]: [number, number]) => t >= from && t + stepMs < until - 5000;
    const latencies = seen.arrivals.filter(measured).map(([t, at]) => at - (t + stepMs));
    if (latencies.length === 0) throw new Error('live-aggregate: no aggregated step reached the browser while measuring');
    const breakdown = await whereTheTimeGoes(sys, { ...o, stepMs, collectorMetricsPort, firsts: seen.firsts.filter(measured), traces: seen.traces.filter((e) => e.at >= from && e.at <= until) });
    // Where the time goes: the stored lag's median series (median over the samples) and its worst series (p50 and worst over the samples).
    const storedLag = {
      p50Ms: Math.round(
        percentile(
          lags.map((l) => l.p50),
          50,
        ),
      ),
      worstSeriesP50Ms: Math.round(
        percentile(
          lags.map((l) => l.max),
          50,
        ),
      ),
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
      extraDevices,
      ingestPointsPerSecond: Math.round(ingestPointsPerSecond),
      loadavgBefore,
      loadavgAfter,
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
      breakdown,
    };
  } finally {
    await browser.close();
  }
}

/** p50/p99/max of a list of ms, rounded. */
function spread(ms: number[]) {
  return ms.length === 0 ? null : { p50: Math.round(percentile(ms, 50)), p99: Math.round(percentile(ms, 99)), max: Math.round(Math.max(...ms)) };
}

/** The breakdown described in the module comment, from the events' traces, the steps' first versions, the stored samples and the collector's metrics. */
async function whereTheTimeGoes(sys: BenchSystem, o: { intervalMs: number; stepMs: number; collectorMetricsPort: number; firsts: Array<[number, number]>; traces: Array<Record<string, number>> }) {
  const stage = (f: (e: Record<string, number>) => number) => spread(o.traces.map(f).filter((v) => Number.isFinite(v)));
  // Per step: how long after its start the last series to report in it emitted its first point there.
  const steps = o.firsts.map(([t]) => t);
  const last = steps.length
    ? await sys.db.raw(
        `SELECT (extract(epoch FROM b) * 1000)::float8 AS t, (extract(epoch FROM max(first) - b) * 1000)::float8 AS wait
           FROM (SELECT date_bin(? * INTERVAL '1 millisecond', time, TIMESTAMPTZ 'epoch') AS b, min(time) AS first
                   FROM samples s JOIN series x ON x.id = s.series_id
                  WHERE x.path LIKE '%/in-octets' AND time >= to_timestamp(?::float8 / 1000) AND time < to_timestamp(?::float8 / 1000)
                  GROUP BY x.id, 1) f
          GROUP BY b`,
        [o.stepMs, Math.min(...steps), Math.max(...steps) + o.stepMs],
      )
    : { rows: [] };
  const waitOf = new Map<number, number>((last.rows as Array<{ t: number; wait: number }>).map((r) => [Number(r.t), Number(r.wait)]));
  const withWait = o.firsts.filter(([t]) => waitOf.has(t));
  const metric = (name: string) => scrape(o.collectorMetricsPort, name).then((v) => Math.round(v * 1000));
  return {
    events: o.traces.length,
    pointsPerEvent: spread(o.traces.map((e) => e.points)),
    /** Per event, for its newest point: emit → the hub handed it over (ingest, commit, NOTIFY, the hub's read). */
    emitToHubMs: stage((e) => e.hubAt - e.newest),
    /** … split: emit → the doorbell heard by the web process (collector, batcher flush, COPY, commit, NOTIFY) … */
    emitToDoorbellMs: stage((e) => e.heardAt - e.newest),
    /** … doorbell → the shared read starts (waiting for the read before it) … */
    doorbellToReadMs: stage((e) => e.readAt - e.heardAt),
    /** … the shared read (from the oldest cursor of the subscribed series) and the rows it returned … */
    readMs: stage((e) => e.readDoneAt - e.readAt),
    rowsPerRead: spread(o.traces.map((e) => e.rows)),
    /** … read done → handed to the aggregation (other subscribers first, the cursor filter). */
    readToHubMs: stage((e) => e.hubAt - e.readDoneAt),
    /** … for its oldest point (a read may carry several flushes). */
    oldestEmitToHubMs: stage((e) => e.hubAt - e.oldest),
    aggregateMs: stage((e) => e.aggregatedAt - e.hubAt),
    writeMs: stage((e) => e.sentAt - e.aggregatedAt),
    sseToBrowserMs: stage((e) => e.at - e.sentAt),
    /** Emit of an event's newest point → the browser: the pipeline, without waiting for other series. */
    emitToBrowserMs: stage((e) => e.at - e.newest),
    /** Per step: step start → the last series' first point in it (the completion wait, about one sampling interval with devices out of phase). */
    completionWaitMs: spread(withWait.map(([t]) => waitOf.get(t)!)),
    /** Per step: its first version in the browser − (step start + completion wait): the pipeline for the point that completed it. */
    completingPointToBrowserMs: spread(withWait.map(([t, at]) => at - t - waitOf.get(t)!)),
    /** Per step: its first version in the browser − step start: emit → browser for a point emitted at the step's start. */
    stepStartToFirstVersionMs: spread(withWait.map(([t, at]) => at - t)),
    collector: {
      eventLoopDelayP50Ms: await metric('event_loop_delay_seconds{quantile="0.5"}'),
      eventLoopDelayP99Ms: await metric('event_loop_delay_seconds{quantile="0.99"}'),
      meanFlushMs: await metric('ingest_flush_latency_seconds'),
      flushIntervalMs: Number(process.env.INGEST_FLUSH_MS ?? 200),
    },
  };
}
