/**
 * Scenario 3: many concurrent device sessions — each a workflow with a
 * heartbeating activity — held for minutes. Reports sessions streaming over
 * time, re-attempts (a missed heartbeat shows up as one), Temporal CPU and
 * collector memory per 100 sessions.
 */
import os from 'node:os';
import { deviceSessionWorkflowId, statusQuery } from '../../core/names';
import { pauseDevice, resumeDevice } from '../../temporal/fleet-client';
import { frontendRequests, requestsBetween } from '../lib/temporal-metrics';
import { CpuMeter, percentile, rssBytes } from '../lib/procstat';
import { countersProfile, scrape, sleep, type BenchSystem } from '../lib/system';
import { round } from './pipeline';

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
  holdSeconds: number;
  intervalMs: number;
  /** Sessions placed on the collector's own queue (ADR 110, as production starts them); false: the shared queue. */
  placement?: boolean;
  /** Sessions paused then resumed one after another after the last hold, each timed (update acknowledged). */
  pauses?: number;
}

/** Figures of one step of the scale scenario (`sessions` held for the hold time). */
export interface ScaleStep {
  sessions: number;
  streamingAfterRamp: number;
  rampSeconds: number;
  minStreamingDuringHold: number;
  sessionRestartsDuringHold: number;
  sessionFailuresDuringHold: number;
  temporalCpuPercent: number;
  collectorCpuPercent: number;
  simulatorCpuPercent: number;
  /** Median of the collector's RSS samples (every 5 s) over the hold. */
  collectorRssMiB: number;
  /** RSS growth from the previous step (or from no session) divided by the sessions streaming that were added (not the sessions asked for: a ramp may not finish). */
  collectorRssKiBPerAddedSession: number;
  heartbeatRequestsPerSessionPerMinute: number;
  /** Every request the Temporal frontend received during the hold (workers' polls included), per session per minute. */
  temporalRequestsPerSessionPerMinute: number;
  /** The same by operation (per session per minute), largest first. */
  temporalRequestsByOperation: Record<string, number>;
  eventLoopDelayP99MaxMs: number;
  /** Renewals of the collector's lease that came after it had lapsed, during the hold (ADR 165; target 0). */
  leaseLapsesDuringHold: number;
  /** The longest gap between two lease renewals since the collector started (its /metrics gauge). */
  leaseRenewalGapMaxSeconds: number;
  /** The machine's 1-minute load average at the end of the hold (it is shared: other runs count too). */
  loadAverage1m: number;
  restartReasons: Record<string, number>;
}

export async function scale(sys: BenchSystem, o: ScaleOptions) {
  const steps = [...new Set([...(o.steps ?? []).filter((n) => n > 0 && n < o.sessions), o.sessions])].sort((a, b) => a - b);
  const sim = await sys.startSimulator(o.sessions, 1);
  sys.spawn('control', 'workers/control.ts');
  const collector = await sys.startCollector('collector', { COLLECTOR_MAX_SESSIONS: String(Math.max(1000, o.sessions)) });
  // The collector's RSS with no session (the lowest of 15 s of samples: start-up garbage is
  // released in that time), so the per-session figure is the growth, not the whole process divided.
  let idleRss = Infinity;
  for (let i = 0; i < 15; i++) {
    await sleep(1000);
    idleRss = Math.min(idleRss, rssBytes(collector.child.pid!));
  }
  const ids: number[] = [];
  const done: ScaleStep[] = [];
  let previousRss = idleRss;
  for (const target of steps) {
    const rampStart = Date.now();
    const sessionOptions = o.placement === false ? undefined : { placement: true, placedHeartbeatTimeoutMs: 60_000 };
    ids.push(...(await sys.addDevices(sim.ports.slice(ids.length, target), countersProfile(o.intervalMs), { prefix: `scale${target}`, sessionOptions })));
    let streaming = 0;
    const rampDeadline = Date.now() + 300_000 + target * 60;
    while (Date.now() < rampDeadline) {
      streaming = await streamingCount(collector.metricsPort);
      if (streaming >= ids.length) break;
      await sleep(2000);
    }
    const rampSeconds = (Date.now() - rampStart) / 1000;
    process.stderr.write(`  ${streaming}/${ids.length} sessions streaming after ${Math.round(rampSeconds)} s; holding for ${o.holdSeconds} s\n`);
    const failures0 = await scrape(collector.metricsPort, 'session_failures_total');
    const transitions0 = await scrape(collector.metricsPort, 'sessions_streaming_transitions_total');
    const lapses0 = await scrape(collector.metricsPort, 'collector_lease_lapses_total');
    const heartbeats0 = await heartbeatRequests(sys.temporalMetricsPort);
    const requests0 = await frontendRequests(sys.temporalMetricsPort);
    const meter = new CpuMeter(() => ({ temporal: sys.temporalPids(), collector: [collector.child.pid!], simulator: [sim.child.child.pid!] }));
    meter.begin();
    const t0 = Date.now();
    let minStreaming = Infinity;
    let loopP99Max = 0;
    const rssSamples: number[] = [];
    while (Date.now() - t0 < o.holdSeconds * 1000) {
      await sleep(5000);
      minStreaming = Math.min(minStreaming, await streamingCount(collector.metricsPort));
      loopP99Max = Math.max(loopP99Max, await scrape(collector.metricsPort, 'event_loop_delay_seconds{quantile="0.99"}'));
      rssSamples.push(rssBytes(collector.child.pid!));
    }
    const cpu = meter.end();
    const heldMinutes = (Date.now() - t0) / 60_000;
    const heartbeats = (await heartbeatRequests(sys.temporalMetricsPort)) - heartbeats0;
    const requests = requestsBetween(requests0, await frontendRequests(sys.temporalMetricsPort));
    const perSessionMinute = (n: number) => round(n / ids.length / heldMinutes, 2);
    const byOperation = Object.fromEntries(Object.entries(requests).sort((a, b) => b[1] - a[1]).map(([op, n]) => [op, perSessionMinute(n)]));
    // A re-attempt during the hold means a session broke (for instance a heartbeat timeout).
    const reattempts = (await scrape(collector.metricsPort, 'sessions_streaming_transitions_total')) - transitions0;
    const failures = (await scrape(collector.metricsPort, 'session_failures_total')) - failures0;
    const leaseLapses = (await scrape(collector.metricsPort, 'collector_lease_lapses_total')) - lapses0;
    const leaseGapMax = await scrape(collector.metricsPort, 'collector_lease_renewal_gap_max_seconds');
    const rss = percentile(rssSamples.length ? rssSamples : [rssBytes(collector.child.pid!)], 50);
    const restartReasons = reattempts > 0 ? await whyRestarted(sys, ids, t0) : {};
    if (reattempts > 0) process.stderr.write(`  re-attempts during the hold, by what the workflows recorded: ${JSON.stringify(restartReasons)}\n`);
    const added = Math.max(1, streaming - (done.at(-1)?.streamingAfterRamp ?? 0));
    done.push({
      sessions: ids.length,
      streamingAfterRamp: streaming,
      rampSeconds: round(rampSeconds, 1),
      minStreamingDuringHold: minStreaming === Infinity ? 0 : minStreaming,
      sessionRestartsDuringHold: reattempts,
      sessionFailuresDuringHold: failures,
      temporalCpuPercent: cpu.temporal,
      collectorCpuPercent: cpu.collector,
      simulatorCpuPercent: cpu.simulator,
      collectorRssMiB: round(rss / 2 ** 20, 1),
      collectorRssKiBPerAddedSession: round((rss - previousRss) / 1024 / added, 1),
      heartbeatRequestsPerSessionPerMinute: perSessionMinute(heartbeats),
      temporalRequestsPerSessionPerMinute: perSessionMinute(Object.values(requests).reduce((a, b) => a + b, 0)),
      temporalRequestsByOperation: byOperation,
      eventLoopDelayP99MaxMs: round(loopP99Max * 1000, 1),
      leaseLapsesDuringHold: leaseLapses,
      leaseRenewalGapMaxSeconds: round(leaseGapMax, 2),
      loadAverage1m: round(os.loadavg()[0], 1),
      restartReasons,
    });
    process.stderr.write(`  Temporal requests per session per minute: ${done.at(-1)!.temporalRequestsPerSessionPerMinute} (${JSON.stringify(byOperation)})\n`);
    process.stderr.write(`  ${ids.length} sessions: collector RSS ${round(rss / 2 ** 20, 1)} MiB (+${done.at(-1)!.collectorRssKiBPerAddedSession} KiB per added session), CPU ${cpu.collector} %, Temporal ${cpu.temporal} %, simulator ${cpu.simulator} %; event-loop p99 max ${round(loopP99Max * 1000, 1)} ms; lease lapses ${leaseLapses}, longest renewal gap ${round(leaseGapMax, 2)} s; load average ${round(os.loadavg()[0], 1)}\n`);
    previousRss = rss;
  }
  const last = done.at(-1)!;
  const pauseResume = await timePauses(sys, ids.slice(0, Math.min(ids.length, o.pauses ?? 20)));
  return {
    sessions: last.sessions,
    streamingAfterRamp: last.streamingAfterRamp,
    rampSeconds: last.rampSeconds,
    holdSeconds: o.holdSeconds,
    minStreamingDuringHold: last.minStreamingDuringHold,
    sessionRestartsDuringHold: done.reduce((n, s) => n + s.sessionRestartsDuringHold, 0),
    sessionFailuresDuringHold: done.reduce((n, s) => n + s.sessionFailuresDuringHold, 0),
    temporalCpuPercent: last.temporalCpuPercent,
    temporalCpuPercentPer100Sessions: round((last.temporalCpuPercent * 100) / last.sessions, 2),
    collectorCpuPercent: last.collectorCpuPercent,
    collectorRssMiB: last.collectorRssMiB,
    collectorRssMiBPer100Sessions: round(last.collectorRssMiB / (last.sessions / 100), 1),
    collectorIdleRssMiB: round(idleRss / 2 ** 20, 1),
    /** Growth from no session to the last step, divided by its sessions. */
    collectorRssKiBPerSession: round((last.collectorRssMiB * 1024 - idleRss / 1024) / last.sessions, 1),
    /** Growth between the first and the last step per streaming session added (fixed costs that arrive with the first points left out); the first step's figure when there is one step. */
    collectorRssKiBPerSessionSlope: done.length > 1 ? round(((last.collectorRssMiB - done[0].collectorRssMiB) * 1024) / Math.max(1, last.streamingAfterRamp - done[0].streamingAfterRamp), 1) : done[0].collectorRssKiBPerAddedSession,
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
  for (const id of ids) {
    let t0 = performance.now();
    await pauseDevice(sys.client, id, 'scale benchmark');
    pauseMs.push(performance.now() - t0);
    t0 = performance.now();
    await resumeDevice(sys.client, id, 'scale benchmark');
    resumeMs.push(performance.now() - t0);
  }
  const figures = (xs: number[]) => ({ p50: round(percentile(xs, 50), 0), p95: round(percentile(xs, 95), 0), max: round(Math.max(0, ...xs), 0) });
  const r = { sessions: ids.length, pauseMs: figures(pauseMs), resumeMs: figures(resumeMs) };
  process.stderr.write(`  pause acknowledged (ms, ${ids.length} sessions one after another): ${JSON.stringify(r.pauseMs)}; resume: ${JSON.stringify(r.resumeMs)}\n`);
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
    const statuses = await Promise.all(ids.slice(i, i + 50).map((id) => sys.client.workflow.getHandle(deviceSessionWorkflowId(id)).query(statusQuery).catch(() => undefined)));
    for (const st of statuses) {
      const recent = (st?.recent ?? []).filter((r) => r.at >= since);
      if (!recent.some((r) => r.state === 'connecting')) continue;
      const why = st?.lastError ?? recent.map((r) => `${r.state}${r.detail ? `: ${r.detail}` : ''}`).join(' → ');
      reasons[why.slice(0, 160)] = (reasons[why.slice(0, 160)] ?? 0) + 1;
    }
  }
  return reasons;
}

async function streamingCount(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const m = /^sessions\{state="streaming"\} (\d+)/m.exec(text);
  return m ? Number(m[1]) : 0;
}
