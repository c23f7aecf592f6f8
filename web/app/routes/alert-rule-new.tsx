/**
 * A minimal rule form (issue 18): threshold (the fleet query model), absence or session
 * state, with severity, `for`, interval, labels and contact point. Works without
 * JavaScript: the fields of every kind are shown, the chosen kind's are read. On save the
 * rule is stored and its workflow started at once (the alert reconcile would within a minute).
 */
import { Form, Link, data, redirect, useActionData, useLoaderData } from 'react-router';
import type { Route } from './+types/alert-rule-new';
import { requireAdmin, requireAdminAction } from '../lib/auth.server';
import { ctx, temporalClient } from '../lib/context.server';
import { parseDuration } from '../lib/forms';
import { ALERT_OPERATORS, ALERT_SESSION_STATES, ALERT_SEVERITIES, AlertRuleInputSchema } from '../../../core/alert-rules';
import { loadConfig } from '../../../core/config';
import { alertRuleNameTaken, createAlertRule, listContactPoints } from '../../../storage/alerts';
import { alertRuleOptionsFromConfig, startAlertRule } from '../../../temporal/alert-client';

export function meta() {
  return [{ title: 'New alert rule · switch-telemetry' }];
}

export async function loader({ request }: Route.LoaderArgs) {
  await requireAdmin(request);
  return { contactPoints: await listContactPoints(ctx().db) };
}

/** The rule the form describes (unvalidated; the schema says what is wrong). */
function ruleFromForm(f: Record<string, string>, multi: { states: string[] }) {
  const ms = (name: string) => (f[name] ? (parseDuration(f[name]) ?? Number.NaN) : undefined);
  const number = (name: string) => (f[name] === undefined || f[name] === '' ? undefined : Number(f[name]));
  const spec =
    f.kind === 'threshold'
      ? { kind: 'threshold', path: f.path, rate: f.rate === 'on', agg: f.agg, groupBy: f.groupBy || undefined, op: f.op, threshold: number('threshold'), recovery: number('recovery'), windowMs: ms('window') }
      : f.kind === 'absence'
        ? { kind: 'absence', path: f.absencePath, silentMs: ms('silentFor') }
        : { kind: 'session', states: multi.states, backoffLongerThanMs: ms('backoffLongerThan') };
  const labels = Object.fromEntries(
    (f.labels ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map((s) => [s.split('=')[0].trim(), s.split('=').slice(1).join('=').trim()]),
  );
  return {
    name: f.name,
    spec: Object.fromEntries(Object.entries(spec).filter(([, v]) => v !== undefined)),
    severity: f.severity,
    forMs: ms('for') ?? 0,
    intervalMs: ms('interval'),
    labels,
    contactPointId: f.contactPointId ? Number(f.contactPointId) : null,
  };
}

export async function action({ request }: Route.ActionArgs) {
  await requireAdminAction(request);
  const body = await request.formData();
  const f = Object.fromEntries([...body.entries()].map(([k, v]) => [k, String(v)]));
  const parsed = AlertRuleInputSchema.safeParse(ruleFromForm(f, { states: body.getAll('states').map(String) }));
  if (!parsed.success) {
    return data({ errors: parsed.error.issues.map((i) => `${i.path.join('.') || 'rule'}: ${i.message}`), values: f }, { status: 400 });
  }
  const db = ctx().db;
  if (await alertRuleNameTaken(db, parsed.data.name)) return data({ errors: ['name: a rule with this name exists'], values: f }, { status: 400 });
  const rule = await createAlertRule(db, parsed.data);
  await startAlertRule(await temporalClient(), rule, alertRuleOptionsFromConfig(loadConfig()));
  return redirect('/alerts');
}

export default function NewAlertRule() {
  const { contactPoints } = useLoaderData<typeof loader>();
  const failed = useActionData<typeof action>();
  const v = (failed?.values ?? {}) as Record<string, string>;
  return (
    <section>
      <div className="page-head">
        <h1>New alert rule</h1>
        <Link to="/alerts" className="button secondary">
          Alerts
        </Link>
      </div>
      {failed?.errors ? (
        <ul className="field-error" data-testid="rule-errors">
          {failed.errors.map((e) => (
            <li key={e}>{e}</li>
          ))}
        </ul>
      ) : null}
      <Form method="post" className="stacked" data-testid="rule-form">
        <label>
          Name <input name="name" required defaultValue={v.name} />
        </label>
        <label>
          Kind{' '}
          <select name="kind" defaultValue={v.kind ?? 'threshold'}>
            <option value="threshold">threshold (fleet query)</option>
            <option value="absence">absence of data</option>
            <option value="session">session state</option>
          </select>
        </label>
        <fieldset>
          <legend>Threshold</legend>
          <label>
            Path or metric <input name="path" defaultValue={v.path} placeholder="/system/cpu/utilization" />
          </label>
          <label>
            <input type="checkbox" name="rate" defaultChecked={v.rate === 'on'} /> rate (counters)
          </label>
          <label>
            Aggregation{' '}
            <select name="agg" defaultValue={v.agg ?? 'avg'}>
              {['avg', 'sum', 'min', 'max', 'count', 'last'].map((a) => (
                <option key={a}>{a}</option>
              ))}
            </select>
          </label>
          <label>
            Group by <input name="groupBy" defaultValue={v.groupBy ?? 'device'} placeholder="device, site, interface[name]" />
          </label>
          <label>
            Condition{' '}
            <select name="op" defaultValue={v.op ?? '>'}>
              {ALERT_OPERATORS.map((o) => (
                <option key={o}>{o}</option>
              ))}
            </select>{' '}
            <input name="threshold" defaultValue={v.threshold} size={8} />
          </label>
          <label>
            Recovery threshold <input name="recovery" defaultValue={v.recovery} size={8} placeholder="(the threshold)" />
          </label>
          <label>
            Window <input name="window" defaultValue={v.window ?? '1m'} size={6} />
          </label>
        </fieldset>
        <fieldset>
          <legend>Absence</legend>
          <label>
            Path or metric <input name="absencePath" defaultValue={v.absencePath} />
          </label>
          <label>
            Silent for <input name="silentFor" defaultValue={v.silentFor ?? '5m'} size={6} />
          </label>
        </fieldset>
        <fieldset>
          <legend>Session state</legend>
          {ALERT_SESSION_STATES.map((s) => (
            <label key={s}>
              <input type="checkbox" name="states" value={s} defaultChecked={s !== 'backoff'} /> {s}
            </label>
          ))}
          <label>
            Backoff longer than <input name="backoffLongerThan" defaultValue={v.backoffLongerThan ?? '5m'} size={6} />
          </label>
        </fieldset>
        <label>
          Severity{' '}
          <select name="severity" defaultValue={v.severity ?? 'warning'}>
            {ALERT_SEVERITIES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          For <input name="for" defaultValue={v.for ?? '0s'} size={6} />
        </label>
        <label>
          Evaluate every <input name="interval" defaultValue={v.interval ?? '1m'} size={6} />
        </label>
        <label>
          Labels <input name="labels" defaultValue={v.labels} placeholder="team=net, env=lab" />
        </label>
        <label>
          Contact point{' '}
          <select name="contactPointId" defaultValue={v.contactPointId ?? String(contactPoints[0]?.id ?? '')}>
            <option value="">none</option>
            {contactPoints.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">Save rule</button>
      </Form>
    </section>
  );
}
