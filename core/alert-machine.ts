/**
 * The alert state machine (issue 18), pure: each instance of a rule (a group of a
 * threshold query, a device) goes inactive → pending → firing → resolved as the
 * evaluations say, with the rule's `for` duration and hysteresis. The rule's workflow
 * feeds it one evaluation at a time and notifies the transitions it returns; the
 * machine holds no clock of its own (`now` comes with every call, the workflow's
 * replay-safe time). Safe inside workflow code: no Node built-ins, no imports.
 *
 * Each episode (from the evaluation that first found the condition true to its
 * resolution) is named by the time it started, so the idempotency key of a transition
 * — rule, instance, episode, transition — is the same however often the workflow
 * retries or replays it, and different for the next episode of the same instance.
 */

export type AlertInstanceState = 'inactive' | 'pending' | 'firing' | 'resolved';

/** One instance's state (carried across continue-as-new). */
export interface AlertInstance {
  key: string;
  labels: Record<string, string>;
  state: AlertInstanceState;
  /** Newest value evaluated (null: no data). */
  value: number | null;
  /** Start of the current or last episode (ms): the condition was first found true then. */
  episode?: number;
  pendingSince?: number;
  firingSince?: number;
  resolvedAt?: number;
  /** Why the last resolution happened when it was not the value (`no longer reported`, `rule disabled`). */
  resolvedReason?: string;
}

/** What one evaluation says about one instance. */
export interface AlertObservation {
  key: string;
  labels: Record<string, string>;
  value: number | null;
  /** The condition holds (pending, then firing). */
  active: boolean;
  /** A firing instance may resolve (past the recovery threshold, or simply not active). */
  clear: boolean;
}

/** A transition worth a notification. */
export interface AlertTransition {
  ruleId: number;
  key: string;
  labels: Record<string, string>;
  to: 'firing' | 'resolved';
  at: number;
  value: number | null;
  /** Start of the episode (ms). */
  episode: number;
  /** Unique per (rule, instance, episode, transition): receivers deduplicate on it. */
  idempotencyKey: string;
  reason?: string;
}

/** Settings of one step. */
export interface AlertStepOptions {
  ruleId: number;
  now: number;
  forMs: number;
  /** Resolved instances are shown (status, history) this long, then forgotten. */
  keepResolvedMs: number;
}

/** The idempotency key of a transition (also sent in the `Idempotency-Key` header). */
export function transitionKey(ruleId: number, key: string, episode: number, to: 'firing' | 'resolved'): string {
  return `alert-${ruleId}-${episode}-${to}-${key}`;
}

/** Compare `value op threshold`. */
export function compare(value: number, op: '>' | '<' | '>=' | '<=', threshold: number): boolean {
  switch (op) {
    case '>':
      return value > threshold;
    case '<':
      return value < threshold;
    case '>=':
      return value >= threshold;
    case '<=':
      return value <= threshold;
  }
}

/**
 * Condition of a threshold rule for a value: active past the threshold; clear (a firing
 * instance may resolve) only once back past the recovery threshold — strictly, so a value
 * sitting on it holds the alert. No data is neither: pending drops back, firing holds.
 */
export function thresholdCondition(
  spec: { op: '>' | '<' | '>=' | '<='; threshold: number; recovery?: number },
  value: number | null,
): { active: boolean; clear: boolean } {
  if (value === null || !Number.isFinite(value)) return { active: false, clear: false };
  const active = compare(value, spec.op, spec.threshold);
  if (spec.recovery === undefined) return { active, clear: !active };
  const clear = spec.op.startsWith('>') ? value < spec.recovery : value > spec.recovery;
  return { active, clear };
}

function transition(opts: AlertStepOptions, inst: AlertInstance, to: 'firing' | 'resolved', reason?: string): AlertTransition {
  const episode = inst.episode ?? opts.now;
  return {
    ruleId: opts.ruleId,
    key: inst.key,
    labels: inst.labels,
    to,
    at: opts.now,
    value: inst.value,
    episode,
    idempotencyKey: transitionKey(opts.ruleId, inst.key, episode, to),
    ...(reason ? { reason } : {}),
  };
}

function fire(opts: AlertStepOptions, inst: AlertInstance, out: AlertTransition[]): void {
  inst.state = 'firing';
  inst.firingSince = opts.now;
  out.push(transition(opts, inst, 'firing'));
}

function resolve(opts: AlertStepOptions, inst: AlertInstance, out: AlertTransition[], reason?: string): void {
  inst.state = 'resolved';
  inst.resolvedAt = opts.now;
  inst.resolvedReason = reason;
  out.push(transition(opts, inst, 'resolved', reason));
}

/**
 * One evaluation: the new instance map and the transitions to notify, in instance order.
 * Instances the evaluation no longer reports resolve when firing and are dropped when
 * pending; resolved ones are kept `keepResolvedMs`; inactive ones are not kept at all.
 */
export function stepAlerts(
  instances: Readonly<Record<string, AlertInstance>>,
  observations: readonly AlertObservation[],
  opts: AlertStepOptions,
): { instances: Record<string, AlertInstance>; transitions: AlertTransition[] } {
  const next: Record<string, AlertInstance> = {};
  const transitions: AlertTransition[] = [];
  const seen = new Set<string>();
  for (const o of observations) {
    if (seen.has(o.key)) continue;
    seen.add(o.key);
    const inst: AlertInstance = instances[o.key] ? { ...instances[o.key] } : { key: o.key, labels: o.labels, state: 'inactive', value: null };
    inst.labels = o.labels;
    inst.value = o.value;
    switch (inst.state) {
      case 'inactive':
      case 'resolved':
        if (o.active) {
          inst.episode = opts.now;
          inst.pendingSince = opts.now;
          inst.firingSince = undefined;
          inst.resolvedAt = undefined;
          inst.resolvedReason = undefined;
          if (opts.forMs <= 0) fire(opts, inst, transitions);
          else inst.state = 'pending';
        }
        break;
      case 'pending':
        if (!o.active) {
          inst.state = 'inactive';
          inst.pendingSince = undefined;
        } else if (opts.now - (inst.pendingSince ?? opts.now) >= opts.forMs) fire(opts, inst, transitions);
        break;
      case 'firing':
        if (o.clear) resolve(opts, inst, transitions);
        break;
    }
    if (keep(inst, opts)) next[o.key] = inst;
  }
  for (const [key, old] of Object.entries(instances)) {
    if (seen.has(key)) continue;
    const inst = { ...old };
    if (inst.state === 'firing') resolve(opts, inst, transitions, 'no longer reported');
    else if (inst.state === 'pending') continue;
    if (keep(inst, opts)) next[key] = inst;
  }
  return { instances: next, transitions };
}

function keep(inst: AlertInstance, opts: AlertStepOptions): boolean {
  if (inst.state === 'inactive') return false;
  if (inst.state === 'resolved') return opts.now - (inst.resolvedAt ?? opts.now) < opts.keepResolvedMs;
  return true;
}

/** Resolve every firing instance and forget pending ones (rule disabled or deleted). */
export function resolveAll(
  instances: Readonly<Record<string, AlertInstance>>,
  opts: AlertStepOptions,
  reason: string,
): { instances: Record<string, AlertInstance>; transitions: AlertTransition[] } {
  const next: Record<string, AlertInstance> = {};
  const transitions: AlertTransition[] = [];
  for (const [key, old] of Object.entries(instances)) {
    const inst = { ...old };
    if (inst.state === 'firing') resolve(opts, inst, transitions, reason);
    if (inst.state === 'resolved') next[key] = inst;
  }
  return { instances: next, transitions };
}

/** Counts per state, e.g. for the workflow's current details. */
export function countStates(instances: Readonly<Record<string, AlertInstance>>): Record<'pending' | 'firing' | 'resolved', number> {
  const n = { pending: 0, firing: 0, resolved: 0 };
  for (const i of Object.values(instances)) if (i.state !== 'inactive') n[i.state]++;
  return n;
}

/** Label matcher of a silence: `name=value` (exact) or `name=~regex` (anchored). */
export interface SilenceMatcher {
  name: string;
  value: string;
  regex: boolean;
}

/** Whether every matcher matches `labels` (a silence without matchers matches nothing). */
export function matchesAll(matchers: readonly SilenceMatcher[], labels: Readonly<Record<string, string>>): boolean {
  if (matchers.length === 0) return false;
  return matchers.every((m) => {
    const v = labels[m.name] ?? '';
    if (!m.regex) return v === m.value;
    try {
      return new RegExp(`^(?:${m.value})$`).test(v);
    } catch {
      return false;
    }
  });
}

/** What one evaluation of an alert rule found (query/alert-evaluation.ts). */
export interface AlertEvaluation {
  /** When the data was read (ms, the activity's clock). */
  at: number;
  observations: AlertObservation[];
  /** Matchers of the silences in force (each silence's list must all match). */
  silences: Array<SilenceMatcher[]>;
}
