/**
 * Alert-rule workflows (issue 18) seen from outside: start (idempotent), edit, silence,
 * evaluate now, stop, status, and listing by visibility query. Used by the alert
 * reconcile activity, the web app and ctl.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import {
  TASK_QUEUES,
  WORKFLOW_TYPES,
  alertEditUpdate,
  alertEvaluateSignal,
  alertRuleWorkflowId,
  alertStatusQuery,
  alertStopSignal,
  ruleIdFromWorkflowId,
  type AlertRuleOptions,
  type AlertRuleStatus,
} from '../core/names';
import type { AlertRuleDefinition } from '../core/alert-rules';
import type { Config } from '../core/config';
import type { alertRuleWorkflow } from '../workflows/alert-rule';

/** Options every started rule workflow gets, from configuration (control worker, web). */
export function alertRuleOptionsFromConfig(config: Pick<Config, 'ALERT_DELIVERY_MAX_ATTEMPTS' | 'ALERT_MAX_EVALUATIONS'>): AlertRuleOptions {
  return { deliveryMaxAttempts: config.ALERT_DELIVERY_MAX_ATTEMPTS, maxEvaluations: config.ALERT_MAX_EVALUATIONS };
}

/** One line Temporal Web shows for a rule's workflow. */
export function alertRuleSummary(rule: AlertRuleDefinition): string {
  return `Alert rule ${rule.name} (${rule.spec.kind}, ${rule.severity}, every ${Math.round(rule.intervalMs / 1000)} s)`;
}

/** Start a rule's workflow; a no-op when it is already running. */
export async function startAlertRule(client: Client, rule: AlertRuleDefinition, options: AlertRuleOptions = {}): Promise<void> {
  await client.workflow.start<typeof alertRuleWorkflow>(WORKFLOW_TYPES.alertRule, {
    workflowId: alertRuleWorkflowId(rule.id),
    taskQueue: TASK_QUEUES.control,
    args: [{ rule, options }],
    workflowIdConflictPolicy: 'USE_EXISTING',
    staticSummary: alertRuleSummary(rule),
    memo: { ruleId: rule.id, ruleName: rule.name, version: rule.version, enabled: rule.enabled },
  });
}

const handle = (client: Client, ruleId: number) => client.workflow.getHandle<typeof alertRuleWorkflow>(alertRuleWorkflowId(ruleId));

/** Hand a running workflow the rule's new definition (edit, enable, disable); its instances are kept. */
export function editAlertRule(client: Client, rule: AlertRuleDefinition): Promise<AlertRuleStatus> {
  return handle(client, rule.id).executeUpdate(alertEditUpdate, { args: [rule] });
}

/** Ask a rule's workflow to evaluate at once (a silence changed); missing workflows are fine. */
export async function evaluateAlertRuleNow(client: Client, ruleId: number): Promise<void> {
  try {
    await handle(client, ruleId).signal(alertEvaluateSignal);
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  }
}

/** End a rule's workflow (rule deleted); missing workflows are fine. */
export async function stopAlertRule(client: Client, ruleId: number, reason?: string): Promise<void> {
  try {
    await handle(client, ruleId).signal(alertStopSignal, { reason });
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  }
}

/** A rule workflow's status, or undefined when none runs. */
export async function alertRuleStatus(client: Client, ruleId: number): Promise<AlertRuleStatus | undefined> {
  try {
    return await handle(client, ruleId).query(alertStatusQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

/** A running rule workflow as visibility sees it. */
export interface AlertRuleWorkflowSummary {
  ruleId: number;
  workflowId: string;
  /** The rule version it last acknowledged (memo). */
  version?: number;
}

/** Running alert-rule workflows. */
export async function listAlertRuleWorkflows(client: Client): Promise<AlertRuleWorkflowSummary[]> {
  const out: AlertRuleWorkflowSummary[] = [];
  for await (const wf of client.workflow.list({ query: `WorkflowType = '${WORKFLOW_TYPES.alertRule}' AND ExecutionStatus = 'Running'` })) {
    const ruleId = ruleIdFromWorkflowId(wf.workflowId);
    if (ruleId === undefined) continue;
    const version = wf.memo?.version;
    out.push({ ruleId, workflowId: wf.workflowId, version: typeof version === 'number' ? version : undefined });
  }
  return out.sort((a, b) => a.ruleId - b.ruleId);
}
