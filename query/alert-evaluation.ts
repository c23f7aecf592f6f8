/**
 * What an alert rule observes (issue 18): a threshold through the fleet query model, absence from
 * the newest stored samples, session state from the device_session_state mirror; and the silences
 * in force. Rules asking the same question at the same step share one answer (ADR 190), at most
 * `evalConcurrency` computations run at once, and the figures are logged every `statsEveryMs`.
 * The alert activities (activities/alerts.ts) call it; no Temporal here.
 */
import type { Knex } from 'knex';
import { thresholdCondition, type AlertEvaluation, type AlertObservation } from '../core/alert-machine';
import { instanceLabels, type AlertRuleDefinition } from '../core/alert-rules';
import { ConcurrencyLimit } from '../core/concurrency-limit';
import { createLogger } from '../core/log';
import { StepCache } from '../core/step-cache';
import { activeSilences, newestSampleTimes, sessionStatesFor } from '../storage/alerts';
import { MAX_FLEET_SERIES, queryFleet, resolveFleetSeries } from './fleet-query';
import type { Queryable } from './router';

const log = createLogger('alerts');

/** What evaluation reads through, and its bounds. */
export interface AlertEvaluatorDeps {
  db: Knex;
  /** Parameterised queries for the fleet query model (a pg Pool). */
  pool: Queryable;
  /** Computations (fleet queries, newest-sample reads, mirror refreshes) run at once (ALERT_EVAL_CONCURRENCY); default 3. */
  evalConcurrency?: number;
  /** How often (ms) the evaluation figures are logged; default 60 s. */
  statsEveryMs?: number;
  /** Refresh the session-state mirror before a session rule reads it (the control worker: from Temporal visibility). */
  refreshSessionMirror?: () => Promise<unknown>;
}

/** What a step's shared answers and the concurrency bound are kept in (one per activities object: per control worker). */
interface EvalShared {
  answers: StepCache<unknown>;
  limit: ConcurrencyLimit;
  /**
   * Figures since the last stats line, of aligned evaluations (ms): lateness (start − when it was due: the step
   * plus the rule's phase, ADR 225), step age (start − the step) and durations.
   */
  lateness: number[];
  stepAge: number[];
  durations: number[];
  evaluations: number;
  /** Computations run (not shared) since the last stats line, by the key's first word (fleet, absence, silences, session). */
  computed: Record<string, number>;
  lastStatsAt: number;
}

/**
 * The answer for `key` at step `at` (shared by every rule asking it at that step, kept one interval), or
 * computed afresh without a step; either way at most evalConcurrency computations run at once.
 */
function stepShared<T>(sh: EvalShared, at: number | undefined, ttlMs: number, key: string, compute: () => Promise<T>): Promise<T> {
  const bounded = async () => {
    const kind = key.split(' ', 1)[0];
    sh.computed[kind] = (sh.computed[kind] ?? 0) + 1;
    const release = (await sh.limit.enter(0))!;
    try {
      return await compute();
    } finally {
      release();
    }
  };
  if (at === undefined) return bounded();
  return sh.answers.get(`${at} ${key}`, ttlMs, bounded) as Promise<T>;
}

/** Label names a threshold group gets (besides `group`). */
const GROUP_LABEL: Record<string, string> = { device: 'device', site: 'site', protocol: 'protocol', series: 'series' };

/**
 * What a threshold rule asks the fleet query model at `to`: everything but its comparison (op, threshold,
 * recovery), so rules differing only in those, severity, `for` or labels share it (ADR 190).
 */
export function thresholdQuery(spec: Extract<AlertRuleDefinition['spec'], { kind: 'threshold' }>, to: number) {
  return {
    path: spec.path,
    rate: spec.rate,
    agg: spec.agg,
    groupBy: spec.groupBy,
    from: to - spec.windowMs,
    to,
    widthPx: Math.max(1, Math.min(4000, Math.round(spec.windowMs / 5000))),
  };
}

async function evaluate(deps: AlertEvaluatorDeps, sh: EvalShared, rule: AlertRuleDefinition, at?: number): Promise<AlertObservation[]> {
  const now = at ?? Date.now();
  const spec = rule.spec;
  const labels = (own: Record<string, string>) => instanceLabels(rule, own);
  const shared = <T>(key: string, compute: () => Promise<T>) => stepShared(sh, at, rule.intervalMs, key, compute);
  if (spec.kind === 'threshold') {
    const query = thresholdQuery(spec, now);
    const res = await shared(`fleet ${JSON.stringify(query)}`, () => queryFleet(deps.pool, query));
    return res.groups.map((g) => {
      const newest = [...g.points].reverse().find((p) => p.v !== null);
      const value = newest?.v ?? null;
      const groupLabel = spec.groupBy ? (GROUP_LABEL[spec.groupBy] ?? spec.groupBy.replace(/\[.*$/, '')) : undefined;
      return { key: g.key, labels: labels(groupLabel ? { group: g.key, [groupLabel]: g.key } : {}), value, ...thresholdCondition(spec, value) };
    });
  }
  if (spec.kind === 'absence') {
    // The newest sample per device of the path's series (shared by absence rules on the same path and silence at a step).
    const byDevice = await shared(`absence ${JSON.stringify([spec.path, spec.silentMs])}`, async () => {
      const series = await resolveFleetSeries(deps.pool, spec.path, undefined, MAX_FLEET_SERIES);
      const newest = await newestSampleTimes(
        deps.db,
        series.map((s) => s.id),
        spec.silentMs * 2,
      );
      const out = new Map<string, number | undefined>();
      for (const s of series) {
        const t = newest.get(s.id);
        const prev = out.get(s.deviceName);
        out.set(s.deviceName, t === undefined ? prev : Math.max(prev ?? 0, t));
      }
      return out;
    });
    return [...byDevice].map(([device, t]) => {
      const silentFor = t === undefined ? null : (now - t) / 1000;
      const active = t === undefined || now - t > spec.silentMs;
      return { key: device, labels: labels({ device }), value: silentFor, active, clear: !active };
    });
  }
  if (deps.refreshSessionMirror) await shared('session mirror', deps.refreshSessionMirror);
  const rows = await sessionStatesFor(deps.db, spec.states);
  return rows
    .filter((r) => r.state !== 'backoff' || r.sinceMs > spec.backoffLongerThanMs)
    .map((r) => ({ key: r.deviceName, labels: labels({ device: r.deviceName, session_state: r.state }), value: r.sinceMs / 1000, active: true, clear: false }));
}

/** An evaluator of alert rules, with its own shared answers and bound (one per control worker). */
export function createAlertEvaluator(deps: AlertEvaluatorDeps): (rule: AlertRuleDefinition, step?: { at: number; dueAt?: number }) => Promise<AlertEvaluation> {
  const sh: EvalShared = {
    answers: new StepCache(),
    limit: new ConcurrencyLimit(() => Math.max(1, deps.evalConcurrency ?? 3), Infinity),
    lateness: [],
    stepAge: [],
    durations: [],
    evaluations: 0,
    computed: {},
    lastStatsAt: Date.now(),
  };
  const statsEveryMs = deps.statsEveryMs ?? 60_000;
  const noteEvaluation = (step: { at: number; dueAt?: number } | undefined, started: number) => {
    sh.evaluations++;
    if (step !== undefined && sh.lateness.length < 100_000) {
      sh.lateness.push(started - (step.dueAt ?? step.at));
      sh.stepAge.push(started - step.at);
      sh.durations.push(Date.now() - started);
    }
    if (Date.now() - sh.lastStatsAt < statsEveryMs) return;
    const s = sh.answers.takeStats();
    const q = (xs: number[], p: number) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(p * xs.length) - 1)] : null);
    log.info('alert evaluation figures', {
      periodMs: Date.now() - sh.lastStatsAt,
      evaluations: sh.evaluations,
      aligned: sh.lateness.length,
      computed: sh.computed,
      sharedAnswers: s.shared,
      failedQueries: s.failed,
      latenessP50Ms: q(sh.lateness, 0.5),
      latenessP99Ms: q(sh.lateness, 0.99),
      stepAgeP50Ms: q(sh.stepAge, 0.5),
      stepAgeP99Ms: q(sh.stepAge, 0.99),
      durationP50Ms: q(sh.durations, 0.5),
      durationP99Ms: q(sh.durations, 0.99),
    });
    Object.assign(sh, { lateness: [], stepAge: [], durations: [], evaluations: 0, computed: {}, lastStatsAt: Date.now() });
  };
  return async (rule, step) => {
    const started = Date.now();
    const at = step?.at;
    const observations = await evaluate(deps, sh, rule, at);
    const silences = (await stepShared(sh, at, rule.intervalMs, 'silences', () => activeSilences(deps.db))).map((s) => s.matchers);
    noteEvaluation(step, started);
    return { at: at ?? Date.now(), observations, silences };
  };
}
