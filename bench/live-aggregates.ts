/**
 * Live-aggregate benchmark (issue 17; standalone, not part of the test run): the web process's
 * live aggregates (web/app/lib/live-aggregates.server.ts) over BENCH_LIVE_AGG_SERIES interface
 * counters (default 10,000: 100 devices × 100 interfaces, 5 sites) behind two widgets — the
 * fleet total and the sum per site of the in-octets rates. Every second a tick of every series
 * is written (one statement) and the ingest doorbell rung; the figure is the time from the
 * doorbell to the aggregated step of that tick handed to the stream (the SSE write and the
 * browser are not included), p50/p99/max over BENCH_LIVE_AGG_TICKS ticks, with the web-side
 * heap after them. Writes its JSON to bench/results/.
 *
 *   DATABASE_URL=postgres://… node --import tsx bench/live-aggregates.ts
 */
import { performance } from 'node:perf_hooks';
import { SAMPLES_CHANNEL } from '../core/names';
import { migrateLatest } from '../migrations/index';
import { LiveHub } from '../web/app/lib/live-hub.server';
import { subscribeAggregate } from '../web/app/lib/live-aggregates.server';
import { openScratch, runBench } from './support/scratch';
import { seedInterfaceSeries } from './support/interface-fleet';
import { writeBenchResult } from './lib/results';

const SERIES = Number(process.env.BENCH_LIVE_AGG_SERIES ?? 10_000);
const TICKS = Number(process.env.BENCH_LIVE_AGG_TICKS ?? 30);
const PER_DEVICE = 100;

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(xs.length * p) - 1)];

async function main() {
  const scratch = await openScratch('bench_live_agg', 2, 4);
  const { db, pool } = scratch;
  const hub = new LiveHub({ pool, connectionString: scratch.url });
  try {
    await migrateLatest(db, { storageTimescaledb: 'off' });
    const devices = Math.ceil(SERIES / PER_DEVICE);
    await seedInterfaceSeries(pool, { devices, interfaces: PER_DEVICE, sites: 5 });
    const ids = (await pool.query<{ id: string }>('SELECT id FROM series ORDER BY id LIMIT $1', [SERIES])).rows.map((r) => Number(r.id));
    console.log(`${ids.length} series on ${devices} devices`);

    const t0 = Math.floor(Date.now() / 1000) * 1000 + 1000;
    const arrived = new Map<number, number>(); // step → when the per-site step of it was handed on (all sites)
    const sites = new Map<number, Set<string>>();
    const query = { path: '/interfaces/interface[name=*]/state/counters/in-octets', rate: true };
    const subs = [
      await subscribeAggregate(hub, pool, { query: { ...query, agg: 'sum' as const }, stepMs: 1000, since: t0 - 1, deliver: () => true }),
      await subscribeAggregate(hub, pool, {
        query: { ...query, agg: 'sum' as const, groupBy: 'site' },
        stepMs: 1000,
        since: t0 - 1,
        deliver: (ch) => {
          for (const r of ch.insert) {
            const seen = sites.get(r.t) ?? new Set<string>();
            seen.add(r.series);
            sites.set(r.t, seen);
            if (seen.size === 5 && !arrived.has(r.t)) arrived.set(r.t, performance.now());
          }
          return true;
        },
      }),
    ];
    console.log(`subscribed: ${subs.map((s) => `${s.seriesCount} series → ${s.groups.length} lines`).join(', ')}`);

    const rung = new Map<number, number>();
    for (let k = 0; k < TICKS; k++) {
      const t = t0 + k * 1000;
      const wait = t - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      await pool.query(`INSERT INTO samples (time, series_id, value) SELECT to_timestamp($2::float8 / 1000), s, s * 1000 * $3::float8 FROM unnest($1::bigint[]) s`, [ids, t, k]);
      rung.set(t, performance.now());
      await pool.query('SELECT pg_notify($1, $2)', [SAMPLES_CHANNEL, '*']);
    }
    const deadline = Date.now() + 30_000;
    while (arrived.size < TICKS - 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    // The first tick has no rate yet: latencies from the second on.
    const ms = [...rung].filter(([t]) => t > t0 && arrived.has(t)).map(([t, at]) => arrived.get(t)! - at);
    const at = new Date().toISOString();
    const result = {
      benchmark: 'live-aggregates',
      at,
      series: ids.length,
      ticks: TICKS,
      stepsArrived: ms.length,
      p50Ms: +pct(ms, 0.5).toFixed(1),
      p99Ms: +pct(ms, 0.99).toFixed(1),
      maxMs: +Math.max(...ms).toFixed(1),
      heapUsedMiB: +(process.memoryUsage().heapUsed / 2 ** 20).toFixed(1),
    };
    console.log(JSON.stringify(result));
    writeBenchResult('live-aggregates', at, result);
    for (const s of subs) s.stop();
  } finally {
    await hub.close();
    await scratch.close();
  }
}

runBench(main);
