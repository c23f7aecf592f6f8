/**
 * The alert rule form (issue 18) as data, shared by the new-rule and edit pages and
 * the preview: a rule's form values (strings, as the browser posts them) from a stored
 * rule, and the rule the posted values describe, validated by the rule schema. Pure:
 * no I/O, safe in the browser bundle.
 */
import { AbsenceSpecSchema, AlertRuleInputSchema, SessionSpecSchema, ThresholdSpecSchema, type AlertRuleDefinition } from '../../../core/alert-rules';
import { formatDuration, parseDuration } from './forms';

/** The posted fields, by name; `states` joined by commas (checkboxes of the session kind). */
export type AlertRuleFormValues = Record<string, string>;

/** Values of the form for a new rule. */
export const NEW_RULE_VALUES: AlertRuleFormValues = {
  kind: 'threshold',
  agg: 'avg',
  groupBy: 'device',
  op: '>',
  window: '1m',
  silentFor: '5m',
  states: 'auth-failed,config-invalid',
  backoffLongerThan: '5m',
  severity: 'warning',
  for: '0s',
  interval: '1m',
  enabled: 'on',
};

const duration = (ms: number) => (ms === 0 ? '0s' : formatDuration(ms));

/** The form's values for a stored rule (the edit page starts from them). */
export function formValuesFromRule(rule: AlertRuleDefinition): AlertRuleFormValues {
  const v: AlertRuleFormValues = {
    ...NEW_RULE_VALUES,
    name: rule.name,
    kind: rule.spec.kind,
    severity: rule.severity,
    for: duration(rule.forMs),
    interval: duration(rule.intervalMs),
    labels: Object.entries(rule.labels)
      .map(([k, val]) => `${k}=${val}`)
      .join(', '),
    contactPointId: rule.contactPointId === null ? '' : String(rule.contactPointId),
    enabled: rule.enabled ? 'on' : '',
  };
  const s = rule.spec;
  if (s.kind === 'threshold') {
    Object.assign(v, { path: s.path, rate: s.rate ? 'on' : '', agg: s.agg, groupBy: s.groupBy ?? '', op: s.op, threshold: String(s.threshold), recovery: s.recovery === undefined ? '' : String(s.recovery), window: duration(s.windowMs) });
  } else if (s.kind === 'absence') {
    Object.assign(v, { absencePath: s.path, silentFor: duration(s.silentMs) });
  } else {
    Object.assign(v, { states: s.states.join(','), backoffLongerThan: duration(s.backoffLongerThanMs) });
  }
  return v;
}

/** The posted form as values (checkbox groups joined), for re-showing it after an error or a preview. */
export function formValuesFromPost(body: FormData): AlertRuleFormValues {
  const v: AlertRuleFormValues = {};
  for (const [k, val] of body.entries()) if (k !== 'states' && k !== 'intent') v[k] = String(val);
  v.states = body.getAll('states').map(String).join(',');
  return v;
}

/** The rule the form describes (unvalidated; the schema says what is wrong). */
function ruleFromValues(f: AlertRuleFormValues) {
  const ms = (name: string) => (f[name] ? (parseDuration(f[name]) ?? Number.NaN) : undefined);
  const number = (name: string) => (f[name] === undefined || f[name] === '' ? undefined : Number(f[name]));
  const spec =
    f.kind === 'threshold'
      ? { kind: 'threshold', path: f.path, rate: f.rate === 'on', agg: f.agg, groupBy: f.groupBy || undefined, op: f.op, threshold: number('threshold'), recovery: number('recovery'), windowMs: ms('window') }
      : f.kind === 'absence'
        ? { kind: 'absence', path: f.absencePath, silentMs: ms('silentFor') }
        : { kind: 'session', states: (f.states ?? '').split(',').filter(Boolean), backoffLongerThanMs: ms('backoffLongerThan') };
  const labels = Object.fromEntries(
    (f.labels ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map((s) => [s.split('=')[0].trim(), s.split('=').slice(1).join('=').trim()]),
  );
  return {
    name: f.name,
    spec: Object.fromEntries(Object.entries(spec).filter(([, val]) => val !== undefined)),
    severity: f.severity,
    forMs: ms('for') ?? 0,
    intervalMs: ms('interval'),
    labels,
    contactPointId: f.contactPointId ? Number(f.contactPointId) : null,
    enabled: f.enabled === 'on',
  };
}

/** Validate the form's values as a rule: the input, or one message per wrong field (`field: message`). */
export function parseRuleForm(values: AlertRuleFormValues) {
  const rule = ruleFromValues(values);
  const parsed = AlertRuleInputSchema.safeParse(rule);
  if (parsed.success) return { ok: true as const, input: parsed.data };
  // The spec is a union: its own message says only "Invalid input"; the chosen kind's schema names the field.
  const kind = SPEC_SCHEMAS[values.kind as keyof typeof SPEC_SCHEMAS];
  const issues = parsed.error.issues.flatMap((i) =>
    i.path.length === 1 && i.path[0] === 'spec' && kind ? (kind.safeParse(rule.spec).error?.issues.map((k) => ({ ...k, path: ['spec', ...k.path] })) ?? [i]) : [i],
  );
  return { ok: false as const, errors: issues.map((i) => `${i.path.join('.') || 'rule'}: ${i.message}`) };
}

const SPEC_SCHEMAS = { threshold: ThresholdSpecSchema, absence: AbsenceSpecSchema, session: SessionSpecSchema };
