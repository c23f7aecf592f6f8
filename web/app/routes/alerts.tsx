/**
 * The Alerts page (issue 18): instances firing, pending and recently resolved (silenced
 * ones marked), silences in force, the latest notified transitions with their delivery
 * outcome, the rules and contact points. Admins acknowledge, silence by labels, end
 * silences and add webhook contact points here; rules are added at /alerts/rules/new and
 * edited (previewed, deleted) at /alerts/rules/<id>/edit.
 */
import { Form, Link, data, useActionData, useLoaderData } from 'react-router';
import { z } from 'zod';
import type { Route } from './+types/alerts';
import { requireAdminAction, requireUser } from '../lib/auth.server';
import { ctx, temporalClient } from '../lib/context.server';
import { formatStamp } from '../lib/time-format';
import { formatAlertValue } from '../lib/format';
import { zoneFromCookie } from '../lib/timezone';
import { parseDuration } from '../lib/forms';
import { matchesAll, parseMatchers } from '../../../core/alert-rules';
import {
  ackAlertInstance,
  activeSilences,
  createContactPoint,
  createSilence,
  expireSilence,
  listAlertInstances,
  listAlertRules,
  listContactPoints,
  recentAlertTransitions,
} from '../../../storage/alerts';
import { evaluateAlertRuleNow } from '../../../temporal/alert-client';

export function meta() {
  return [{ title: 'Alerts · switch-telemetry' }];
}

export async function loader({ request }: Route.LoaderArgs) {
  await requireUser(request);
  const db = ctx().db;
  const [instances, silences, history, rules, contactPoints] = await Promise.all([
    listAlertInstances(db),
    activeSilences(db),
    recentAlertTransitions(db, 50),
    listAlertRules(db),
    listContactPoints(db),
  ]);
  const silencedBy = (labels: Record<string, string>) => silences.find((s) => matchesAll(s.matchers, labels))?.id ?? null;
  return {
    zone: zoneFromCookie(request.headers.get('cookie')),
    instances: instances.map((i) => ({ ...i, since: i.since?.getTime() ?? null, silence: silencedBy(i.labels) })),
    silences: silences.map((s) => ({ ...s, endsAt: s.endsAt.getTime() })),
    history: history.map((t) => ({ ...t, at: t.at.getTime(), deliveredAt: t.deliveredAt?.getTime() ?? null })),
    rules: rules.map((r) => ({ id: r.id, name: r.name, kind: r.spec.kind, severity: r.severity, enabled: r.enabled, intervalMs: r.intervalMs, forMs: r.forMs })),
    contactPoints,
  };
}

const ContactPointForm = z.object({
  name: z.string().trim().min(1).max(200),
  url: z.string().url().refine((u) => /^https?:/.test(u), 'an http(s) URL'),
  format: z.enum(['generic', 'slack']),
  secret: z.string().max(512).optional(),
});

export async function action({ request }: Route.ActionArgs) {
  const user = await requireAdminAction(request);
  const form = Object.fromEntries(await request.formData());
  const db = ctx().db;
  switch (form.intent) {
    case 'ack': {
      const ok = await ackAlertInstance(db, Number(form.ruleId), String(form.key), user.email);
      return ok ? { message: `Acknowledged ${form.key}.` } : data({ error: 'No such alert instance.' }, { status: 404 });
    }
    case 'silence': {
      const forMs = parseDuration(String(form.for ?? ''));
      let matchers;
      try {
        matchers = parseMatchers(String(form.matchers ?? ''));
      } catch (err) {
        return data({ error: (err as Error).message }, { status: 400 });
      }
      if (!forMs || matchers.length === 0) return data({ error: 'Give matchers (name=value, name=~regex) and a duration such as 30m or 2h.' }, { status: 400 });
      const id = await createSilence(db, { matchers, endsAt: new Date(Date.now() + forMs), createdBy: user.email, comment: String(form.comment ?? '') });
      const client = await temporalClient();
      for (const r of await listAlertRules(db)) if (r.enabled) await evaluateAlertRuleNow(client, r.id);
      return { message: `Silence #${id} created.` };
    }
    case 'unsilence':
      await expireSilence(db, Number(form.id));
      return { message: `Silence #${form.id} ended.` };
    case 'contact-point': {
      const parsed = ContactPointForm.safeParse({ ...form, secret: form.secret || undefined });
      if (!parsed.success) return data({ error: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') }, { status: 400 });
      const cp = await createContactPoint(db, ctx().keyring, parsed.data);
      return { message: `Contact point ${cp.name} added.` };
    }
  }
  return data({ error: 'Unknown action.' }, { status: 400 });
}

export default function Alerts() {
  const { zone, instances, silences, history, rules, contactPoints } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>() as { message?: string; error?: string } | undefined;
  const stamp = (ms: number | null) => (ms === null ? '—' : formatStamp(ms, zone));
  const groups = [
    ['firing', instances.filter((i) => i.state === 'firing' && i.silence === null)],
    ['pending', instances.filter((i) => i.state === 'pending' && i.silence === null)],
    ['silenced', instances.filter((i) => i.state !== 'resolved' && i.silence !== null)],
    ['resolved', instances.filter((i) => i.state === 'resolved')],
  ] as const;
  return (
    <section>
      <div className="page-head">
        <h1>Alerts</h1>
        <Link to="/alerts/rules/new" className="button">
          New rule
        </Link>
      </div>
      {result?.message ? <p className="flash" data-testid="alerts-message">{result.message}</p> : null}
      {result?.error ? <p className="field-error" data-testid="alerts-error">{result.error}</p> : null}
      {groups.map(([state, rows]) => (
        <div key={state} data-testid={`alerts-${state}`}>
          <h2>
            {state[0].toUpperCase() + state.slice(1)} ({rows.length})
          </h2>
          {rows.length === 0 ? (
            <p className="muted">None.</p>
          ) : (
            <table>
              <thead>
                <tr>
                  <th>Rule</th>
                  <th>Instance</th>
                  <th>Severity</th>
                  <th className="num">Value</th>
                  <th>Since</th>
                  <th>Acknowledged</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {rows.map((i) => (
                  <tr key={`${i.ruleId}/${i.key}`} data-testid={`alert-${i.ruleId}-${i.key}`} data-state={i.state}>
                    <td>{i.ruleName}</td>
                    <td>{i.key}</td>
                    <td>{i.severity}</td>
                    <td className="num">{formatAlertValue(i.value)}</td>
                    <td>{stamp(i.since)}</td>
                    <td>{i.ackedBy ?? (i.silence !== null ? `silence #${i.silence}` : '')}</td>
                    <td>
                      {i.state !== 'resolved' && !i.ackedBy ? (
                        <Form method="post">
                          <input type="hidden" name="intent" value="ack" />
                          <input type="hidden" name="ruleId" value={i.ruleId} />
                          <input type="hidden" name="key" value={i.key} />
                          <button type="submit" className="secondary">
                            Acknowledge
                          </button>
                        </Form>
                      ) : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      ))}

      <h2>Silences</h2>
      {silences.length === 0 ? <p className="muted">No silence in force.</p> : null}
      <ul data-testid="alerts-silences">
        {silences.map((s) => (
          <li key={s.id}>
            #{s.id} {s.matchers.map((m) => `${m.name}${m.regex ? '=~' : '='}${m.value}`).join(', ')} until {stamp(s.endsAt)} by {s.createdBy}
            {s.comment ? ` — ${s.comment}` : ''}{' '}
            <Form method="post" style={{ display: 'inline' }}>
              <input type="hidden" name="intent" value="unsilence" />
              <input type="hidden" name="id" value={s.id} />
              <button type="submit" className="link">
                End
              </button>
            </Form>
          </li>
        ))}
      </ul>
      <Form method="post" className="inline-form" data-testid="silence-form">
        <input type="hidden" name="intent" value="silence" />
        <label>
          Matchers <input name="matchers" placeholder="alertname=cpu hot, device=~leaf-.*" required />
        </label>
        <label>
          For <input name="for" defaultValue="1h" size={6} required />
        </label>
        <label>
          Comment <input name="comment" />
        </label>
        <button type="submit">Silence</button>
      </Form>

      <h2>History</h2>
      {history.length === 0 ? (
        <p className="muted">No notified transition yet.</p>
      ) : (
        <table data-testid="alerts-history">
          <thead>
            <tr>
              <th>At</th>
              <th>Rule</th>
              <th>Instance</th>
              <th>Transition</th>
              <th className="num">Value</th>
              <th>Delivery</th>
            </tr>
          </thead>
          <tbody>
            {history.map((t) => (
              <tr key={t.idempotencyKey} data-testid={`history-${t.ruleId}-${t.key}-${t.transition}`}>
                <td>{stamp(t.at)}</td>
                <td>{t.ruleName}</td>
                <td>{t.key}</td>
                <td>{t.transition}</td>
                <td className="num">{formatAlertValue(t.value)}</td>
                <td>
                  {t.silenced
                    ? 'silenced'
                    : t.deliveredAt !== null
                      ? `delivered ${stamp(t.deliveredAt)} (${t.attempts} attempt${t.attempts === 1 ? '' : 's'})`
                      : t.attempts > 0
                        ? `${t.attempts} failed attempt${t.attempts === 1 ? '' : 's'}: ${t.lastError ?? ''}`
                        : 'not delivered'}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      <h2>Rules</h2>
      {rules.length === 0 ? <p className="muted">No rule yet.</p> : null}
      <ul data-testid="alerts-rules">
        {rules.map((r) => (
          <li key={r.id} data-testid={`alerts-rule-${r.id}`}>
            <Link to={`/alerts/rules/${r.id}/edit`}>{r.name}</Link> — {r.kind}, {r.severity}, every {Math.round(r.intervalMs / 1000)} s{r.forMs ? `, for ${Math.round(r.forMs / 1000)} s` : ''}
            {r.enabled ? '' : ' (disabled)'}
          </li>
        ))}
      </ul>

      <h2>Contact points</h2>
      <ul data-testid="alerts-contact-points">
        {contactPoints.map((c) => (
          <li key={c.id}>
            {c.name} — {c.format} webhook {c.url}
            {c.hasSecret ? ' (signed)' : ''}
          </li>
        ))}
      </ul>
      <Form method="post" className="inline-form" data-testid="contact-point-form">
        <input type="hidden" name="intent" value="contact-point" />
        <label>
          Name <input name="name" required />
        </label>
        <label>
          URL <input name="url" type="url" required />
        </label>
        <label>
          Format{' '}
          <select name="format" defaultValue="generic">
            <option value="generic">generic JSON</option>
            <option value="slack">Slack-compatible</option>
          </select>
        </label>
        <label>
          Signing secret <input name="secret" type="password" autoComplete="off" />
        </label>
        <button type="submit">Add contact point</button>
      </Form>
    </section>
  );
}
