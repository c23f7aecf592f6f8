/**
 * Scenario 4: kill -9 (then SIGTERM) the collector holding the most sessions;
 * for every session it held, the time its points stopped until they flowed
 * again from the other collector, and the samples missing meanwhile. With
 * placement (ADR 110, the default; BENCH_FAILOVER_PLACEMENT=false for the shared
 * queue) also: a third collector joining the loaded pair (time until each holds
 * its share ±10 %, most moves in flight) and a drain (time until empty).
 * Scenario `rolling` (on demand) starts the same fleet and restarts every
 * collector in turn: a replacement started, the old one drained, then stopped.
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { freePort, type ManagedChild } from '../../scripts/infra/proc';
import { CpuMeter, percentile } from '../lib/procstat';
import { CpuTimeline, type CpuSlice } from '../lib/cpu-timeline';
import { countersProfile, scrape, scrapeByLabel, sleep, type BenchSystem } from '../lib/system';
import { round } from './pipeline';
import { PLACEMENT_ASK_REASONS, withinShare } from '../../core/placement';
import { listCollectors, setDraining } from '../../storage/collectors';
import { frontendRequests, requestsBetween } from '../lib/temporal-metrics';
import { collectorName, streamingOn } from '../lib/collectors';
import { rampGivesUp } from '../lib/ramp';
import { finalCounters } from '../../testkit/collector-final';
import { loadConfig } from '../../core/config';

const PATH = '/interfaces/interface[name=Ethernet1]/state/counters/in-octets';

/** Failover options. */
export interface FailoverOptions {
  devices: number;
  /** Simulated interfaces per device (each about 8 counters every `intervalMs`). */
  interfaces?: number;
  intervalMs: number;
  heartbeatTimeoutMs: number;
  /** Place sessions on chosen collectors (ADR 110); false: the shared queue, failover by heartbeat timeout. */
  placement?: boolean;
  /** PLACEMENT_MAX_MOVES of the control worker. */
  maxMoves?: number;
  /** COLLECTOR_MAX_SESSIONS of each collector (default: the device count, at least 1,000, so the survivor of the kill -9 can hold all). */
  capacity?: number;
  /** With placement: a collector joins the loaded fleet in the killed one's place, then is drained (false: skipped, the SIGTERM then hits the collector holding most). */
  join?: boolean;
  /**
   * Collectors sharing the sessions (default 2). A kill -9 moves the victim's share over the others: with two the survivor
   * dials all of it, with more each dials its part (docs/sessions.md, what kill -9 at 5,000 needs).
   */
  collectors?: number;
  /**
   * Pin the simulator to CPU 0 and every collector to CPU 1 (`taskset`; PostgreSQL, Temporal and the control worker stay
   * unpinned): whether the one simulator process serving every device sets the pace of a kill -9 at 5,000.
   */
  pin?: boolean;
  /** How long the ramp may take until every session streams (default 90 s + 250 ms per device: 1,340 s at 5,000). */
  rampMs?: number;
}

/** Pin a process and all its threads (and what it starts later) to one CPU. */
function pinTo(pid: number, cpu: number): void {
  execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' });
}

/**
 * The control worker's placement counters (ADR 260): placeSession calls by why the attempt asked
 * (no placement made ahead, one refused, how the previous attempt ended) and the transactions they ran.
 */
async function placementAsked(controlPort: number): Promise<{ transactions: number; byReason: Record<string, number> }> {
  const reasons = [...PLACEMENT_ASK_REASONS, 'unnamed'];
  const [transactions, ...counts] = await Promise.all([scrape(controlPort, 'placement_transactions_total'), ...reasons.map((r) => scrape(controlPort, `placement_asked_total{reason="${r}"}`))]);
  return { transactions, byReason: Object.fromEntries(reasons.map((r, i) => [r, counts[i]])) };
}

/** What counters keyed by a label grew by between two readings (keys that did not grow left out). */
function grewBy(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(b).flatMap(([k, n]) => (n - (a[k] ?? 0) > 0 ? [[k, n - (a[k] ?? 0)]] : [])));
}

/** What the placement counters grew by between two readings (reasons that did not grow left out). */
function askedBetween(a: Awaited<ReturnType<typeof placementAsked>>, b: Awaited<ReturnType<typeof placementAsked>>) {
  const byReason = grewBy(a.byReason, b.byReason);
  return { asked: Object.values(byReason).reduce((x, y) => x + y, 0), transactions: b.transactions - a.transactions, byReason };
}

/** Streaming sessions per collector, waited for until `done` holds; returns the time taken and the most moves seen in flight. */
async function until(sys: BenchSystem, collectors: Array<{ metricsPort: number }>, done: (counts: number[]) => boolean, timeoutMs: number) {
  const started = Date.now();
  let mostInFlight = 0;
  let counts: number[] = [];
  while (Date.now() - started < timeoutMs) {
    counts = await Promise.all(collectors.map((c) => streamingOn(c.metricsPort).catch(() => 0)));
    const res = await sys.db.raw(`SELECT count(*)::int AS n FROM session_placements WHERE move_requested_at IS NOT NULL`);
    mostInFlight = Math.max(mostInFlight, res.rows[0].n);
    if (done(counts)) return { ms: Date.now() - started, counts, mostInFlight, done: true };
    await sleep(250);
  }
  return { ms: Date.now() - started, counts, mostInFlight, done: false };
}

/**
 * Largest gap between consecutive Ethernet1 in-octets samples per device, in [from, to], counting
 * from `from` to its first sample too (a device whose stored data already lagged when the window
 * began has a hole there, which consecutive samples alone never show); with `open`, a device also
 * counts its open gap (to − its last sample): used when not every device was back by the deadline,
 * where leaving them out read a hand-over still under way as a short one. A device with no sample in
 * the window is left out.
 */
async function gaps(sys: BenchSystem, deviceIds: number[], from: number, to: number, open = false): Promise<Map<number, number>> {
  // The probe series first: with thousands of devices the window holds millions of other samples.
  const res = await sys.db.raw(
    `WITH probe AS (SELECT id, device_id FROM series WHERE path = ? AND device_id = ANY(?))
     SELECT probe.device_id, greatest(max(g), extract(epoch FROM min(time) - to_timestamp(?::float8 / 1000)) * 1000,
                                      CASE WHEN ? THEN extract(epoch FROM to_timestamp(?::float8 / 1000) - max(time)) * 1000 END) AS gap FROM (
       SELECT series_id, time, extract(epoch FROM time - lag(time) OVER (PARTITION BY series_id ORDER BY time)) * 1000 AS g
         FROM samples WHERE series_id IN (SELECT id FROM probe)
          AND time BETWEEN to_timestamp(?::float8 / 1000) AND to_timestamp(?::float8 / 1000)
     ) x JOIN probe ON probe.id = x.series_id
     GROUP BY probe.device_id`,
    [PATH, deviceIds, from, open, to, from, to],
  );
  return new Map(res.rows.map((r: { device_id: number; gap: number }) => [r.device_id, Number(r.gap)]));
}

/**
 * Per device, the two halves of its gap around `atMs` (the signal): how old its newest stored probe sample was at that
 * moment, and how long after it the first sample with a later device timestamp came. A kill -9 loses what the victim
 * received but had not stored, which shows in the first half; the redial and first point show in the second.
 */
async function gapHalves(sys: BenchSystem, deviceIds: number[], atMs: number, toMs: number): Promise<Map<number, { ageMs: number; nextMs: number }>> {
  const res = await sys.db.raw(
    `WITH probe AS (SELECT id, device_id FROM series WHERE path = ? AND device_id = ANY(?))
     SELECT probe.device_id,
            extract(epoch FROM to_timestamp(?::float8 / 1000) - max(x.time) FILTER (WHERE x.time <= to_timestamp(?::float8 / 1000))) * 1000 AS age,
            extract(epoch FROM min(x.time) FILTER (WHERE x.time > to_timestamp(?::float8 / 1000)) - to_timestamp(?::float8 / 1000)) * 1000 AS next
       FROM samples x JOIN probe ON probe.id = x.series_id
      WHERE x.time BETWEEN to_timestamp(?::float8 / 1000) AND to_timestamp(?::float8 / 1000)
      GROUP BY probe.device_id`,
    [PATH, deviceIds, atMs, atMs, atMs, atMs, atMs - 300_000, toMs],
  );
  const out = new Map<number, { ageMs: number; nextMs: number }>();
  for (const r of res.rows as Array<{ device_id: number; age: number | null; next: number | null }>) out.set(Number(r.device_id), { ageMs: Number(r.age ?? NaN), nextMs: Number(r.next ?? NaN) });
  return out;
}

/** p50/p99 of each half of the gaps of `devices` (devices without a sample on one side are left out of that side). */
function halvesFigures(halves: Map<number, { ageMs: number; nextMs: number }>, devices: number[]) {
  const known = devices.flatMap((id) => halves.get(id) ?? []);
  const ages = known.map((h) => h.ageMs).filter(Number.isFinite);
  const nexts = known.map((h) => h.nextMs).filter(Number.isFinite);
  return {
    lastStoredAgeP50Ms: Math.round(percentile(ages, 50)),
    lastStoredAgeP99Ms: Math.round(percentile(ages, 99)),
    firstAfterP50Ms: Math.round(percentile(nexts, 50)),
    firstAfterP99Ms: Math.round(percentile(nexts, 99)),
  };
}

/** A collector's live row in the registry (its id ends with its process id), if it has one. */
async function registryRow(sys: BenchSystem, collector: ManagedChild) {
  return (await listCollectors(sys.db)).find((c) => c.live && c.id.endsWith(`-${collector.child.pid}`));
}

/** A signalled collector's row after the step: its lease's end and the liveness lock's first missing mark, in ms after `signalledAt`. */
async function detectionOf(sys: BenchSystem, id: string, signalledAt: number): Promise<{ leaseEndedAfterMs?: number; lockMissingSeenAfterMs?: number } | undefined> {
  const { rows } = await sys.db.raw(
    `SELECT (extract(epoch FROM lease_until) * 1000)::float8 AS lease_until_ms, (extract(epoch FROM liveness_missing_at) * 1000)::float8 AS missing_ms FROM collectors WHERE id = ?`,
    [id],
  );
  if (!rows.length) return undefined;
  const after = (ms: number | null) => (ms === null ? undefined : Math.round(Number(ms) - signalledAt));
  return { leaseEndedAfterMs: after(rows[0].lease_until_ms), lockMissingSeenAfterMs: after(rows[0].missing_ms) };
}

/**
 * The devices placed on a collector (session_placements by its task queue), read before a step sets the move going;
 * `undefined` when it has no live registry row or no placements (placement off: the shared queue).
 */
async function placedOn(sys: BenchSystem, row: { taskQueue: string } | undefined): Promise<number[] | undefined> {
  if (!row) return undefined;
  const ids = (await sys.db.raw(`SELECT device_id FROM session_placements WHERE task_queue = ?`, [row.taskQueue])).rows.map((r: { device_id: number }) => Number(r.device_id));
  return ids.length ? ids : undefined;
}

/** p50/p99/max of the largest gap per session, in ms. */
function gapFigures(gapsMs: number[]) {
  return { gapP50Ms: Math.round(percentile(gapsMs, 50)), gapP99Ms: Math.round(percentile(gapsMs, 99)), gapMaxMs: Math.round(Math.max(0, ...gapsMs)) };
}

/** One hand-over to measure: what sets it going, from which collector, and when it counts as done. */
interface HandOverStep {
  /** Names the step in the log ('SIGKILL', 'SIGTERM', 'drain'). */
  label: string;
  /** Index in `collectors` of the collector the sessions leave; the others receive them. */
  leavingIndex: number;
  /** Sessions the leaving collector streamed when the step began. */
  leavingSessions: number;
  /** Sets the move going (a signal, the draining flag). */
  start: () => Promise<void>;
  /** The devices whose sessions leave, when known; otherwise the devices with the largest gaps, `leavingSessions` of them. */
  moving?: number[];
  /** Besides every device fresh again, what must hold before the move counts as done (default: 3 s since the start). */
  handedOver?: () => boolean;
}

/** One CPU slice of a step, as the step's line prints it: simulator / receiving / leaving / PostgreSQL / Temporal / machine. */
function sliceText(label: string, x: CpuSlice | undefined): string {
  return `${label} ${x?.simulator}/${x?.receivingCollectors}/${x?.leavingCollector}/${x?.postgres}/${x?.temporal}/${x?.machine}`;
}

/**
 * Measure one hand-over of the sessions on `collectors[step.leavingIndex]` to the others: per moving
 * session the largest gap in its stored points and the delay it added beyond one sample interval, the
 * points the receiving collectors got twice, their warm hand-overs (ADR 235), the placements made and
 * the placeSession asks by reason (ADR 260), until every device is fresh again and once the move settled.
 */
async function handOver(sys: BenchSystem, ids: number[], o: FailoverOptions, collectors: Array<ManagedChild & { metricsPort: number }>, controlPort: number, simulatorPid: number, step: HandOverStep) {
  const { label } = step;
  const others = collectors.filter((_, i) => i !== step.leavingIndex);
  const sumOthers = (name: string) => Promise.all(others.map((c) => scrape(c.metricsPort, name).catch(() => 0))).then((n) => n.reduce((a, b) => a + b, 0));
  const duplicates = () => sumOthers('ingest_points_duplicate_total');
  /** Warm hand-overs on the collectors taking the sessions (ADR 235): dialled when placed, adopted by their attempts, ended unadopted. */
  const warm = async () => {
    const [starts, adopted, ended, skipped] = await Promise.all(['session_warm_starts_total', 'session_warm_adopted_total', 'session_warm_ended_total', 'session_warm_skipped_total'].map(sumOthers));
    return { starts, adopted, ended, skipped };
  };
  /** Attempts that ended in an error on the collectors taking the sessions, by the error's code (session_failures_total). */
  const failures = async () => {
    const byCode: Record<string, number> = {};
    for (const c of others) for (const [code, n] of Object.entries(await scrapeByLabel(c.metricsPort, 'session_failures_total', 'code').catch(() => ({})))) byCode[code] = (byCode[code] ?? 0) + n;
    return byCode;
  };
  const leaving = collectors[step.leavingIndex];
  // The leaving collector counts nothing once it has exited (a kill -9 at once); PostgreSQL is the whole cluster (the points,
  // and with the Temporal server its persistence too).
  const groups = () => ({
    simulator: [simulatorPid],
    receivingCollectors: others.map((c) => c.child.pid!),
    leavingCollector: [leaving.child.pid!],
    postgres: sys.postgresPids(),
    temporal: sys.temporalPids(),
  });
  // The 5 s before the signal: whether the machine had room before the move began.
  const baseline = new CpuTimeline(groups, 5000);
  const requestsAtBaseline = await frontendRequests(sys.temporalMetricsPort);
  const baselineFrom = Date.now();
  baseline.start();
  await sleep(5000);
  const cpuBefore = baseline.stop()[0];
  const requestsBefore = steadyRequests(requestsBetween(requestsAtBaseline, await frontendRequests(sys.temporalMetricsPort)), (Date.now() - baselineFrom) / 1000, ids.length);
  // Lost sessions told by the control worker, at once or after their new streams came up (ADR 297).
  const lostTold = () => scrapeByLabel(controlPort, 'placement_lost_told_total', 'when').catch(() => ({}) as Record<string, number>);
  const [requests0, duplicates0, warm0, asked0, failures0, told0] = await Promise.all([
    frontendRequests(sys.temporalMetricsPort),
    duplicates(),
    warm(),
    placementAsked(controlPort),
    failures(),
    lostTold(),
  ]);
  // Make before break on the leaving collector (ADR 236): its streams ended because the new collector streamed the device
  // (`up`) or at the bound. It may exit any moment (SIGTERM), so it is read every 100 ms and the last reading kept (a
  // collector that hands over and exits within one reading leaves nothing: 20 sessions did).
  const handoversEnded = () => scrapeByLabel(leaving.metricsPort, 'session_handovers_total', 'ended');
  const handovers0 = await handoversEnded().catch(() => ({}));
  // Streams it was already keeping for a new collector (rebalancing towards one that just joined) when the step began.
  const waitingAtStart = await scrape(leaving.metricsPort, 'session_handovers_waiting').catch(() => NaN);
  let handovers1: Record<string, number> = handovers0;
  const handoverReader = setInterval(
    () =>
      void handoversEnded().then(
        (h) => (handovers1 = h),
        () => undefined,
      ),
    100,
  );
  // CPU of the device side (the one simulator process), of the receiving collectors and of Temporal while the move is under way.
  const meter = new CpuMeter(groups);
  meter.begin();
  // The same in 5 s slices, with the whole machine: a saturated burst in the first seconds shows (the window's average hides it).
  const timeline = new CpuTimeline(groups, 5000);
  timeline.start();
  const before = Date.now();
  const loadAtStart = os.loadavg()[0];
  await step.start();
  // Wait for every device to have fresh points again (and the step's own condition), then measure gaps.
  const handedOver = step.handedOver ?? (() => Date.now() - before > 3000);
  const deadline = Date.now() + o.heartbeatTimeoutMs * 4 + 60_000 + o.devices * 30;
  let recovered = false;
  let recoveredAfterMs: number | undefined;
  for (;;) {
    const res = await sys.db.raw(
      `SELECT count(DISTINCT s.device_id)::int AS n FROM samples x JOIN series s ON s.id = x.series_id
        WHERE s.path = ? AND s.device_id = ANY(?) AND x.time > to_timestamp(?::float8 / 1000)`,
      // Fresh: a sample since the start, within two intervals (at least 2 s).
      [PATH, ids, Math.max(before, Date.now() - Math.max(2000, 2 * o.intervalMs))],
    );
    recovered = res.rows[0].n === ids.length && handedOver();
    if (recovered) {
      recoveredAfterMs = Date.now() - before;
      break;
    }
    if (Date.now() > deadline) break;
    await sleep(500);
  }
  const windowS = (Date.now() - before) / 1000;
  clearInterval(handoverReader);
  const handoversByEnd = grewBy(handovers0, handovers1);
  const cpuUntilRecovered = meter.end();
  const cpuSlices = timeline.stop();
  const requests = requestsBetween(requests0, await frontendRequests(sys.temporalMetricsPort));
  const requestsDuring = steadyRequests(requests, windowS, ids.length);
  const asked = askedBetween(asked0, await placementAsked(controlPort));
  // Placements made since the start: one transaction's rows share its placed_at (the monitor places a lost collector's sessions in one).
  const placedSince = async () =>
    (
      await sys.db.raw(
        `SELECT count(*)::int AS n, count(DISTINCT placed_at)::int AS transactions,
                extract(epoch FROM max(placed_at) - to_timestamp(?::float8 / 1000)) * 1000 AS last_ms
           FROM session_placements WHERE placed_at > to_timestamp(?::float8 / 1000)`,
        [before, before],
      )
    ).rows[0] as { n: number; transactions: number; last_ms: number | null };
  const placed = await placedSince();
  await sleep(2000);
  const receivedTwice = (await duplicates()) - duplicates0;
  const warm1 = await warm();
  const warmDelta = { starts: warm1.starts - warm0.starts, adopted: warm1.adopted - warm0.adopted, ended: warm1.ended - warm0.ended, skipped: warm1.skipped - warm0.skipped };
  // Every device's largest gap over the same window: the moving sessions', and as a baseline the staying sessions' (the
  // simulator's timers running late and the receiving collectors' ingest stalls reach them too, the move does not).
  const g = await gaps(sys, ids, before - Math.max(5000, 2 * o.intervalMs), Date.now(), !recovered);
  const movingSet = step.moving ? new Set(step.moving) : undefined;
  // The sessions that moved: the devices named, else the devices with the largest gaps.
  const moved = movingSet ? [...g].flatMap(([id, ms]) => (movingSet.has(id) ? [ms] : [])) : [...g.values()].sort((a, b) => b - a).slice(0, step.leavingSessions);
  const stayed = movingSet ? [...g].flatMap(([id, ms]) => (movingSet.has(id) ? [] : [ms])) : [];
  // The gap's two halves around the start, for the moved and the staying sessions (only when the moving ones are known).
  const halves = movingSet ? await gapHalves(sys, ids, before, Date.now()) : undefined;
  const split = halves && {
    moved: halvesFigures(halves, step.moving!),
    staying: halvesFigures(
      halves,
      ids.filter((id) => !movingSet!.has(id)),
    ),
  };
  // Data flows again before the moved sessions' attempts have all started (warm streams store points meanwhile, ADR 235):
  // wait until every warm stream since the start is adopted or ended and every session streams, then count the placement work of the whole move.
  const settleDeadline = Date.now() + 60_000 + o.devices * 60;
  let settledAfterMs: number | undefined;
  while (Date.now() < settleDeadline) {
    const w = await warm();
    const streaming = (await Promise.all(others.map((c) => streamingOn(c.metricsPort).catch(() => 0)))).reduce((a, b) => a + b, 0);
    if (w.adopted - warm0.adopted + (w.ended - warm0.ended) >= w.starts - warm0.starts && streaming >= ids.length) {
      settledAfterMs = Date.now() - before;
      break;
    }
    await sleep(1000);
  }
  const [settledAsked, settledPlaced, settledWarm, failures1, told1] = await Promise.all([
    placementAsked(controlPort).then((a) => askedBetween(asked0, a)),
    placedSince(),
    warm(),
    failures(),
    lostTold(),
  ]);
  const attemptFailures = grewBy(failures0, failures1);
  const settled = {
    afterMs: settledAfterMs,
    placements: { sessions: settledPlaced.n, transactions: settledPlaced.transactions, lastAfterMs: Math.round(Number(settledPlaced.last_ms ?? 0)) },
    placementAsked: settledAsked,
    warmAdopted: settledWarm.adopted - warm0.adopted,
    /** Attempts on the receiving collectors that ended in an error, by code, from the start until the move settled. */
    attemptFailures,
    /** A lost collector's sessions told where they went (collectorLost), by when (ADR 297): `at-once`, or held until `up` (all their new streams up), `quiet`, `bound`. */
    lostTold: grewBy(told0, told1),
  };
  const load = () =>
    os
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(' ');
  process.stderr.write(
    `  ${label}: settled (every warm stream adopted or ended, all streaming) ${settledAfterMs === undefined ? 'never (deadline)' : `after ${(settledAfterMs / 1000).toFixed(1)} s`}: ` +
      `${settled.placements.sessions} placed in ${settled.placements.transactions} transactions; placeSession asked ${settledAsked.asked} times in ${settledAsked.transactions} transactions, ` +
      `by reason ${JSON.stringify(settledAsked.byReason)}; ${settled.warmAdopted} adopted; attempts failed there by code ${JSON.stringify(attemptFailures)}; ` +
      `lost sessions told ${JSON.stringify(settled.lostTold)}; load ${load()}\n`,
  );
  const missingSamples = moved.reduce((a, v) => a + Math.max(0, Math.round(v / o.intervalMs) - 1), 0);
  const movedGaps = gapFigures(moved);
  const stayedGaps = stayed.length ? gapFigures(stayed) : undefined;
  const figures = {
    ...movedGaps,
    /**
     * What the move added to the largest gap beyond one sample interval (gap − intervalMs, at least 0): a hand-over that
     * loses no sample still shows a gap of one interval, so this is the figure judged against issue 20's per-session bounds.
     */
    delayP50Ms: Math.max(0, Math.round(percentile(moved, 50) - o.intervalMs)),
    delayP99Ms: Math.max(0, Math.round(percentile(moved, 99) - o.intervalMs)),
    /** Sessions the gaps are read from (the moving devices that had a probe series in the window). */
    sessionsMeasured: moved.length,
    samplesMissingPerSeries: moved.length ? round(missingSamples / moved.length, 1) : 0,
    /**
     * The sessions that did not move, over the same window (only when the moving ones are known): their largest gaps are
     * what the machine's load alone did to a 1-interval gap, and the moved p99 beyond the staying p99 is the move's own share.
     */
    staying: stayedGaps && { sessions: stayed.length, ...stayedGaps },
    delayBeyondStayingP99Ms: stayedGaps && Math.max(0, movedGaps.gapP99Ms - stayedGaps.gapP99Ms),
    /**
     * The gaps split at the start: the age of each session's newest stored sample at that moment (what a killed collector
     * had received, or the device had sent, but never got stored) and the time from the start to the first later sample (redial and first point).
     */
    split,
  };
  process.stderr.write(
    `  ${label}: every device fresh again${step.handedOver ? ' and handed over' : ''} after ${recoveredAfterMs === undefined ? 'never (deadline)' : `${(recoveredAfterMs / 1000).toFixed(1)} s`}; ` +
      `gap p50 / p99 / max ${figures.gapP50Ms} / ${figures.gapP99Ms} / ${figures.gapMaxMs} ms, delay p99 ${figures.delayP99Ms} ms over ${moved.length} sessions; ` +
      (figures.staying
        ? `the ${figures.staying.sessions} staying: gap p50 / p99 / max ${figures.staying.gapP50Ms} / ${figures.staying.gapP99Ms} / ${figures.staying.gapMaxMs} ms (moved p99 beyond it ${figures.delayBeyondStayingP99Ms} ms); `
        : '') +
      (split
        ? `split at the start, moved: newest stored sample p50 / p99 ${split.moved.lastStoredAgeP50Ms} / ${split.moved.lastStoredAgeP99Ms} ms old, the next ${split.moved.firstAfterP50Ms} / ${split.moved.firstAfterP99Ms} ms after; ` +
          `staying: ${split.staying.lastStoredAgeP50Ms} / ${split.staying.lastStoredAgeP99Ms} ms old, next ${split.staying.firstAfterP50Ms} / ${split.staying.firstAfterP99Ms} ms after; `
        : '') +
      `${placed.n} placed in ${placed.transactions} transactions (last +${Math.round(Number(placed.last_ms ?? 0))} ms); ` +
      `CPU until then, % of a core: simulator ${cpuUntilRecovered.simulator}, the ${others.length} receiving collector(s) ${cpuUntilRecovered.receivingCollectors}, the leaving one ${cpuUntilRecovered.leavingCollector}, PostgreSQL ${cpuUntilRecovered.postgres}, Temporal ${cpuUntilRecovered.temporal}; ` +
      `per 5 s (simulator / receiving / leaving / PostgreSQL / Temporal / machine): ${[sliceText('before', cpuBefore), ...cpuSlices.map((x) => sliceText(`${x.untilS} s`, x))].join(', ')}; ` +
      `Temporal ${requestsDuring.perSecond} requests/s, ${round((requests.RespondWorkflowTaskCompleted ?? 0) / windowS, 1)} workflow tasks/s ` +
      `(in the 5 s before: ${requestsBefore.perSecond} requests/s, ${requestsBefore.perSessionPerMinute} per session per minute, ${requestsBefore.heartbeatsPerSessionPerMinute} of them heartbeats); ` +
      `placeSession asked ${asked.asked} times in ${asked.transactions} transactions, by reason ${JSON.stringify(asked.byReason)}; ` +
      `${receivedTwice} points received twice; warm hand-over: ${warmDelta.starts} dialled when placed, ${warmDelta.adopted} adopted, ${warmDelta.ended} ended unadopted, ${warmDelta.skipped} skipped; ` +
      `the leaving collector's streams ended by make before break ${JSON.stringify(handoversByEnd)} (up: the new collector streamed the device first; bound: it had not), ` +
      `before the step ${JSON.stringify(handovers0)} with ${waitingAtStart} waiting; load ${load()}\n`,
  );
  return {
    ...figures,
    /** Every device had fresh points again (and the step's condition held) before the deadline (else the open gaps are counted up to the measurement). */
    recovered,
    /** From the start until every device had a point since the start and less than two intervals (at least 2 s) old and the step's condition held (checked every 0.5 s). */
    recoveredAfterMs,
    /** Sessions placed after the start, in how many transactions, the last how long after the start. */
    placements: { sessions: placed.n, transactions: placed.transactions, lastAfterMs: Math.round(Number(placed.last_ms ?? 0)) },
    /** placeSession activity calls since the start (until recovered or the deadline), the transactions they ran, and why each attempt asked (ADR 260). */
    placementAsked: asked,
    /** The same from the start until the move settled (every warm stream adopted or ended, all streaming; or its deadline). */
    settled,
    /** Temporal frontend requests per second from the start to recovery (or the deadline), all and by the busiest operations. */
    temporalRequestsPerSecond: requestsDuring.perSecond,
    workflowTasksPerSecond: round((requests.RespondWorkflowTaskCompleted ?? 0) / windowS, 1),
    signalsPerSecond: round((requests.SignalWorkflowExecution ?? 0) / windowS, 1),
    /** Points the other collectors received again after the hand-over (same series and time already stored: skipped by the samples key, ADR 030). */
    pointsReceivedTwice: receivedTwice,
    /** Warm hand-overs (ADR 235) on the other collectors since the start: dialled when placed, adopted by their attempts (so far), ended unadopted, skipped. */
    warmHandover: warmDelta,
    /**
     * The leaving collector's streams ended by make before break (ADR 236) until recovered, by why: `up` (its new collector
     * streamed the device first: no gap) or `bound` (COLLECTOR_HANDOVER_OVERLAP_MS, or COLLECTOR_MOVE_OVERLAP_MS for a drain,
     * passed first). Read every 100 ms while it answers; empty after a kill -9, and when it exits within one reading.
     */
    handoversByEnd,
    /**
     * The same counter before the step (hand-overs it had already made since it started, e.g. rebalancing moves towards a
     * collector that had just joined), and its streams still kept for a new collector then (`session_handovers_waiting`).
     */
    handoversBeforeStep: { ...handovers0, waiting: waitingAtStart },
    /**
     * CPU, % of a core, from the start until recovered (or the deadline): the simulator (every device's side of every redial), the
     * receiving collectors together, the leaving collector (nothing once it exited), PostgreSQL (the whole cluster) and Temporal.
     */
    cpuUntilRecovered,
    /** The same per 5 s slice from the start (`untilS`: the slice's end), with the whole machine's busy time (`machine`, % of a core, at most 100 × cores). */
    cpuSlices,
    /** The same over the 5 s before the start. */
    cpuBefore,
    /** Temporal frontend requests over the 5 s before the start: per second, and heartbeats and all requests per session per minute (the steady state the step starts from). */
    temporalBefore: requestsBefore,
    /** The machine's 1-minute load average when the step started (it is shared with other runs). */
    loadAverage1m: round(loadAtStart, 1),
  };
}

/** Temporal requests over a window of `seconds` with `sessions` running: per second, and per session per minute (all, and heartbeats); a step's window and the 5 s before it. */
function steadyRequests(requests: Record<string, number>, seconds: number, sessions: number) {
  const all = Object.values(requests).reduce((a, b) => a + b, 0);
  return {
    perSecond: round(all / seconds, 1),
    perSessionPerMinute: round((all / seconds / sessions) * 60, 2),
    heartbeatsPerSessionPerMinute: round(((requests.RecordActivityTaskHeartbeat ?? 0) / seconds / sessions) * 60, 2),
  };
}

/** A collector's last output lines when it exited other than cleanly or by SIGKILL (the bench runs it at LOG_LEVEL=warn): why. */
function exitLines(c: ManagedChild, exit: number | string | undefined): string[] {
  return exit === undefined || exit === 0 || exit === 'SIGKILL' ? [] : c.tail().slice(-12);
}

/** kill -9 or SIGTERM of the collector with the most sessions, measured as a hand-over. */
async function oneFailover(
  sys: BenchSystem,
  ids: number[],
  o: FailoverOptions,
  collectors: Array<ManagedChild & { metricsPort: number }>,
  signal: 'SIGKILL' | 'SIGTERM',
  controlPort: number,
  simulatorPid: number,
) {
  const counts = await Promise.all(collectors.map((c) => streamingOn(c.metricsPort)));
  const victimIndex = counts.indexOf(Math.max(...counts));
  const victim = collectors[victimIndex];
  const victimRow = await registryRow(sys, victim);
  let signalledAt = 0;
  const figures = await handOver(sys, ids, o, collectors, controlPort, simulatorPid, {
    label: signal,
    leavingIndex: victimIndex,
    leavingSessions: counts[victimIndex],
    moving: await placedOn(sys, victimRow),
    start: async () => {
      signalledAt = Date.now();
      victim.child.kill(signal);
      process.stderr.write(`  ${signal} to the collector holding ${counts[victimIndex]} of ${ids.length} sessions\n`);
    },
  });
  const victimExit = victim.child.exitCode ?? victim.child.signalCode ?? undefined;
  const detection = victimRow ? await detectionOf(sys, victimRow.id, signalledAt) : undefined;
  if (detection?.leaseEndedAfterMs !== undefined)
    process.stderr.write(
      `  ${signal}: the victim's lease ended +${detection.leaseEndedAfterMs} ms after the signal` +
        (detection.lockMissingSeenAfterMs !== undefined ? ` (its liveness lock first seen missing +${detection.lockMissingSeenAfterMs} ms, ADR 299)` : '') +
        '\n',
    );
  const lastLines = exitLines(victim, victimExit);
  // From its whole kept tail: a stack trace after the forced-exit line could push it out of the last lines shown.
  const finalHandovers = lastLines.length ? finalCounters(victim.tail().join('\n'))?.handovers : undefined;
  const said = finalHandovers ? `; its streams ended by make before break, by its own final count: up ${finalHandovers.up}, bound ${finalHandovers.bound}, nowhere ${finalHandovers.nowhere ?? 0}` : '';
  process.stderr.write(`  ${signal}: the collector signalled exited ${victimExit ?? 'not yet'}${said}${lastLines.map((l) => `\n    | ${l}`).join('')}\n`);
  return {
    signal,
    sessionsOnVictim: counts[victimIndex],
    /**
     * A killed collector's detection (ADRs 296, 299): when its lease was ended (`lease_until`, set to the monitor's now()) and
     * when the monitor first saw its liveness lock missing, after the signal (ms). Undefined after a SIGTERM (its row is removed).
     */
    detection,
    ...figures,
    /**
     * How the collector signalled exited: SIGTERM 0, or 1 when its shutdown failed (it passed COLLECTOR_SHUTDOWN_FORCE_MS
     * and forced its exit, or its Temporal worker passed its own force time); `victimLastLines` then says which.
     */
    victimExit,
    victimLastLines: lastLines,
    /** After a forced exit: how its streams ended by make before break, from its own final counters (`handoversByEnd` misses those ended in its last 100 ms). */
    victimFinalHandovers: finalHandovers,
    victimIndex,
    /** Streaming sessions per collector just before the signal. */
    sessionsPerCollector: counts,
  };
}

/**
 * Drain `collectors[index]` (how deployments stop a collector: preStop, pre_stop) and measure it as a hand-over of
 * exactly the sessions placed on it: the time until it is empty and the most moves in flight, and per session the
 * figures a signal gets (gap, delay, points received twice, placements and asks).
 */
async function oneDrain(
  sys: BenchSystem,
  ids: number[],
  o: FailoverOptions,
  collectors: Array<ManagedChild & { metricsPort: number }>,
  index: number,
  controlPort: number,
  simulatorPid: number,
  /** Take the draining flag back once empty (false: the collector is about to stop, as in a rolling restart). */
  undrain = true,
) {
  const drained = collectors[index];
  const row = (await registryRow(sys, drained))!;
  const sessions = await streamingOn(drained.metricsPort);
  const moving = (await placedOn(sys, row)) ?? [];
  let emptied: Promise<Awaited<ReturnType<typeof until>>> | undefined;
  let empty = false;
  const figures = await handOver(sys, ids, o, collectors, controlPort, simulatorPid, {
    label: 'drain',
    leavingIndex: index,
    leavingSessions: sessions,
    moving,
    start: async () => {
      await setDraining(sys.db, row.id, true);
      process.stderr.write(`  drain of the collector holding ${sessions} of ${ids.length} sessions (${moving.length} placed on it)\n`);
      emptied = until(sys, [drained], (n) => n[0] === 0, 300_000).then((r) => ((empty = true), r));
    },
    handedOver: () => empty,
  });
  const e = await emptied!;
  process.stderr.write(
    `  drain: ${e.done ? `${sessions} sessions moved off in` : `not empty by the deadline (${e.counts[0]} of ${sessions} left) after`} ${(e.ms / 1000).toFixed(1)} s, at most ${e.mostInFlight} moves in flight\n`,
  );
  if (undrain) await setDraining(sys.db, row.id, false);
  return { ...e, sessions, sessionsPlaced: moving.length, ...figures };
}

/**
 * A rolling restart of every collector, the way the Kubernetes Deployment makes one (maxSurge 1; preStop `ctl drain --wait`,
 * then SIGTERM): for each collector of the fleet in turn, start its replacement, drain it (measured as a hand-over of the
 * sessions placed on it), wait until its batcher holds nothing and its received count stands still, keep its final
 * counters, then SIGTERM it. Then the time until the new fleet holds its shares, and over the whole restart each
 * device's largest gap (against the same over as long a window after it), the points counted dropped and received twice.
 */
async function rollingRestart(
  sys: BenchSystem,
  ids: number[],
  o: FailoverOptions,
  collectors: Array<ManagedChild & { metricsPort: number }>,
  startCollector: (name: string) => Promise<ManagedChild & { metricsPort: number }>,
  controlPort: number,
  simulatorPid: number,
) {
  const began = Date.now();
  const old = [...collectors];
  const steps = [];
  for (const [n, c] of old.entries()) {
    const replacement = await startCollector(collectorName(old.length + n));
    collectors.push(replacement);
    process.stderr.write(`  rolling restart ${n + 1} / ${old.length}: ${replacement.name} started in place of ${c.name}\n`);
    const failures0 = await scrape(c.metricsPort, 'session_failures_total');
    const drain = await oneDrain(sys, ids, o, collectors, collectors.indexOf(c), controlPort, simulatorPid, false);
    // Empty: its counters are final once its batcher is flushed and nothing more arrives.
    const read = async () => ({
      received: await scrape(c.metricsPort, 'session_points_received_total'),
      buffered: await scrape(c.metricsPort, 'ingest_buffered_points'),
      dropped: await scrape(c.metricsPort, 'ingest_points_dropped_total'),
      failures: (await scrape(c.metricsPort, 'session_failures_total')) - failures0,
    });
    let last = await read();
    const flushDeadline = Date.now() + 30_000;
    for (;;) {
      await sleep(500);
      const next = await read();
      const still = next.received === last.received && next.buffered === 0;
      last = next;
      if (still || Date.now() > flushDeadline) break;
    }
    const stopAt = Date.now();
    c.child.kill('SIGTERM');
    const exit = await c.exited;
    const exitMs = Date.now() - stopAt;
    collectors.splice(collectors.indexOf(c), 1);
    const lastLines = exitLines(c, exit ?? undefined);
    process.stderr.write(
      `  rolling restart ${n + 1} / ${old.length}: ${c.name} exited ${exit} ${(exitMs / 1000).toFixed(1)} s after SIGTERM; its final counters: ${last.received} points received, ${last.dropped} dropped, ${last.buffered} still buffered, ${last.failures} attempts failed during its drain${lastLines.map((l) => `\n    | ${l}`).join('')}\n`,
    );
    steps.push({ collector: c.name, replacement: replacement.name, drain, exitCode: exit, exitAfterMs: exitMs, final: last, lastLines });
  }
  const balance = await until(sys, collectors, (counts) => counts.reduce((a, b) => a + b, 0) === ids.length && counts.every((x) => withinShare(x, ids.length / counts.length)), 300_000);
  const ended = Date.now();
  const g = [...(await gaps(sys, ids, began, ended)).values()];
  const restartGaps = gapFigures(g);
  // Every device moved, so no staying session gives a baseline. The simulator's timers run late on a busy machine, which
  // alone stretches a gap past one interval; the baseline is the largest gaps over a window as long (at most 5 min) after it.
  const baselineMs = Math.min(ended - began, 300_000);
  await sleep(baselineMs);
  const baseline = gapFigures([...(await gaps(sys, ids, Date.now() - baselineMs, Date.now())).values()]);
  const droppedByLive = (await Promise.all(collectors.map((c) => scrape(c.metricsPort, 'ingest_points_dropped_total').catch(() => NaN)))).reduce((a, b) => a + b, 0);
  const figures = {
    steps,
    /** After the last stop: the new fleet's streaming sessions, and whether (and when) each held its share ±10 %. */
    balanced: balance.done,
    balancedAfterMs: balance.ms,
    sessionsPerCollector: balance.counts,
    mostMovesInFlight: balance.mostInFlight,
    /** Over the whole restart, each device's largest gap between two probe samples (one interval when nothing was lost). */
    ...restartGaps,
    sessionsMeasured: g.length,
    /** The same over a window as long (at most 5 min) right after, with nothing moving: what the machine alone does to a one-interval gap. */
    baseline: { windowMs: baselineMs, ...baseline },
    /** The restart's gap p99 beyond the baseline's: what the restart added. */
    gapBeyondBaselineP99Ms: Math.max(0, restartGaps.gapP99Ms - baseline.gapP99Ms),
    /** Points counted dropped: by the stopped collectors (final counters) and by the new ones so far. */
    pointsDropped: steps.reduce((a, s) => a + s.final.dropped, 0) + droppedByLive,
    pointsReceivedTwice: steps.reduce((a, s) => a + s.drain.pointsReceivedTwice, 0),
    tookMs: ended - began,
  };
  process.stderr.write(
    `  rolling restart of ${old.length} collectors: ${balance.done ? 'balanced' : 'not balanced by the deadline,'} ${balance.counts.join(' / ')} ${(balance.ms / 1000).toFixed(1)} s after the last stop; ` +
      `over ${(figures.tookMs / 1000).toFixed(1)} s every device's largest gap p50 / p99 / max ${figures.gapP50Ms} / ${figures.gapP99Ms} / ${figures.gapMaxMs} ms ` +
      `(over ${(baselineMs / 1000).toFixed(1)} s after it, nothing moving: ${baseline.gapP50Ms} / ${baseline.gapP99Ms} / ${baseline.gapMaxMs} ms; p99 beyond it ${figures.gapBeyondBaselineP99Ms} ms), ` +
      `${figures.pointsDropped} points counted dropped, ${figures.pointsReceivedTwice} received twice; drains: ${steps.map((s) => `${s.collector} ${s.drain.sessions} in ${(s.drain.ms / 1000).toFixed(1)} s, delay p99 ${s.drain.delayP99Ms} ms, exit ${s.exitCode}`).join('; ')}\n`,
  );
  return figures;
}

/**
 * The fleet every step starts from: the simulator, the control worker (its /metrics on a known port), the collectors and
 * the devices, returned once every session streams.
 */
async function startFleet(sys: BenchSystem, o: FailoverOptions) {
  const placement = o.placement ?? true;
  const env = {
    SESSION_HEARTBEAT_TIMEOUT_MS: String(o.heartbeatTimeoutMs),
    SESSION_PLACEMENT: String(placement),
    PLACEMENT_MAX_MOVES: String(o.maxMoves ?? 5),
    // After a kill -9 the survivor must be able to take every session.
    COLLECTOR_MAX_SESSIONS: String(o.capacity ?? Math.max(1000, o.devices)),
  };
  const sim = await sys.startSimulator(o.devices, o.interfaces ?? 2);
  const simulatorPid = sim.child.child.pid!;
  if (o.pin) pinTo(simulatorPid, 0);
  // A known port for the control worker's /metrics (the placement counters).
  const controlPort = await freePort();
  sys.spawn('control', 'workers/control.ts', { ...env, CONTROL_HEALTH_PORT: String(controlPort) });
  const fleet = o.collectors ?? 2;
  if (!Number.isInteger(fleet) || fleet < 2 || fleet > 25) throw new Error(`failover needs 2 to 25 collectors, not ${o.collectors}`);
  const collectors: Array<ManagedChild & { metricsPort: number }> = [];
  const startCollector = async (name: string) => {
    const c = await sys.startCollector(name, env);
    if (o.pin) pinTo(c.child.pid!, Math.min(1, os.cpus().length - 1));
    return c;
  };
  for (let i = 0; i < fleet; i++) collectors.push(await startCollector(collectorName(i)));
  const ids = await sys.addDevices(sim.ports, countersProfile(o.intervalMs), {
    prefix: 'fo',
    heartbeatTimeoutMs: o.heartbeatTimeoutMs,
    // The product's setting (SESSION_PLACED_HEARTBEAT_TIMEOUT_MS), as the control worker would start them.
    sessionOptions: placement ? { placement: true, placedHeartbeatTimeoutMs: placedHeartbeat().placedHeartbeatTimeoutMs } : undefined,
  });
  /** Where the sessions not streaming are, for a ramp that missed its deadline: each collector's sessions by state, warm streams, failed attempts by code; placements; devices storing. */
  const rampState = async () => {
    const per = await Promise.all(
      collectors.map(async (c) => {
        const [states, warm, failures] = await Promise.all([
          scrapeByLabel(c.metricsPort, 'sessions', 'state'),
          scrape(c.metricsPort, 'session_warm'),
          scrapeByLabel(c.metricsPort, 'session_failures_total', 'code'),
        ]).catch(() => [{}, NaN, {}] as const);
        return `${c.name}: sessions ${JSON.stringify(states)}, warm ${warm}, failed attempts ${JSON.stringify(failures)}`;
      }),
    );
    const placed = (await sys.db.raw(`SELECT count(*)::int AS n FROM session_placements WHERE device_id = ANY(?)`, [ids])).rows[0].n;
    const storing = (
      await sys.db.raw(
        `SELECT count(DISTINCT s.device_id)::int AS n FROM samples x JOIN series s ON s.id = x.series_id WHERE s.path = ? AND s.device_id = ANY(?) AND x.time > now() - interval '30 seconds'`,
        [PATH, ids],
      )
    ).rows[0].n;
    return `${per.join('; ')}; ${placed} placed; ${storing} devices stored a sample in the last 30 s`;
  };
  const waitAll = async () => {
    // Thousands of sessions take minutes to place and dial on a loaded machine (bench scale: 4-7 a second at load average 15-35).
    // Past the limit a ramp still gaining goes on (a slow hour of the machine, not a fault): bench/lib/ramp.ts.
    const limitMs = o.rampMs ?? 90_000 + o.devices * 250;
    let counts: number[] = [];
    let streaming = 0;
    const began = Date.now();
    let said = began;
    let most = 0;
    let grewAt = began;
    for (;;) {
      counts = await Promise.all(collectors.map((c) => streamingOn(c.metricsPort).catch(() => 0)));
      streaming = counts.reduce((a, b) => a + b, 0);
      if (streaming >= ids.length) return;
      const now = Date.now();
      if (streaming > most) [most, grewAt] = [streaming, now];
      if (rampGivesUp(now - began, now - grewAt, limitMs)) break;
      if (now - said >= 60_000) {
        said = now;
        process.stderr.write(`  … ${streaming} of ${ids.length} sessions streaming (${counts.join(' / ')}) after ${Math.round((said - began) / 1000)} s, load average ${os.loadavg()[0].toFixed(1)}\n`);
      }
      await sleep(500);
    }
    throw new Error(
      `not every session streamed within ${((Date.now() - began) / 1000).toFixed(0)} s (limit ${limitMs / 1000} s; none more for ${((Date.now() - grewAt) / 1000).toFixed(0)} s): ${streaming} of ${ids.length} (${counts.join(' / ')}), load average ${os.loadavg()[0].toFixed(1)}; ${await rampState().catch((err: Error) => `state unread: ${err.message}`)}`,
    );
  };
  const rampStart = Date.now();
  await waitAll();
  process.stderr.write(`  ${ids.length} sessions streaming after ${((Date.now() - rampStart) / 1000).toFixed(1)} s\n`);
  await sleep(3000);
  // The collectors inherit the environment: whether they hold a liveness lock (ADR 296).
  const livenessLock = process.env.COLLECTOR_LIVENESS_LOCK !== 'false';
  // The control worker inherits it too: how long it holds a lost collector's warm sessions' signals for their new streams (ADR 297).
  const lostSignalHoldMs = Number(process.env.PLACEMENT_LOST_SIGNAL_HOLD_MS ?? 30_000);
  // And whether a hand-over subscribes with the Capabilities answer the device gave before (ADR 298).
  const handoverReusesCapabilities = process.env.GNMI_HANDOVER_REUSES_CAPABILITIES !== 'false';
  return { placement, livenessLock, lostSignalHoldMs, handoverReusesCapabilities, simulatorPid, controlPort, fleet, collectors, startCollector, ids, waitAll };
}

/** Scenario `rolling` (on demand): every session streaming on the fleet, then a rolling restart of every collector. */
export async function rolling(sys: BenchSystem, o: FailoverOptions) {
  if (o.placement === false) throw new Error('a rolling restart drains collectors, which needs placement (BENCH_FAILOVER_PLACEMENT)');
  const started = await startFleet(sys, o);
  const { simulatorPid, controlPort, collectors, startCollector, ids } = started;
  const restart = await rollingRestart(sys, ids, o, collectors, startCollector, controlPort, simulatorPid);
  return { ...runSettings(o, started), ...restart };
}

/** The placed sessions' heartbeat settings of this run (the product's, from the environment): timeout and throttle (ms). */
function placedHeartbeat() {
  const c = loadConfig();
  return { placedHeartbeatTimeoutMs: c.SESSION_PLACED_HEARTBEAT_TIMEOUT_MS, placedHeartbeatThrottleMs: c.SESSION_PLACED_HEARTBEAT_THROTTLE_MS };
}

/** What a failover or rolling run was made with, first in its result. */
function runSettings(o: FailoverOptions, f: Awaited<ReturnType<typeof startFleet>>) {
  return {
    devices: o.devices,
    collectors: f.fleet,
    intervalMs: o.intervalMs,
    heartbeatTimeoutMs: o.heartbeatTimeoutMs,
    placement: f.placement,
    livenessLock: f.livenessLock,
    lostSignalHoldMs: f.lostSignalHoldMs,
    handoverReusesCapabilities: f.handoverReusesCapabilities,
    ...placedHeartbeat(),
  };
}

/** kill -9, then SIGTERM, each on the collector with the most sessions. */
export async function failover(sys: BenchSystem, o: FailoverOptions) {
  const started = await startFleet(sys, o);
  const { placement, simulatorPid, controlPort, fleet, collectors, startCollector, ids, waitAll } = started;
  const kill = await oneFailover(sys, ids, o, collectors, 'SIGKILL', controlPort, simulatorPid);
  // Bring the fleet back to its size with a new collector in the killed one's place, let sessions settle, then SIGTERM.
  collectors[kill.victimIndex] = await startCollector(collectorName(fleet));
  let rebalance: (Awaited<ReturnType<typeof until>> & { warm: number[] }) | undefined;
  let drain: Awaited<ReturnType<typeof oneDrain>> | undefined;
  if (placement && o.join !== false) {
    // The joined collector receives its share by rebalancing (moves bounded by PLACEMENT_MAX_MOVES).
    const joined = await until(sys, collectors, (n) => n.reduce((a, b) => a + b, 0) === ids.length && n.every((x) => withinShare(x, ids.length / n.length)), 300_000);
    // Sessions counted above only once their attempt streams: a warm stream still waiting for its attempt (from the kill -9's
    // move, or this join's; the `session_warm` gauge, ADR 235) stores points on its collector but is not counted there.
    rebalance = { ...joined, warm: await Promise.all(collectors.map((c) => scrape(c.metricsPort, 'session_warm').catch(() => NaN))) };
    process.stderr.write(
      `  join: ${joined.done ? 'balanced' : 'not balanced by the deadline, streaming'} ${joined.counts.join(' / ')} after ${(joined.ms / 1000).toFixed(1)} s, at most ${joined.mostInFlight} moves in flight; warm streams waiting for their attempt ${rebalance.warm.join(' / ')}\n`,
    );
    // Drain the joined collector (measured as a hand-over of its sessions), then take it back.
    drain = await oneDrain(sys, ids, o, collectors, kill.victimIndex, controlPort, simulatorPid);
    await until(sys, collectors, (n) => n.every((x) => withinShare(x, ids.length / n.length)), 300_000);
  } else await sleep(5000);
  const streamingNow = (await Promise.all(collectors.map((c) => streamingOn(c.metricsPort)))).reduce((a, b) => a + b, 0);
  if (streamingNow < ids.length) await waitAll();
  // New sessions only land on the new collector when some move; make the split visible.
  const term = await oneFailover(sys, ids, o, collectors, 'SIGTERM', controlPort, simulatorPid);
  return {
    ...runSettings(o, started),
    kill9: kill,
    rebalance,
    drain,
    sigterm: term,
    collectorsWritten: await Promise.all(collectors.map((c) => scrape(c.metricsPort, 'ingest_points_written_total').catch(() => NaN))),
  };
}
