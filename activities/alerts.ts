/**
 * Alerting activities (issue 18) on the `control` task queue: evaluate a rule (threshold
 * through the fleet query model, absence from the newest stored samples, session state
 * from the device_session_state mirror), mirror its instances and record transitions,
 * deliver one notification to a webhook contact point, and reconcile rule workflows
 * with the alert_rules table. No SQL here: storage/alerts.ts and query/fleet-query.ts.
 */
import crypto from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import { thresholdCondition, type AlertObservation, type AlertTransition } from '../core/alert-machine';
import { instanceLabels, type AlertRuleDefinition } from '../core/alert-rules';
import { ConcurrencyLimit } from '../core/concurrency-limit';
import { createLogger } from '../core/log';
import { StepCache } from '../core/step-cache';
import type { AlertRuleOptions } from '../core/names';
import { MAX_FLEET_SERIES, queryFleet, resolveFleetSeries } from '../query/fleet-query';
import type { Queryable } from '../query/router';
import {
  activeSilences,
  listAlertRules,
  loadContactPoint,
  newestSampleTimes,
  recordAlertInstances,
  recordAlertTransitions,
  recordDeliveryAttempt,
  sessionStatesFor,
} from '../storage/alerts';
import type { Keyring } from '../storage/secrets';
import { editAlertRule, listAlertRuleWorkflows, startAlertRule, stopAlertRule } from '../temporal/alert-client';
import { syncSessionStates } from '../fleet/bulk';
import type { AlertActivities, AlertEvaluation, AlertNotification, AlertReconcileReport } from './types';

const log = createLogger('alerts');

/** Dependencies of the alert activities. */
export interface AlertDeps {
  db: Knex;
  /** Parameterised queries for the fleet query model (a pg Pool). */
  pool: Queryable;
  ring: Keyring;
  client: Client;
  ruleOptions?: AlertRuleOptions;
  /** One HTTP attempt's timeout (ms). */
  webhookTimeoutMs?: number;
  /** Where the web app is, for links in notifications. */
  webUrl?: string;
  /**
   * Refresh the device_session_state mirror from Temporal visibility before a session rule
   * reads it (the control worker: the web app's mirror runs only while a web process serves
   * pages). Tests that write the mirror themselves leave it off.
   */
  refreshSessionMirror?: boolean;
  /**
   * Fleet queries (and newest-sample reads, session-mirror refreshes) alert evaluation runs at once on this
   * worker (ALERT_EVAL_CONCURRENCY); more wait their turn (ADR 190). Default 3.
   */
  evalConcurrency?: number;
  /** How often (ms) the evaluation figures (evaluations, fleet queries, shared answers, lateness) are logged; default 60 s. */
  statsEveryMs?: number;
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

async function evaluate(deps: AlertDeps, sh: EvalShared, rule: AlertRuleDefinition, at?: number): Promise<AlertObservation[]> {
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
      const newest = await newestSampleTimes(deps.db, series.map((s) => s.id), spec.silentMs * 2);
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
  if (deps.refreshSessionMirror) await shared('session mirror', () => syncSessionStates(deps.db, deps.client));
  const rows = await sessionStatesFor(deps.db, spec.states);
  return rows
    .filter((r) => r.state !== 'backoff' || r.sinceMs > spec.backoffLongerThanMs)
    .map((r) => ({ key: r.deviceName, labels: labels({ device: r.deviceName, session_state: r.state }), value: r.sinceMs / 1000, active: true, clear: false }));
}

/** The JSON body of a notification (docs/alerting.md): generic, or Slack-compatible. */
export function notificationBody(n: AlertNotification, format: 'generic' | 'slack', webUrl?: string): Record<string, unknown> {
  const t: AlertTransition = n.transition;
  const generic = {
    version: 1,
    idempotencyKey: t.idempotencyKey,
    status: t.to,
    rule: n.rule,
    instance: t.key,
    labels: t.labels,
    value: t.value,
    at: new Date(t.at).toISOString(),
    episodeStartedAt: new Date(t.episode).toISOString(),
    ...(t.reason ? { reason: t.reason } : {}),
    ...(webUrl ? { url: `${webUrl.replace(/\/$/, '')}/alerts` } : {}),
  };
  if (format === 'generic') return generic;
  const icon = t.to === 'firing' ? ':rotating_light:' : ':white_check_mark:';
  const value = t.value === null ? '' : ` (value ${Number(t.value.toPrecision(6))})`;
  return {
    text: `${icon} [${t.to.toUpperCase()}] ${n.rule.name} — ${t.key}${value}, ${n.rule.severity}${t.reason ? `: ${t.reason}` : ''}`,
    idempotency_key: t.idempotencyKey,
    alert: generic,
  };
}

/** `sha256=<hex>` of HMAC-SHA256 over `<timestamp>.<body>` (X-Alert-Signature). */
export function signBody(secret: string, timestamp: string, body: string): string {
  return `sha256=${crypto.createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** Build the alert activities. */
export function createAlertActivities(deps: AlertDeps): AlertActivities {
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
  return {
    async evaluateAlertRule(rule, step): Promise<AlertEvaluation> {
      const started = Date.now();
      const at = step?.at;
      try {
        const observations = await evaluate(deps, sh, rule, at);
        const silences = (await stepShared(sh, at, rule.intervalMs, 'silences', () => activeSilences(deps.db))).map((s) => s.matchers);
        noteEvaluation(step, started);
        return { at: at ?? Date.now(), observations, silences };
      } catch (err) {
        // A rule the query model refuses (bad path, too many groups) will not get better by retrying.
        const name = (err as Error)?.name;
        if (name === 'ZodError' || name === 'PathSyntaxError' || name === 'QueryRefusedError') {
          throw ApplicationFailure.nonRetryable(String((err as Error).message).slice(0, 500), 'RULE_INVALID');
        }
        throw err;
      }
    },

    async recordAlertState({ ruleId, instances, transitions }) {
      await recordAlertTransitions(deps.db, transitions);
      await recordAlertInstances(deps.db, ruleId, instances);
    },

    async deliverAlertNotification(n) {
      const attempt = Context.current().info.attempt;
      const cp = await loadContactPoint(deps.db, deps.ring, n.contactPointId);
      if (!cp) throw ApplicationFailure.nonRetryable(`contact point ${n.contactPointId} no longer exists`, 'NO_CONTACT_POINT');
      const body = JSON.stringify(notificationBody(n, cp.format, deps.webUrl));
      const timestamp = String(Math.floor(Date.now() / 1000));
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'idempotency-key': n.transition.idempotencyKey,
        'x-alert-timestamp': timestamp,
        'user-agent': 'switch-telemetry-alerts/1',
      };
      if (cp.secret) headers['x-alert-signature'] = signBody(cp.secret, timestamp, body);
      const started = performance.now();
      let status: number | undefined;
      try {
        const res = await fetch(cp.url, { method: 'POST', headers, body, signal: AbortSignal.timeout(deps.webhookTimeoutMs ?? 10_000), redirect: 'error' });
        status = res.status;
        await res.arrayBuffer().catch(() => undefined);
      } catch (err) {
        const error = `${(err as Error).name}: ${(err as Error).message}`;
        await recordDeliveryAttempt(deps.db, { idempotencyKey: n.transition.idempotencyKey, contactPointId: cp.id, attempt, ok: false, error, elapsedMs: performance.now() - started });
        throw ApplicationFailure.retryable(`webhook ${cp.name}: ${error}`, 'WEBHOOK_UNREACHABLE');
      }
      const ok = status >= 200 && status < 300;
      await recordDeliveryAttempt(deps.db, {
        idempotencyKey: n.transition.idempotencyKey,
        contactPointId: cp.id,
        attempt,
        ok,
        status,
        error: ok ? undefined : `HTTP ${status}`,
        elapsedMs: performance.now() - started,
      });
      if (!ok) {
        // 4xx other than timeout / too many requests: the receiver refuses this body; retrying sends the same.
        const permanent = status >= 400 && status < 500 && status !== 408 && status !== 429;
        const message = `webhook ${cp.name} answered HTTP ${status}`;
        throw permanent ? ApplicationFailure.nonRetryable(message, 'WEBHOOK_REFUSED') : ApplicationFailure.retryable(message, 'WEBHOOK_FAILED');
      }
      return { status, attempt };
    },

    async reconcileAlertRules(): Promise<AlertReconcileReport> {
      const rules = await listAlertRules(deps.db);
      const running = new Map((await listAlertRuleWorkflows(deps.client)).map((w) => [w.ruleId, w]));
      const report: AlertReconcileReport = { rules: rules.length, started: 0, updated: 0, stopped: 0 };
      for (const rule of rules) {
        const wf = running.get(rule.id);
        if (!wf) {
          if (!rule.enabled) continue;
          await startAlertRule(deps.client, rule, deps.ruleOptions);
          report.started++;
        } else if (wf.version !== rule.version) {
          await editAlertRule(deps.client, rule);
          report.updated++;
        }
      }
      const known = new Set(rules.map((r) => r.id));
      for (const wf of running.values()) {
        if (!known.has(wf.ruleId)) {
          await stopAlertRule(deps.client, wf.ruleId, 'rule no longer in the database');
          report.stopped++;
        }
      }
      if (report.started || report.updated || report.stopped) log.info('reconciled alert rules', { ...report });
      return report;
    },
  };
}
