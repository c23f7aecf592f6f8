/**
 * Alerting activities (issue 18) on the `control` task queue: evaluate a rule (threshold
 * through the fleet query model, absence from the newest stored samples, session state
 * from the device_session_state mirror), mirror its instances and record transitions,
 * deliver one notification to a webhook contact point, and reconcile rule workflows
 * with the alert_rules table. No SQL here: storage/alerts.ts, and query/alert-evaluation.ts for what a rule observes.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import { notificationBody, signBody } from '../core/alert-notification';
import { createLogger } from '../core/log';
import type { AlertRuleOptions } from '../core/names';
import { createAlertEvaluator } from '../query/alert-evaluation';
import type { Queryable } from '../query/router';
import { listAlertRules, loadContactPoint, recordAlertInstances, recordAlertTransitions, recordDeliveryAttempt } from '../storage/alerts';
import type { Keyring } from '../storage/secrets';
import { editAlertRule, listAlertRuleWorkflows, startAlertRule, stopAlertRule } from '../temporal/alert-client';
import { syncSessionStates } from '../fleet/bulk';
import type { AlertActivities, AlertEvaluation, AlertReconcileReport } from './types';

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

/** Build the alert activities. */
export function createAlertActivities(deps: AlertDeps): AlertActivities {
  const evaluator = createAlertEvaluator({
    ...deps,
    refreshSessionMirror: deps.refreshSessionMirror ? () => syncSessionStates(deps.db, deps.client) : undefined,
  });
  return {
    async evaluateAlertRule(rule, step): Promise<AlertEvaluation> {
      try {
        return await evaluator(rule, step);
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
