/**
 * Alert rules (issue 18) as stored in `alert_rules` and handed to each rule's workflow:
 * three kinds — threshold over a fleet query (one instance per group), absence of data
 * per device, and a device session's state — with severity, `for`, labels and the
 * evaluation interval. Pure zod schemas and types: no I/O. See docs/alerting.md.
 */
import { z } from 'zod';
import type { SilenceMatcher } from './alert-machine';

export { matchesAll, type SilenceMatcher } from './alert-machine';

export const ALERT_SEVERITIES = ['critical', 'warning', 'info'] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];
export const ALERT_OPERATORS = ['>', '<', '>=', '<='] as const;
/** Session states a session rule may watch (from the device_session_state mirror). */
export const ALERT_SESSION_STATES = ['auth-failed', 'config-invalid', 'backoff'] as const;

const LabelsSchema = z
  .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'label names are letters, digits and _'), z.string().max(256))
  .refine((l) => Object.keys(l).length <= 32, 'at most 32 labels')
  .default({});

/** Threshold: the fleet query model (query/fleet-query.ts), each group's newest step compared with the threshold. */
export const ThresholdSpecSchema = z
  .object({
    kind: z.literal('threshold'),
    path: z.string().min(1).max(1024),
    rate: z.boolean().default(false),
    agg: z.enum(['sum', 'avg', 'min', 'max', 'count', 'last']).default('avg'),
    groupBy: z.string().max(140).optional(),
    op: z.enum(ALERT_OPERATORS),
    threshold: z.number().finite(),
    /** Hysteresis: a firing instance resolves only once its value is back past this (default: the threshold). */
    recovery: z.number().finite().optional(),
    /** How far back each evaluation reads (the newest non-empty step counts). */
    windowMs: z.number().int().min(5_000).max(86_400_000).default(60_000),
  })
  .strict()
  .refine((s) => s.recovery === undefined || (s.op.startsWith('>') ? s.recovery <= s.threshold : s.recovery >= s.threshold), {
    message: 'the recovery threshold must be on the calm side of the threshold (below it for > and >=, above it for < and <=)',
    path: ['recovery'],
  });

/** Absence: a device whose series matching the path stored nothing for `silentMs`. */
export const AbsenceSpecSchema = z
  .object({
    kind: z.literal('absence'),
    path: z.string().min(1).max(1024),
    silentMs: z.number().int().min(1_000).max(7 * 86_400_000),
  })
  .strict();

/** Session state: a device parked in auth-failed / config-invalid, or in backoff for longer than `backoffLongerThanMs`. */
export const SessionSpecSchema = z
  .object({
    kind: z.literal('session'),
    states: z.array(z.enum(ALERT_SESSION_STATES)).min(1).default(['auth-failed', 'config-invalid']),
    backoffLongerThanMs: z.number().int().min(0).max(7 * 86_400_000).default(300_000),
  })
  .strict();

export const AlertSpecSchema = z.union([ThresholdSpecSchema, AbsenceSpecSchema, SessionSpecSchema]);
export type AlertSpec = z.output<typeof AlertSpecSchema>;
export type ThresholdSpec = z.output<typeof ThresholdSpecSchema>;

/** A rule as written by the form, ctl or the repository (validated). */
export const AlertRuleInputSchema = z
  .object({
    name: z.string().trim().min(1).max(200),
    spec: AlertSpecSchema,
    severity: z.enum(ALERT_SEVERITIES).default('warning'),
    /** How long a condition holds (pending) before it fires; 0 fires at the first evaluation. */
    forMs: z.number().int().min(0).max(86_400_000).default(0),
    intervalMs: z.number().int().min(1_000).max(86_400_000).default(60_000),
    labels: LabelsSchema,
    contactPointId: z.number().int().positive().nullable().default(null),
    enabled: z.boolean().default(true),
  })
  .strict();
export type AlertRuleInput = z.input<typeof AlertRuleInputSchema>;

/** A stored rule: what its workflow receives (no secrets). `version` grows with every edit. */
export interface AlertRuleDefinition {
  id: number;
  name: string;
  spec: AlertSpec;
  severity: AlertSeverity;
  forMs: number;
  intervalMs: number;
  labels: Record<string, string>;
  contactPointId: number | null;
  enabled: boolean;
  version: number;
}

/** Parse `a=b`, `a=~re` into matchers (ctl, the silence form). */
export function parseMatchers(text: string): SilenceMatcher[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((part) => {
      const m = /^([A-Za-z_][A-Za-z0-9_]*)(=~|=)(.*)$/.exec(part);
      if (!m) throw new Error(`bad matcher "${part}": use name=value or name=~regex`);
      return { name: m[1], value: m[3], regex: m[2] === '=~' };
    });
}

/** Labels of an alert instance: the rule's, then `alertname`, `severity`, `rule_id` and the instance's own (group, device). */
export function instanceLabels(rule: Pick<AlertRuleDefinition, 'id' | 'name' | 'severity' | 'labels'>, own: Record<string, string>): Record<string, string> {
  return { ...rule.labels, ...own, alertname: rule.name, severity: rule.severity, rule_id: String(rule.id) };
}

/** A duration such as `30s`, `15m`, `2h`, `1d` in ms (silences, rule fields), or undefined. */
export function parseAlertDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(s|m|h|d)$/.exec(text.trim());
  return m ? Math.round(Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd']) : undefined;
}
