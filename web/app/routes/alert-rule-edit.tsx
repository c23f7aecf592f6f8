/**
 * New and edit alert rule (issue 18), one module for /alerts/rules/new and
 * /alerts/rules/:ruleId/edit (admins). Save stores the rule, records who changed it
 * (alert_rule_events) and hands it to its workflow at once (fleet/alert-rule-changes.ts,
 * shared with `ctl rules`) — started when new, the
 * `editRule` update when edited, which keeps every instance's state (the alert
 * reconcile would within a minute). Preview replays the form's rule over the last 24 h
 * without saving. Delete asks first (a confirmation step, with or without JavaScript),
 * then removes the rule and signals its workflow, which resolves what fires and ends.
 * Errors come back on the form with the values kept.
 */
import { Form, Link, data, redirect, useActionData, useLoaderData, useSearchParams } from 'react-router';
import type { Route } from './+types/alert-rule-edit';
import { requireAdmin, requireAdminAction } from '../lib/auth.server';
import { ctx, temporalClient } from '../lib/context.server';
import { setFlash } from '../lib/flash.server';
import { formValuesFromPost, formValuesFromRule, NEW_RULE_VALUES, parseRuleForm } from '../lib/alert-rule-form';
import { previewRuleForUser } from '../lib/alert-preview.server';
import { formatStamp } from '../lib/time-format';
import { zoneFromCookie } from '../lib/timezone';
import { AlertRuleForm } from '../components/AlertRuleForm';
import { AlertRulePreview } from '../components/AlertRulePreview';
import { ConfirmStep, isConfirmed } from '../components/ConfirmStep';
import type { AlertRuleDefinition } from '../../../core/alert-rules';
import { loadConfig } from '../../../core/config';
import { alertRuleEvents, getAlertRule, listContactPoints } from '../../../storage/alerts';
import { alertRuleOptionsFromConfig } from '../../../temporal/alert-client';
import { RuleNameTakenError, deleteAlertRuleChange, saveAlertRuleChange } from '../../../fleet/alert-rule-changes';

export function meta({ data: d }: Route.MetaArgs) {
  return [{ title: `${d?.rule ? `Edit ${d.rule.name}` : 'New alert rule'} · switch-telemetry` }];
}

async function ruleOf(params: { ruleId?: string }): Promise<AlertRuleDefinition | undefined> {
  if (params.ruleId === undefined) return undefined;
  const id = Number(params.ruleId);
  const rule = Number.isSafeInteger(id) && id > 0 ? await getAlertRule(ctx().db, id) : undefined;
  if (!rule) throw data('No such alert rule', { status: 404 });
  return rule;
}

export async function loader({ request, params }: Route.LoaderArgs) {
  await requireAdmin(request);
  const rule = await ruleOf(params);
  const db = ctx().db;
  const [contactPoints, events] = await Promise.all([listContactPoints(db), rule ? alertRuleEvents(db, rule.id) : []]);
  return {
    zone: zoneFromCookie(request.headers.get('cookie')),
    rule: rule ? { id: rule.id, name: rule.name, version: rule.version } : null,
    values: rule ? formValuesFromRule(rule) : NEW_RULE_VALUES,
    contactPoints: contactPoints.map((c) => ({ id: c.id, name: c.name })),
    events: events.map((e) => ({ id: e.id, at: e.at.getTime(), actor: e.actor, kind: e.kind, version: typeof e.detail.version === 'number' ? e.detail.version : null })),
  };
}

export async function action({ request, params }: Route.ActionArgs) {
  const user = await requireAdminAction(request);
  const existing = await ruleOf(params);
  const db = ctx().db;
  const body = await request.formData();
  const intent = String(body.get('intent') ?? 'save');

  if (intent === 'delete' && existing) {
    if (!isConfirmed(body)) return redirect(`/alerts/rules/${existing.id}/edit?confirm=delete`);
    const { workflowError } = await deleteAlertRuleChange(db, temporalClient, existing, user.email);
    const message = workflowError
      ? `Rule ${existing.name} deleted, but its workflow was not told (${workflowError}); the alert reconcile stops it within a minute.`
      : `Rule ${existing.name} deleted; its workflow resolves what fires and ends.`;
    return redirect('/alerts', { headers: { 'Set-Cookie': await setFlash({ kind: 'info', message }) } });
  }

  const values = formValuesFromPost(body);
  const parsed = parseRuleForm(values);
  if (!parsed.ok) return data({ errors: parsed.errors, values, preview: null }, { status: 400 });

  if (intent === 'preview') {
    const outcome = await previewRuleForUser(user.id, parsed.input);
    return outcome.ok ? { errors: null, values, preview: outcome.preview } : { errors: [outcome.error], values, preview: null };
  }

  let change;
  try {
    change = await saveAlertRuleChange(db, temporalClient, { id: existing?.id, input: parsed.input, actor: user.email, options: alertRuleOptionsFromConfig(loadConfig()) });
  } catch (err) {
    if (err instanceof RuleNameTakenError) return data({ errors: ['name: a rule with this name exists'], values, preview: null }, { status: 400 });
    throw err;
  }
  if (!change) throw data('No such alert rule', { status: 404 });
  const { rule, workflowError } = change;
  const flash = workflowError
    ? `Rule ${rule.name} saved, but its workflow was not told (${workflowError}); the alert reconcile applies it within a minute.`
    : existing
      ? `Rule ${rule.name} saved (version ${rule.version}); its workflow evaluates with it from now.`
      : `Rule ${rule.name} created.`;
  const kind: 'info' | 'warning' = workflowError ? 'warning' : 'info';
  return redirect('/alerts', { headers: { 'Set-Cookie': await setFlash({ kind, message: flash }) } });
}

export default function AlertRuleEdit() {
  const loaded = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const [params] = useSearchParams();
  const { rule, contactPoints, events, zone } = loaded;
  const values = result?.values ?? loaded.values;
  return (
    <section>
      <div className="page-head">
        <h1>{rule ? `Edit rule ${rule.name}` : 'New alert rule'}</h1>
        <Link to="/alerts" className="button secondary">
          Alerts
        </Link>
      </div>
      {rule && params.get('confirm') === 'delete' ? (
        <ConfirmStep
          intent="delete"
          text={`Delete the rule ${rule.name}? Its firing instances resolve (notified with the reason "rule deleted"), its workflow ends, and its instances and history go. This cannot be undone.`}
          label="Delete rule"
          cancelTo={`/alerts/rules/${rule.id}/edit`}
        />
      ) : null}
      {result?.errors ? (
        <ul className="field-error" data-testid="rule-errors">
          {result.errors.map((e) => (
            <li key={e}>{e}</li>
          ))}
        </ul>
      ) : null}
      {/* Keyed by the submitted values, so a preview or an error shows what was posted, also without JavaScript. */}
      <AlertRuleForm key={JSON.stringify(values)} values={values} contactPoints={contactPoints} submitLabel="Save rule" />
      {result?.preview ? <AlertRulePreview preview={result.preview} zone={zone} /> : null}
      {rule ? (
        <div className="card" data-testid="rule-changes">
          <h2>Changes</h2>
          {events.length === 0 ? <p className="muted">No change recorded (the rule predates the record).</p> : null}
          <ul>
            {events.map((e) => (
              <li key={e.id}>
                {formatStamp(e.at, zone)} {e.kind} by {e.actor}
                {e.version !== null ? ` (version ${e.version})` : ''}
              </li>
            ))}
          </ul>
          <Form method="post">
            <input type="hidden" name="intent" value="delete" />
            <button type="submit" className="danger" data-testid="rule-delete">
              Delete rule
            </button>
          </Form>
        </div>
      ) : null}
    </section>
  );
}
