/**
 * Creating, editing and deleting an alert rule (issue 18), shared by the web app's rule
 * editor and `ctl rules`: the rule is validated by the one rule schema (core/alert-rules.ts,
 * through storage/alerts.ts), stored with who changed it in the same transaction
 * (alert_rule_events: created / edited / deleted, actor, version), then handed to its
 * workflow at once — started when missing (enabled rules, USE_EXISTING), then the `editRule`
 * update, which keeps every instance; a deletion signals `stopRule`. When Temporal cannot be
 * told, the change is kept and `workflowError` says why: the alert reconcile applies it
 * within a minute.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Knex } from 'knex';
import type { AlertRuleDefinition, AlertRuleInput } from '../core/alert-rules';
import type { AlertRuleOptions } from '../core/names';
import { alertRuleNameTaken, createAlertRule, deleteAlertRule, getAlertRule, listAlertRules, recordAlertRuleEvent, updateAlertRule } from '../storage/alerts';
import { editAlertRule, startAlertRule, stopAlertRule } from '../temporal/alert-client';

/** A rule name another rule already has (rule names are unique). */
export class RuleNameTakenError extends Error {
  constructor(name: string) {
    super(`name: a rule with this name exists (${name})`);
    this.name = 'RuleNameTakenError';
  }
}

/** What a change did: the rule as stored, and why its workflow was not told, if it was not. */
export interface AlertRuleChange {
  rule: AlertRuleDefinition;
  workflowError?: string;
}

/** Where the workflows are: a client, or how to get one (the web app connects lazily). */
type ClientSource = Client | (() => Promise<Client>);
const clientOf = (c: ClientSource) => (typeof c === 'function' ? c() : Promise.resolve(c));

/** Hand a saved rule to its workflow: started when missing (enabled rules), then the edit update, which keeps its instances. */
async function applyToWorkflow(client: Client, rule: AlertRuleDefinition, isNew: boolean, options?: AlertRuleOptions): Promise<void> {
  if (rule.enabled) await startAlertRule(client, rule, options);
  if (isNew) return;
  try {
    await editAlertRule(client, rule);
  } catch (err) {
    // A disabled rule whose workflow never ran: nothing to tell.
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  }
}

/**
 * Create a rule (`id` undefined) or replace rule `id`'s definition, recording `actor`, then tell
 * its workflow. Throws RuleNameTakenError, the schema's ZodError for an invalid rule, and
 * returns undefined when rule `id` does not exist.
 */
export async function saveAlertRuleChange(
  db: Knex,
  client: ClientSource,
  change: { id?: number; input: AlertRuleInput; actor: string; options?: AlertRuleOptions },
): Promise<AlertRuleChange | undefined> {
  if (await alertRuleNameTaken(db, change.input.name, change.id)) throw new RuleNameTakenError(change.input.name);
  const rule = await db.transaction(async (trx) => {
    const saved = change.id !== undefined ? await updateAlertRule(trx, change.id, change.input) : await createAlertRule(trx, change.input);
    if (!saved) return undefined;
    await recordAlertRuleEvent(trx, { ruleId: saved.id, ruleName: saved.name, actor: change.actor, kind: change.id !== undefined ? 'edited' : 'created', detail: { version: saved.version } });
    return saved;
  });
  if (!rule) return undefined;
  try {
    await applyToWorkflow(await clientOf(client), rule, change.id === undefined, change.options);
    return { rule };
  } catch (err) {
    return { rule, workflowError: (err as Error).message };
  }
}

/**
 * Record the deletion (with the rule's last definition), delete the rule (its instances and
 * history go with it) and signal its workflow to stop: it resolves what fires and ends.
 */
export async function deleteAlertRuleChange(db: Knex, client: ClientSource, existing: AlertRuleDefinition, actor: string): Promise<{ workflowError?: string }> {
  await db.transaction(async (trx) => {
    await recordAlertRuleEvent(trx, { ruleId: existing.id, ruleName: existing.name, actor, kind: 'deleted', detail: { version: existing.version, rule: existing } });
    await deleteAlertRule(trx, existing.id);
  });
  try {
    await stopAlertRule(await clientOf(client), existing.id, `rule deleted by ${actor}`);
    return {};
  } catch (err) {
    return { workflowError: (err as Error).message };
  }
}

/** A rule by id (digits) or by name, or undefined. */
export async function findAlertRule(db: Knex, ref: string): Promise<AlertRuleDefinition | undefined> {
  if (/^\d+$/.test(ref)) {
    const byId = await getAlertRule(db, Number(ref));
    if (byId) return byId;
  }
  return (await listAlertRules(db)).find((r) => r.name === ref);
}
