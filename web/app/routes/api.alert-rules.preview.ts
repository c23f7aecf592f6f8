/**
 * POST /api/alert-rules/preview, body: an alert rule as JSON (core/alert-rules.ts
 * AlertRuleInputSchema: name, spec, forMs, intervalMs, …) → what it would have done over
 * the last 24 h, for every kind (threshold, absence, session): { kind, steps, stepMs,
 * intervalMs, coarser?, caveat?, resolution, seriesCount, from, to, notifications,
 * quietInstances, instances: [{ key, state, notifications, noDataSteps, events: [{ at, to,
 * value }] }] } (query/alert-preview.ts). Nothing is saved. Signed-in users;
 * `application/json` only. Errors are `{ error }`: 400 invalid JSON or rule, 415 another
 * content type, 422 refused (over the query budget — the message says what to change — or
 * too many session state changes), 429 too many of the user's history queries, 503
 * statement timeout.
 */
import { data } from 'react-router';
import type { Route } from './+types/api.alert-rules.preview';
import { requireApiUser } from '../lib/auth.server';
import { previewRuleForUser } from '../lib/alert-preview.server';
import { AlertRuleInputSchema } from '../../../core/alert-rules';

export async function loader() {
  return data({ error: 'POST an alert rule as JSON (see docs/alerting.md).' }, { status: 405, headers: { Allow: 'POST' } });
}

export async function action({ request }: Route.ActionArgs) {
  if (request.method !== 'POST') return data({ error: 'POST an alert rule as JSON.' }, { status: 405, headers: { Allow: 'POST' } });
  const user = await requireApiUser(request);
  if (!/^application\/json\b/i.test(request.headers.get('content-type') ?? '')) {
    return data({ error: 'send the rule as Content-Type: application/json' }, 415);
  }
  let body: unknown;
  try {
    body = JSON.parse(await request.text());
  } catch (err) {
    return data({ error: `invalid JSON: ${(err as Error).message}` }, 400);
  }
  // A preview needs no name; one is filled in so the rule schema can be reused as it is.
  const parsed = AlertRuleInputSchema.safeParse(body && typeof body === 'object' && !('name' in body) ? { ...body, name: 'preview' } : body);
  if (!parsed.success) return data({ error: parsed.error.issues.map((i) => `${i.path.join('.') || 'rule'}: ${i.message}`).join('; ') }, 400);
  const outcome = await previewRuleForUser(user.id, parsed.data);
  return outcome.ok ? outcome.preview : data({ error: outcome.error }, outcome.status);
}
