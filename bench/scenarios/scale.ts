/**
 * Scenario 3: many concurrent device sessions — each a workflow with a
 * heartbeating activity — held for minutes. Reports sessions streaming over
 * time, re-attempts (a missed heartbeat shows up as one), Temporal CPU and
 * collector memory per 100 sessions.
 */
import { deviceSessionWorkflowId, statusQuery } from '../../core/names';
import { CpuMeter, pidsMatching, rssBytes } from '../lib/procstat';
import { countersProfile, scrape, sleep, type BenchSystem } from '../lib/system';
import { round } from './pipeline';

/** Scale options. */
export interface ScaleOptions {
  sessions: number;
  holdSeconds: number;
  intervalMs: number;
}

export async function scale(sys: BenchSystem, o: ScaleOptions) {
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
  const rampStart = Date.now();
  const ids = await sys.addDevices(sim.ports, countersProfile(o.intervalMs), { prefix: 'scale' });
  let streaming = 0;
  const rampDeadline = Date.now() + 300_000;
  while (Date.now() < rampDeadline) {
    streaming = await streamingCount(collector.metricsPort);
    if (streaming >= ids.length) break;
    await sleep(2000);
  }
  const rampSeconds = (Date.now() - rampStart) / 1000;
  process.stderr.write(`  ${streaming}/${ids.length} sessions streaming after ${Math.round(rampSeconds)} s; holding for ${o.holdSeconds} s\n`);
  const failures0 = await scrape(collector.metricsPort, 'session_failures_total');
  const transitions0 = await scrape(collector.metricsPort, 'sessions_streaming_transitions_total');
  const heartbeats0 = await heartbeatRequests(sys.temporalMetricsPort);
  const meter = new CpuMeter(() => ({ temporal: pidsMatching('server start-dev'), collector: [collector.child.pid!], simulator: [sim.child.child.pid!] }));
  meter.begin();
  const t0 = Date.now();
  let minStreaming = Infinity;
  let loopP99Max = 0;
  while (Date.now() - t0 < o.holdSeconds * 1000) {
    await sleep(5000);
    minStreaming = Math.min(minStreaming, await streamingCount(collector.metricsPort));
    loopP99Max = Math.max(loopP99Max, await scrape(collector.metricsPort, 'event_loop_delay_seconds{quantile="0.99"}'));
  }
  const cpu = meter.end();
  const heldMinutes = (Date.now() - t0) / 60_000;
  const heartbeats = (await heartbeatRequests(sys.temporalMetricsPort)) - heartbeats0;
  // A re-attempt during the hold means a session broke (for instance a heartbeat timeout).
  const reattempts = (await scrape(collector.metricsPort, 'sessions_streaming_transitions_total')) - transitions0;
  const failures = (await scrape(collector.metricsPort, 'session_failures_total')) - failures0;
  const rss = rssBytes(collector.child.pid!);
  const restartReasons = reattempts > 0 ? await whyRestarted(sys, ids, t0) : {};
  if (reattempts > 0) process.stderr.write(`  re-attempts during the hold, by what the workflows recorded: ${JSON.stringify(restartReasons)}\n`);
  return {
    sessions: ids.length,
    streamingAfterRamp: streaming,
    rampSeconds: round(rampSeconds, 1),
    holdSeconds: o.holdSeconds,
    minStreamingDuringHold: minStreaming === Infinity ? 0 : minStreaming,
    sessionRestartsDuringHold: reattempts,
    sessionFailuresDuringHold: failures,
    temporalCpuPercent: cpu.temporal,
    temporalCpuPercentPer100Sessions: round((cpu.temporal * 100) / ids.length, 2),
    collectorCpuPercent: cpu.collector,
    collectorRssMiB: round(rss / 2 ** 20, 1),
    collectorRssMiBPer100Sessions: round(rss / 2 ** 20 / (ids.length / 100), 1),
    collectorIdleRssMiB: round(idleRss / 2 ** 20, 1),
    collectorRssKiBPerSession: round((rss - idleRss) / 1024 / ids.length, 1),
    /** RecordActivityTaskHeartbeat requests the Temporal server received during the hold. */
    heartbeatRequestsPerSessionPerMinute: round(heartbeats / ids.length / heldMinutes, 2),
    eventLoopDelayP99MaxMs: round(loopP99Max * 1000, 1),
    restartReasons,
  };
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

/** For sessions that started another attempt after `since`: what their workflows recorded before it, counted. */
async function whyRestarted(sys: BenchSystem, ids: number[], since: number): Promise<Record<string, number>> {
  const reasons: Record<string, number> = {};
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
