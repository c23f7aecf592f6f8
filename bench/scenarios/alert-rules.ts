/**
 * Alert rule workflows benchmark (issue 18, ADR 190; not part of the test run): BENCH_RULES
 * (default 1,000) alert-rule workflows on a real Temporal dev server and the real control
 * worker process, over 10,000 in-octets series (1,000 devices × 10 interfaces, 10 sites) in a
 * throwaway PostgreSQL (either storage mode) that go on receiving a sample each every 10 s. The rules
 * are drawn from a few shared questions (rate max by site, rate summed by interface[name],
 * rate averaged fleet-wide, the raw counter's max by site; all over the last minute) with
 * different thresholds, severities and `for`, at intervals of 30 s, 60 s and 120 s. After a
 * warm-up of one longest interval, over BENCH_ALERT_SECONDS it reports: evaluations per
 * second, database time per second (pg_stat_database active_time of the database: every
 * statement, the ingest of the samples and the rules' state records included), the fleet
 * queries run against the rules evaluated (the control worker's per-minute figures), workflow
 * tasks per second (Temporal's frontend), control worker and Temporal CPU and RSS, lateness
 * of the aligned evaluations (activity start − when it was due: the step plus the rule's
 * phase, ADR 225) and the step's age at the start, p50/p99 per minute, and the load average. `npm run bench -- alert-rules`, or standalone
 * `node --import tsx bench/alert-rules.ts` (bench/results/alert-rules-<time>.json); knobs
 * BENCH_RULES, BENCH_ALERT_SECONDS, BENCH_DEVICES, BENCH_ALERT_EVAL_CONCURRENCY.
 */
import os from 'node:os';
import { createAlertRule } from '../../storage/alerts';
import { startAlertRule } from '../../temporal/alert-client';
import { createPool } from '../../storage/pool';
import type { AlertSpec } from '../../core/alert-rules';
import { sleep, type BenchSystem } from '../lib/system';
import { CpuMeter, percentile, rssBytes } from '../lib/procstat';
import { frontendRequests, requestsBetween } from '../lib/temporal-metrics';
import { appendInterfaceSamples, seedInterfaceFleet } from '../support/interface-fleet';

/** The scenario's sizes from BENCH_* (bench/README.md). */
export function alertRulesOptions() {
  return {
    rules: Number(process.env.BENCH_RULES ?? 1000),
    devices: Number(process.env.BENCH_DEVICES ?? 1000),
    seconds: Number(process.env.BENCH_ALERT_SECONDS ?? 300),
    evalConcurrency: process.env.BENCH_ALERT_EVAL_CONCURRENCY ?? '3',
  };
}
const INTERVALS_S = [30, 60, 120];
const PATH = '/interfaces/interface[name=*]/state/counters/in-octets';
/** The shared questions; a rule's comparison is its own. Rates are 1,250–8,750 octets/s a series. */
const QUESTIONS: Array<{ name: string; spec: (threshold: number) => AlertSpec; scale: number }> = [
  { name: 'rate max by site', spec: (t) => ({ kind: 'threshold', path: PATH, rate: true, agg: 'max', groupBy: 'site', op: '>', threshold: t, windowMs: 60_000 }), scale: 10_000 },
  { name: 'rate sum by interface[name]', spec: (t) => ({ kind: 'threshold', path: PATH, rate: true, agg: 'sum', groupBy: 'interface[name]', op: '>', threshold: t, windowMs: 60_000 }), scale: 5e6 },
  { name: 'rate avg fleet-wide', spec: (t) => ({ kind: 'threshold', path: PATH, rate: true, agg: 'avg', op: '<', threshold: t, windowMs: 60_000 }), scale: 10_000 },
  { name: 'counter max by site', spec: (t) => ({ kind: 'threshold', path: PATH, rate: false, agg: 'max', groupBy: 'site', op: '>', threshold: t, windowMs: 60_000 }), scale: 3e13 },
];

/** One line of the control worker's per-minute evaluation figures (activities/alerts.ts). */
interface Figures {
  time: string;
  periodMs: number;
  evaluations: number;
  aligned: number;
  computed: Record<string, number>;
  sharedAnswers: number;
  failedQueries: number;
  latenessP50Ms: number | null;
  latenessP99Ms: number | null;
  /** Start − the step (absent before ADR 225, when it was the lateness). */
  stepAgeP50Ms?: number | null;
  stepAgeP99Ms?: number | null;
  durationP50Ms: number | null;
  durationP99Ms: number | null;
}

/** Run the scenario on a started system (either storage mode, migrated; no control worker yet); its figures. */
export async function alertRules(sys: BenchSystem, o: ReturnType<typeof alertRulesOptions>) {
  const { rules: RULES, devices: DEVICES, seconds: SECONDS, evalConcurrency: EVAL_CONCURRENCY } = o;
  const t0 = performance.now();
  const loadBefore = os.loadavg();
  const pool = createPool(sys.services.databaseUrl, 2);
  let feeding = true;
  try {
    const seeded = await seedInterfaceFleet(pool, { devices: DEVICES, interfaces: 10, sites: 10, minutes: 3 });
    process.stderr.write(`seeded ${DEVICES} devices, ${seeded.series.toLocaleString('en')} series, ${seeded.samples.toLocaleString('en')} samples (${((performance.now() - t0) / 1000).toFixed(0)} s)\n`);
    // The counters go on: a sample of every series every 10 s.
    const feeder = (async () => {
      while (feeding) {
        const next = Date.now() + 10_000;
        await appendInterfaceSamples(pool);
        while (feeding && Date.now() < next) await sleep(Math.min(500, next - Date.now()));
      }
    })();

    const figures: Figures[] = [];
    const control = sys.spawn('control', 'workers/control.ts', { LOG_LEVEL: 'info', LOG_FORMAT: 'json', ALERT_EVAL_CONCURRENCY: EVAL_CONCURRENCY });
    let partial = '';
    control.child.stderr!.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.includes('"alert evaluation figures"')) continue;
        try {
          figures.push(JSON.parse(line) as Figures);
        } catch {
          /* not a whole JSON line */
        }
      }
    });

    // Rules: question i % 4, interval by (i / 4) % 3, thresholds spread so that some fire.
    const rules = [];
    for (let i = 0; i < RULES; i++) {
      const q = QUESTIONS[i % QUESTIONS.length];
      const intervalS = INTERVALS_S[Math.floor(i / QUESTIONS.length) % INTERVALS_S.length];
      const threshold = Math.round(q.scale * (0.5 + ((i * 7919) % 1000) / 1000));
      rules.push(
        await createAlertRule(sys.db, {
          name: `bench ${i} ${q.name} every ${intervalS}s`,
          spec: q.spec(threshold),
          severity: (['critical', 'warning', 'info'] as const)[i % 3],
          forMs: (i % 4) * 30_000,
          intervalMs: intervalS * 1000,
          labels: { bench: 'alert-rules' },
          contactPointId: null,
          enabled: true,
        }),
      );
    }
    let t = performance.now();
    for (let i = 0; i < rules.length; i += 50) await Promise.all(rules.slice(i, i + 50).map((r) => startAlertRule(sys.client, r, { maxEvaluations: 500 })));
    process.stderr.write(`${rules.length} rule workflows started in ${((performance.now() - t) / 1000).toFixed(1)} s; warming up ${Math.max(...INTERVALS_S)} s\n`);
    await sleep(Math.max(...INTERVALS_S) * 1000 + 5_000);

    // The measured window.
    const controlPid = control.child.pid!;
    const cpu = new CpuMeter(() => ({ control: [controlPid], temporal: sys.temporalPids() }));
    const dbTime = async () =>
      Number((await pool.query<{ t: string }>('SELECT active_time AS t FROM pg_stat_database WHERE datname = current_database()')).rows[0].t);
    const figuresBefore = figures.length;
    const requestsBefore = await frontendRequests(sys.temporalMetricsPort);
    const activeBefore = await dbTime();
    cpu.begin();
    t = performance.now();
    const rss: Record<string, number[]> = { control: [], temporal: [] };
    while (performance.now() - t < SECONDS * 1000) {
      rss.control.push(rssBytes(controlPid));
      rss.temporal.push(sys.temporalPids().reduce((a, p) => a + rssBytes(p), 0));
      await sleep(5_000);
    }
    const seconds = (performance.now() - t) / 1000;
    const cpuPct = cpu.end();
    const activeMs = (await dbTime()) - activeBefore;
    const requests = requestsBetween(requestsBefore, await frontendRequests(sys.temporalMetricsPort));
    // Per-minute figures logged inside the window (a line covers the minute before it): a window under 2 minutes has none.
    const lines = figures.slice(figuresBefore + 1);
    const sum = (f: (x: Figures) => number) => lines.reduce((a, x) => a + f(x), 0);
    const linesMs = sum((x) => x.periodMs);
    const evaluations = sum((x) => x.evaluations);
    const fleetQueries = sum((x) => x.computed.fleet ?? 0);
    const result = {
      benchmark: 'alert-rules',
      at: new Date().toISOString(),
      rules: RULES,
      questions: QUESTIONS.map((q) => q.name),
      intervalsS: INTERVALS_S,
      evalConcurrency: Number(EVAL_CONCURRENCY),
      fleet: { devices: DEVICES, series: seeded.series, sampleEveryS: 10 },
      windowS: +seconds.toFixed(0),
      // Expected evaluations per second: each rule once per its interval.
      expectedEvaluationsPerSecond: +rules.reduce((a, r) => a + 1000 / r.intervalMs, 0).toFixed(2),
      evaluationsPerSecond: linesMs ? +(evaluations / (linesMs / 1000)).toFixed(2) : null,
      fleetQueriesPerSecond: linesMs ? +(fleetQueries / (linesMs / 1000)).toFixed(3) : null,
      rulesEvaluatedPerFleetQuery: fleetQueries ? +(evaluations / fleetQueries).toFixed(1) : null,
      computedByKind: lines.reduce<Record<string, number>>((a, x) => {
        for (const [k, n] of Object.entries(x.computed)) a[k] = (a[k] ?? 0) + n;
        return a;
      }, {}),
      databaseSecondsPerSecond: +(activeMs / 1000 / seconds).toFixed(3),
      workflowTasksPerSecond: +((requests.RespondWorkflowTaskCompleted ?? 0) / seconds).toFixed(1),
      activityTasksPerSecond: +((requests.RespondActivityTaskCompleted ?? 0) / seconds).toFixed(1),
      temporalRequestsPerSecond: +(Object.values(requests).reduce((a, b) => a + b, 0) / seconds).toFixed(1),
      cpuPercent: cpuPct,
      rssMiB: Object.fromEntries(Object.entries(rss).map(([k, v]) => [k, { max: +(Math.max(...v) / 2 ** 20).toFixed(0), last: +(v[v.length - 1] / 2 ** 20).toFixed(0) }])),
      lateness: {
        p50MsPerMinute: lines.map((x) => x.latenessP50Ms),
        p99MsPerMinute: lines.map((x) => x.latenessP99Ms),
        p50Ms: percentile(lines.map((x) => x.latenessP50Ms ?? NaN).filter(Number.isFinite), 50),
        p99MsWorstMinute: lines.length ? Math.max(...lines.map((x) => x.latenessP99Ms ?? 0)) : null,
      },
      // How old the step is when its evaluation starts: the lateness plus the rule's phase (ADR 225).
      stepAge: {
        p50MsPerMinute: lines.map((x) => x.stepAgeP50Ms ?? x.latenessP50Ms),
        p99MsPerMinute: lines.map((x) => x.stepAgeP99Ms ?? x.latenessP99Ms),
      },
      evaluationMs: { p50PerMinute: lines.map((x) => x.durationP50Ms), p99PerMinute: lines.map((x) => x.durationP99Ms) },
      perMinute: lines,
      loadAverage: { before: loadBefore.map((x) => +x.toFixed(1)), after: os.loadavg().map((x) => +x.toFixed(1)) },
    };
    process.stderr.write(JSON.stringify({ ...result, perMinute: undefined }, null, 2) + '\n');
    feeding = false;
    await feeder;
    return result;
  } finally {
    feeding = false;
    await pool.end();
  }
}
