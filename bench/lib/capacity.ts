/**
 * Capacity search: offer a rate, hold it for a window, judge it, step the rate up
 * until a window fails, then bisect between the last rate held and the first one
 * that was not. A window is held when nothing is dropped, at least 97 % of the
 * offered points were committed (a generator held back by flow control counts as
 * not held) and the ingest lag p99 is under the bound. Works for any pipeline that
 * can say how many points it has committed and how stale its newest rows are (ours
 * and the Telegraf peer's).
 */
import { CpuMeter, percentile, rssBytes } from './procstat';
import { sleep } from './system';

/** The pipeline under test, as the search sees it. */
export interface CapacityTarget {
  /** Offer this many points per second from now on. */
  setRate(pointsPerSecond: number): Promise<void>;
  /** Points committed so far (cumulative). */
  committed(): Promise<number>;
  /** Points dropped so far (cumulative), 0 when the pipeline does not count drops. */
  dropped(): Promise<number>;
  /**
   * Ingest lag now, ms: how far behind the wall clock the newest committed point of the
   * stalest probed series is (point timestamp → committed row; includes up to one
   * sample interval, so it errs high).
   */
  lagMs(): Promise<number>;
  /** Processes per group (CPU and RSS are reported per group). */
  pids(): Record<string, number[]>;
  /** Event-loop delay p99 of the collector now, ms (ours only). */
  eventLoopP99Ms?(): Promise<number>;
}

/** Search settings. */
export interface CapacityOptions {
  /** First rate offered. */
  startRate: number;
  /** Stop stepping up here even when it holds. */
  maxRate: number;
  /** Each step up multiplies the rate by this. */
  growth: number;
  /** Seconds a rate must be held (60 in full runs). */
  windowSeconds: number;
  /** Bisection steps after the first failed window. */
  bisectSteps: number;
  /** Lag bound, ms (p99 over the window). */
  lagP99BoundMs: number;
}

/** One window at one offered rate. */
export interface Trial {
  offered: number;
  committedPerSecond: number;
  dropped: number;
  lagP99Ms: number;
  lagMaxMs: number;
  held: boolean;
  why?: string;
  /** False when the previous window's backlog had not drained after 60 s (this window inherited it). */
  drained: boolean;
  cpuPercent: Record<string, number>;
  /** µs of CPU per committed point, per process group. */
  cpuUsPerPoint: Record<string, number>;
  rssMaxMiB: Record<string, number>;
  eventLoopP99MaxMs?: number;
}

/** Run the search; `log` gets one line per window. */
export async function searchCapacity(t: CapacityTarget, o: CapacityOptions, log: (line: string) => void) {
  const trials: Trial[] = [];
  let held: Trial | undefined;
  let failed: Trial | undefined;
  const attempt = async (rate: number) => {
    const r = await trial(t, Math.round(rate), o);
    trials.push(r);
    log(`    ${r.offered} points/s offered: ${r.committedPerSecond} committed/s, lag p99 ${r.lagP99Ms} ms, dropped ${r.dropped} → ${r.held ? 'held' : `not held (${r.why})`}`);
    return r;
  };
  let rate = o.startRate;
  // Step up until a window fails (or down, when even the first rate is not held).
  for (;;) {
    const r = await attempt(rate);
    if (r.held) {
      held = r;
      if (failed || rate * o.growth > o.maxRate) break;
      rate *= o.growth;
    } else {
      failed = r;
      if (held || rate / o.growth < o.startRate / o.growth ** 3) break;
      rate /= o.growth;
    }
  }
  for (let i = 0; i < o.bisectSteps && held && failed && failed.offered / held.offered > 1.06; i++) {
    const r = await attempt((held.offered + failed.offered) / 2);
    if (r.held) held = r;
    else failed = r;
  }
  return { sustained: held, firstNotHeld: failed, trials };
}

async function trial(t: CapacityTarget, rate: number, o: CapacityOptions): Promise<Trial> {
  await t.setRate(rate);
  // Let the previous window's backlog drain before measuring (a fact: the lag is back under 1 s).
  const drainDeadline = Date.now() + 60_000;
  let drained = true;
  while ((await t.lagMs()) > 1000) {
    if (Date.now() > drainDeadline) {
      drained = false;
      break;
    }
    await sleep(500);
  }
  await sleep(3000); // the new rate reaches every stream within one sample interval
  const meter = new CpuMeter(() => t.pids());
  const c0 = await t.committed();
  const d0 = await t.dropped();
  meter.begin();
  const t0 = performance.now();
  const lags: number[] = [];
  const rss: Record<string, number> = {};
  let loopMax = 0;
  let lastLoop = 0;
  while (performance.now() - t0 < o.windowSeconds * 1000) {
    await sleep(500);
    lags.push(await t.lagMs());
    for (const [name, pids] of Object.entries(t.pids())) rss[name] = Math.max(rss[name] ?? 0, pids.reduce((a, p) => a + safeRss(p), 0));
    if (t.eventLoopP99Ms && performance.now() - lastLoop > 5000) {
      lastLoop = performance.now();
      loopMax = Math.max(loopMax, await t.eventLoopP99Ms());
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = meter.end();
  const committed = (await t.committed()) - c0;
  const dropped = (await t.dropped()) - d0;
  const perSecond = committed / seconds;
  const lagP99 = percentile(lags, 99);
  const why = [
    dropped > 0 ? `${dropped} dropped` : '',
    perSecond < 0.97 * rate ? `${Math.round((perSecond / rate) * 100)} % of the offered rate committed` : '',
    !(lagP99 < o.lagP99BoundMs) ? `lag p99 ${Math.round(lagP99)} ms` : '',
  ].filter(Boolean);
  return {
    offered: rate,
    committedPerSecond: Math.round(perSecond),
    dropped,
    lagP99Ms: Math.round(lagP99),
    lagMaxMs: Math.round(Math.max(...lags)),
    held: why.length === 0,
    drained,
    why: why.join(', ') || undefined,
    cpuPercent: cpu,
    cpuUsPerPoint: Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, perSecond > 0 ? Math.round((v / 100 / perSecond) * 1e8) / 100 : NaN])),
    rssMaxMiB: Object.fromEntries(Object.entries(rss).map(([k, v]) => [k, Math.round((v / 2 ** 20) * 10) / 10])),
    eventLoopP99MaxMs: t.eventLoopP99Ms ? Math.round(loopMax * 10) / 10 : undefined,
  };
}

function safeRss(pid: number): number {
  try {
    return rssBytes(pid);
  } catch {
    return 0;
  }
}
