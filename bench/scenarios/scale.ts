/**
 * Scenario 3: many concurrent device sessions — each a workflow with a
 * heartbeating activity — held for minutes, on one collector or several on this
 * machine (placed as production places them). Reports per step and per collector:
 * sessions streaming, re-attempts (a missed heartbeat shows up as one), RSS and
 * RSS per added session, CPU, event-loop p99 and lease lapses; Temporal's and
 * PostgreSQL's CPU and Temporal requests per session per minute.
 */
import os from 'node:os';
import type { ManagedChild } from '../../scripts/infra/proc';
import { deviceSessionWorkflowId, statusQuery } from '../../core/names';
import { pauseDevice, resumeDevice } from '../../temporal/fleet-client';
import { frontendRequests, requestsBetween } from '../lib/temporal-metrics';
import { CpuMeter, percentile, rssBytes } from '../lib/procstat';
import { countersProfile, scrape, sleep, type BenchSystem } from '../lib/system';
import { collectorNames, streamingOn } from '../lib/collectors';
import { round } from './pipeline';
import { gnmiTransportSetting } from '../../core/config';

/** Scale options. */
export interface ScaleOptions {
  sessions: number;
  /**
   * Session counts to step through (ascending, the last one is `sessions`): the collector's RSS
   * and CPU are taken at each, so the per-session figure is a slope between steps and the
   * process's fixed costs (Node, the Temporal worker, the young generation once points flow)
   * are not divided among the sessions.
   */
  steps?: number[];
  /** Hold of the last step (the target's "held 10 min"). */
  holdSeconds: number;
  /** Hold of each step before the last (default `holdSeconds`): the growth figures need a steady state, not the full hold. */
  stepHoldSeconds?: number;
  intervalMs: number;
  /** Sessions placed on the collector's own queue (ADR 110, as production starts them); false: the shared queue. */
  placement?: boolean;
  /** Sessions paused then resumed one after another after the last hold, each timed (update acknowledged). */
  pauses?: number;
  /** Collectors on this machine (default 1); placement spreads the sessions over them. */
  collectors?: number;
  /**
   * COLLECTOR_MAX_SESSIONS of each collector. Default: with one collector max(1000, sessions); with
   * several max(1000, their share + 10 %), the placement tolerance, so placement decides the split
   * and no collector is asked to hold more than a production setting for that share would allow.
   */
  maxSessionsPerCollector?: number;
}

/** One collector's figures at one step. */
export interface ScaleCollectorStep {
  name: string;
  /** Sessions streaming on it at the end of the hold. */
  sessions: number;
  minStreamingDuringHold: number;
  /** Median of its RSS samples (every 5 s) over the hold. */
  rssMiB: number;
  /** RSS growth from its previous step (or from its idle RSS) per streaming session it gained. */
  rssKiBPerAddedSession: number;
  /** RSS growth from its idle RSS divided by its sessions. */
  rssKiBPerSessionFromIdle: number;
  cpuPercent: number;
  eventLoopDelayP99MaxMs: number;
  /**
   * Sessions that reached streaming again during the hold: its streaming transitions beyond the growth in the sessions
   * streaming on it (a session that first streamed during the hold, when the ramp did not finish by its deadline, is
   * not a restart; a session that broke and came back on another collector counts as a failure or move there instead).
   */
  sessionRestartsDuringHold: number;
  /** Sessions streaming on it at the end of the hold beyond those at its start (first streams of an unfinished ramp). */
  sessionFirstStreamsDuringHold: number;
  sessionFailuresDuringHold: number;
  /** Sessions it let go to another collector during the hold (moved, leaving). */
  sessionMovesDuringHold: number;
  /** Renewals of its lease that came after it had lapsed, during the hold (ADR 165; target 0). */
  leaseLapsesDuringHold: number;
  /** The longest gap between two of its lease renewals since it started (its /metrics gauge). */
  leaseRenewalGapMaxSeconds: number;
}

/** Figures of one step of the scale scenario (`sessions` held for the hold time); collector figures are summed over the collectors (each in `collectors`). */
export interface ScaleStep {
  sessions: number;
  holdSeconds: number;
  streamingAfterRamp: number;
  rampSeconds: number;
  minStreamingDuringHold: number;
  sessionRestartsDuringHold: number;
  sessionFailuresDuringHold: number;
  temporalCpuPercent: number;
  /** This run's PostgreSQL cluster: postmaster and every backend (ingest, placement, the Temporal server's when it runs on it). */
  postgresCpuPercent: number;
  controlCpuPercent: number;
  collectorCpuPercent: number;
  simulatorCpuPercent: number;
  /** Sum of the collectors' RSS (each the median of its samples every 5 s over the hold). */
  collectorRssMiB: number;
  /** RSS growth from the previous step (or from no session) divided by the sessions streaming that were added (not the sessions asked for: a ramp may not finish). */
  collectorRssKiBPerAddedSession: number;
  heartbeatRequestsPerSessionPerMinute: number;
  /** Every request the Temporal frontend received during the hold (workers' polls included), per session per minute. */
  temporalRequestsPerSessionPerMinute: number;
  /** The same by operation (per session per minute), largest first. */
  temporalRequestsByOperation: Record<string, number>;
  /** The highest of the collectors' event-loop p99 samples. */
  eventLoopDelayP99MaxMs: number;
  leaseLapsesDuringHold: number;
  leaseRenewalGapMaxSeconds: number;
  /** The machine's load averages (1, 5, 15 min) before the ramp and at the end of the hold (it is shared: other runs count too). */
  loadAverageBefore: number[];
  loadAverageAfter: number[];
  /** The 1-minute load average at the end of the hold. */
  loadAverage1m: number;
  restartReasons: Record<string, number>;
  collectors: ScaleCollectorStep[];
}

type Collector = ManagedChild & { metricsPort: number };

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const loads = () => os.loadavg().map((x) => round(x, 1));

/** A change with its sign (`+12.5`, `-3.1`): memory can shrink from one step to the next when the heap is collected. */
const signed = (n: number) => (n >= 0 ? `+${n}` : String(n));

/** Counters of one collector read at the start and the end of a hold. */
async function holdCounters(c: Collector) {
  const [transitions, failures, moves, lapses] = await Promise.all(
    ['sessions_streaming_transitions_total', 'session_failures_total', 'session_failovers_total', 'collector_lease_lapses_total'].map((n) => scrape(c.metricsPort, n)),
  );
  return { transitions, failures, moves, lapses };
}

export async function scale(sys: BenchSystem, o: ScaleOptions) {
  const steps = [...new Set([...(o.steps ?? []).filter((n) => n > 0 && n < o.sessions), o.sessions])].sort((a, b) => a - b);
  const count = Math.max(1, o.collectors ?? 1);
  const maxSessions = o.maxSessionsPerCollector ?? (count === 1 ? Math.max(1000, o.sessions) : Math.max(1000, Math.ceil((o.sessions / count) * 1.1)));
  const sim = await sys.startSimulator(o.sessions, 1);
  const control = sys.spawn('control', 'workers/control.ts');
  const names = collectorNames(count);
  const collectors: Collector[] = await Promise.all(names.map((name) => sys.startCollector(name, { COLLECTOR_MAX_SESSIONS: String(maxSessions) })));
  // The collectors inherit the bench's environment (sys.env), GNMI_TRANSPORT included (ADR 265).
  const gnmiTransport = gnmiTransportSetting(sys.env);
  process.stderr.write(`  ${count} collector(s), COLLECTOR_MAX_SESSIONS=${maxSessions} each, gNMI transport ${gnmiTransport}\n`);
  // Each collector's RSS with no session (the lowest of 15 s of samples: start-up garbage is
  // released in that time), so the per-session figure is the growth, not the whole process divided.
  const idleRss = collectors.map(() => Infinity);
  for (let i = 0; i < 15; i++) {
    await sleep(1000);
    collectors.forEach((c, j) => (idleRss[j] = Math.min(idleRss[j], rssBytes(c.child.pid!))));
  }
  const streamingEach = () => Promise.all(collectors.map((c) => streamingOn(c.metricsPort).catch(() => 0)));
  const ids: number[] = [];
  const done: ScaleStep[] = [];
  let previousRss = [...idleRss];
  let previousStreaming = collectors.map(() => 0);
  for (const target of steps) {
    const loadBefore = loads();
    const holdSeconds = target === o.sessions ? o.holdSeconds : (o.stepHoldSeconds ?? o.holdSeconds);
    const rampStart = Date.now();
    const sessionOptions = o.placement === false ? undefined : { placement: true, placedHeartbeatTimeoutMs: 60_000 };
    const added = sim.ports.slice(ids.length, target);
    ids.push(...(await sys.addDevices(added, countersProfile(o.intervalMs), { prefix: `scale${target}`, sessionOptions })));
    let streaming = 0;
    // Placing and dialling went at 2-6 sessions a second on this machine under load (docs/performance.md).
    const rampDeadline = Date.now() + 300_000 + added.length * 250;
    while (Date.now() < rampDeadline) {
      streaming = sum(await streamingEach());
      if (streaming >= ids.length) break;
      await sleep(2000);
    }
    const rampSeconds = (Date.now() - rampStart) / 1000;
    const split = await streamingEach();
    process.stderr.write(`  ${streaming}/${ids.length} sessions streaming (${split.join(' / ')}) after ${Math.round(rampSeconds)} s; holding for ${holdSeconds} s\n`);
    const counters0 = await Promise.all(collectors.map(holdCounters));
    const heartbeats0 = await heartbeatRequests(sys.temporalMetricsPort);
    const requests0 = await frontendRequests(sys.temporalMetricsPort);
    const meter = new CpuMeter(() => ({
      temporal: sys.temporalPids(),
      postgres: sys.postgresPids(),
      control: [control.child.pid!],
      simulator: [sim.child.child.pid!],
      ...Object.fromEntries(collectors.map((c, j) => [names[j], [c.child.pid!]])),
    }));
    meter.begin();
    const t0 = Date.now();
    const minStreaming = collectors.map(() => Infinity);
    const loopP99Max = collectors.map(() => 0);
    const rssSamples: number[][] = collectors.map(() => []);
    while (Date.now() - t0 < holdSeconds * 1000) {
      await sleep(5000);
      const [now, loop] = await Promise.all([streamingEach(), Promise.all(collectors.map((c) => scrape(c.metricsPort, 'event_loop_delay_seconds{quantile="0.99"}')))]);
      collectors.forEach((c, j) => {
        minStreaming[j] = Math.min(minStreaming[j], now[j]);
        loopP99Max[j] = Math.max(loopP99Max[j], loop[j]);
        rssSamples[j].push(rssBytes(c.child.pid!));
      });
    }
    const cpu = meter.end();
    const heldMinutes = (Date.now() - t0) / 60_000;
    const heartbeats = (await heartbeatRequests(sys.temporalMetricsPort)) - heartbeats0;
    const requests = requestsBetween(requests0, await frontendRequests(sys.temporalMetricsPort));
    const perSessionMinute = (n: number) => round(n / ids.length / heldMinutes, 2);
    const byOperation = Object.fromEntries(
      Object.entries(requests)
        .sort((a, b) => b[1] - a[1])
        .map(([op, n]) => [op, perSessionMinute(n)]),
    );
    const counters1 = await Promise.all(collectors.map(holdCounters));
    const held = await streamingEach();
    const rss = collectors.map((c, j) => percentile(rssSamples[j].length ? rssSamples[j] : [rssBytes(c.child.pid!)], 50));
    const perCollector: ScaleCollectorStep[] = [];
    for (const [j, c] of collectors.entries()) {
      // Sessions that first streamed during the hold (a ramp that had not finished by its deadline): not re-attempts.
      const firstStreams = Math.max(0, held[j] - split[j]);
      perCollector.push({
        name: names[j],
        sessions: held[j],
        minStreamingDuringHold: minStreaming[j] === Infinity ? 0 : minStreaming[j],
        rssMiB: round(rss[j] / 2 ** 20, 1),
        rssKiBPerAddedSession: round((rss[j] - previousRss[j]) / 1024 / Math.max(1, split[j] - previousStreaming[j]), 1),
        rssKiBPerSessionFromIdle: round((rss[j] - idleRss[j]) / 1024 / Math.max(1, held[j]), 1),
        cpuPercent: cpu[names[j]],
        eventLoopDelayP99MaxMs: round(loopP99Max[j] * 1000, 1),
        // A re-attempt during the hold means a session broke (for instance a heartbeat timeout); first streams are not re-attempts.
        sessionRestartsDuringHold: Math.max(0, counters1[j].transitions - counters0[j].transitions - firstStreams),
        sessionFirstStreamsDuringHold: firstStreams,
        sessionFailuresDuringHold: counters1[j].failures - counters0[j].failures,
        sessionMovesDuringHold: counters1[j].moves - counters0[j].moves,
        leaseLapsesDuringHold: counters1[j].lapses - counters0[j].lapses,
        leaseRenewalGapMaxSeconds: round(await scrape(c.metricsPort, 'collector_lease_renewal_gap_max_seconds'), 2),
      });
    }
    const reattempts = sum(perCollector.map((c) => c.sessionRestartsDuringHold));
    const restartReasons = reattempts > 0 ? await whyRestarted(sys, ids, t0) : {};
    if (reattempts > 0) process.stderr.write(`  re-attempts during the hold, by what the workflows recorded: ${JSON.stringify(restartReasons)}\n`);
    const addedStreaming = Math.max(1, streaming - (done.at(-1)?.streamingAfterRamp ?? 0));
    const loadAfter = loads();
    done.push({
      sessions: ids.length,
      holdSeconds,
      streamingAfterRamp: streaming,
      rampSeconds: round(rampSeconds, 1),
      minStreamingDuringHold: sum(perCollector.map((c) => c.minStreamingDuringHold)),
      sessionRestartsDuringHold: reattempts,
      sessionFailuresDuringHold: sum(perCollector.map((c) => c.sessionFailuresDuringHold)),
      temporalCpuPercent: cpu.temporal,
      postgresCpuPercent: cpu.postgres,
      controlCpuPercent: cpu.control,
      collectorCpuPercent: round(sum(names.map((n) => cpu[n])), 1),
      simulatorCpuPercent: cpu.simulator,
      collectorRssMiB: round(sum(rss) / 2 ** 20, 1),
      collectorRssKiBPerAddedSession: round((sum(rss) - sum(previousRss)) / 1024 / addedStreaming, 1),
      heartbeatRequestsPerSessionPerMinute: perSessionMinute(heartbeats),
      temporalRequestsPerSessionPerMinute: perSessionMinute(Object.values(requests).reduce((a, b) => a + b, 0)),
      temporalRequestsByOperation: byOperation,
      eventLoopDelayP99MaxMs: Math.max(...perCollector.map((c) => c.eventLoopDelayP99MaxMs)),
      leaseLapsesDuringHold: sum(perCollector.map((c) => c.leaseLapsesDuringHold)),
      leaseRenewalGapMaxSeconds: Math.max(...perCollector.map((c) => c.leaseRenewalGapMaxSeconds)),
      loadAverageBefore: loadBefore,
      loadAverageAfter: loadAfter,
      loadAverage1m: loadAfter[0],
      restartReasons,
      collectors: perCollector,
    });
    const step = done.at(-1)!;
    process.stderr.write(`  Temporal requests per session per minute: ${step.temporalRequestsPerSessionPerMinute} (${JSON.stringify(byOperation)})\n`);
    process.stderr.write(
      `  ${ids.length} sessions: collectors' RSS ${step.collectorRssMiB} MiB (${signed(step.collectorRssKiBPerAddedSession)} KiB per added session), CPU ${step.collectorCpuPercent} %, Temporal ${cpu.temporal} %, PostgreSQL ${cpu.postgres} %, control ${cpu.control} %, simulator ${cpu.simulator} %; restarts ${reattempts}; load average ${loadBefore.join(' ')} -> ${loadAfter.join(' ')}\n`,
    );
    for (const c of perCollector) {
      process.stderr.write(
        `    ${c.name}: ${c.sessions} sessions (lowest ${c.minStreamingDuringHold}), RSS ${c.rssMiB} MiB (${signed(c.rssKiBPerAddedSession)} KiB per added session, ${c.rssKiBPerSessionFromIdle} KiB per session from idle), CPU ${c.cpuPercent} %, event-loop p99 max ${c.eventLoopDelayP99MaxMs} ms, restarts ${c.sessionRestartsDuringHold}, first streams in the hold ${c.sessionFirstStreamsDuringHold}, failures ${c.sessionFailuresDuringHold}, moved off ${c.sessionMovesDuringHold}, lease lapses ${c.leaseLapsesDuringHold}, longest renewal gap ${c.leaseRenewalGapMaxSeconds} s\n`,
      );
    }
    previousRss = rss;
    previousStreaming = split;
  }
  const last = done.at(-1)!;
  const first = done[0];
  const pauseResume = await timePauses(sys, ids.slice(0, Math.min(ids.length, o.pauses ?? 20)));
  const idleSum = sum(idleRss);
  return {
    sessions: last.sessions,
    collectors: count,
    maxSessionsPerCollector: maxSessions,
    gnmiTransport,
    streamingAfterRamp: last.streamingAfterRamp,
    rampSeconds: last.rampSeconds,
    holdSeconds: o.holdSeconds,
    minStreamingDuringHold: last.minStreamingDuringHold,
    sessionRestartsDuringHold: done.reduce((n, s) => n + s.sessionRestartsDuringHold, 0),
    sessionFailuresDuringHold: done.reduce((n, s) => n + s.sessionFailuresDuringHold, 0),
    temporalCpuPercent: last.temporalCpuPercent,
    temporalCpuPercentPer100Sessions: round((last.temporalCpuPercent * 100) / last.sessions, 2),
    postgresCpuPercent: last.postgresCpuPercent,
    collectorCpuPercent: last.collectorCpuPercent,
    collectorRssMiB: last.collectorRssMiB,
    collectorRssMiBPer100Sessions: round(last.collectorRssMiB / (last.sessions / 100), 1),
    collectorIdleRssMiB: round(idleSum / 2 ** 20, 1),
    /** Growth from no session to the last step (summed over the collectors), divided by the sessions. */
    collectorRssKiBPerSession: round((last.collectorRssMiB * 1024 - idleSum / 1024) / last.sessions, 1),
    /** Growth between the first and the last step per streaming session added (fixed costs that arrive with the first points left out); the first step's figure when there is one step. */
    collectorRssKiBPerSessionSlope:
      done.length > 1 ? round(((last.collectorRssMiB - first.collectorRssMiB) * 1024) / Math.max(1, last.streamingAfterRamp - first.streamingAfterRamp), 1) : first.collectorRssKiBPerAddedSession,
    /** Each collector at the last step: its RSS growth from idle per session it holds, and its slope from the first step. */
    perCollector: last.collectors.map((c, j) => ({
      name: c.name,
      idleRssMiB: round(idleRss[j] / 2 ** 20, 1),
      sessions: c.sessions,
      rssMiB: c.rssMiB,
      rssKiBPerSessionFromIdle: c.rssKiBPerSessionFromIdle,
      rssKiBPerSessionSlope: done.length > 1 ? round(((c.rssMiB - first.collectors[j].rssMiB) * 1024) / Math.max(1, c.sessions - first.collectors[j].sessions), 1) : c.rssKiBPerAddedSession,
    })),
    /** RecordActivityTaskHeartbeat requests the Temporal server received during the last hold. */
    heartbeatRequestsPerSessionPerMinute: last.heartbeatRequestsPerSessionPerMinute,
    temporalRequestsPerSessionPerMinute: last.temporalRequestsPerSessionPerMinute,
    temporalRequestsByOperation: last.temporalRequestsByOperation,
    placement: o.placement !== false,
    pauseResume,
    eventLoopDelayP99MaxMs: last.eventLoopDelayP99MaxMs,
    leaseLapsesDuringHold: done.reduce((n, s) => n + s.leaseLapsesDuringHold, 0),
    leaseRenewalGapMaxSeconds: last.leaseRenewalGapMaxSeconds,
    restartReasons: last.restartReasons,
    steps: done,
  };
}

/**
 * Pause each session, then resume it, one after another, timing each update until it is
 * acknowledged: a pause once the session has ended (the cancellation reached the collector and
 * the activity finished), a resume once the next attempt started.
 */
async function timePauses(sys: BenchSystem, ids: number[]) {
  const pauseMs: number[] = [];
  const resumeMs: number[] = [];
  // An update not acknowledged (on a saturated Temporal: `context deadline exceeded`) is counted and named, not the end of
  // the scenario: the holds' figures before it stand. The resume is sent either way, so no session stays paused.
  const notAcknowledged: string[] = [];
  const timed = async (what: 'pause' | 'resume', id: number, into: number[]) => {
    const t0 = performance.now();
    try {
      await (what === 'pause' ? pauseDevice : resumeDevice)(sys.client, id, 'scale benchmark');
      into.push(performance.now() - t0);
    } catch (err) {
      notAcknowledged.push(`${what} of device ${id} after ${Math.round(performance.now() - t0)} ms: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
    }
  };
  for (const id of ids) {
    await timed('pause', id, pauseMs);
    await timed('resume', id, resumeMs);
  }
  const figures = (xs: number[]) => ({ p50: round(percentile(xs, 50), 0), p95: round(percentile(xs, 95), 0), max: round(Math.max(0, ...xs), 0) });
  const r = { sessions: ids.length, pauseMs: figures(pauseMs), resumeMs: figures(resumeMs), notAcknowledged };
  process.stderr.write(
    `  pause acknowledged (ms, ${ids.length} sessions one after another): ${JSON.stringify(r.pauseMs)}; resume: ${JSON.stringify(r.resumeMs)}; not acknowledged: ${notAcknowledged.length ? notAcknowledged.join('; ') : 'none'}\n`,
  );
  return r;
}

/**
 * RecordActivityTaskHeartbeat requests the Temporal server has received (its Prometheus
 * counter). The dev server runs every service in one process and the history service counts
 * the same operation again, so only the frontend's lines count (all lines if none is labelled).
 */
async function heartbeatRequests(metricsPort: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const lines = text.split('\n').filter((l) => l.startsWith('service_requests{') && l.includes('operation="RecordActivityTaskHeartbeat"'));
  const frontend = lines.filter((l) => l.includes('service_name="frontend"'));
  return (frontend.length > 0 ? frontend : lines).reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

/** Most workflows asked why they restarted: a query each, and at 3,000 sessions on a loaded machine asking all took over 5 minutes. */
const RESTART_SAMPLE = 300;

/** For sessions that started another attempt after `since` (of the first RESTART_SAMPLE): what their workflows recorded before it, counted. */
async function whyRestarted(sys: BenchSystem, all: number[], since: number): Promise<Record<string, number>> {
  const reasons: Record<string, number> = {};
  const ids = all.slice(0, RESTART_SAMPLE);
  for (let i = 0; i < ids.length; i += 50) {
    const statuses = await Promise.all(
      ids.slice(i, i + 50).map((id) =>
        sys.client.workflow
          .getHandle(deviceSessionWorkflowId(id))
          .query(statusQuery)
          .catch(() => undefined),
      ),
    );
    for (const st of statuses) {
      const recent = (st?.recent ?? []).filter((r) => r.at >= since);
      if (!recent.some((r) => r.state === 'connecting')) continue;
      const why = st?.lastError ?? recent.map((r) => `${r.state}${r.detail ? `: ${r.detail}` : ''}`).join(' → ');
      reasons[why.slice(0, 160)] = (reasons[why.slice(0, 160)] ?? 0) + 1;
    }
  }
  return reasons;
}
