/**
 * The replay behind the rule editor's preview (issue 18): what a rule would have done over
 * a past range. Each step is one evaluation at the step's end, and the same pure machine
 * the workflow runs (core/alert-machine.ts: `for`, recovery threshold, no data, instances
 * no longer reported) steps over the observations the live evaluation would have made:
 *  - threshold: from one fleet-query answer (a series of steps per group), the group's
 *    newest value among the steps the rule's window reaches back over (as the live
 *    evaluation takes the newest non-empty step of its window);
 *  - absence: from a per-device count of samples per step, how long the device had stored
 *    nothing at each evaluation (its newest sample taken at the end of its newest step
 *    with data — exact when `silentMs` is a multiple of the step);
 *  - session: from the recorded changes of the session-state mirror, the device's state at
 *    each evaluation and since when (as the live evaluation reads the mirror).
 * Pure: no I/O, no clock.
 */
import { stepAlerts, thresholdCondition, type AlertInstance, type AlertObservation } from './alert-machine';
import type { AlertSpec, ThresholdSpec } from './alert-rules';

/** One group's steps as the fleet query returns them (`t` is the step's start). */
export interface PreviewGroup {
  key: string;
  points: ReadonlyArray<{ t: number; v: number | null }>;
}

/** A state change of one instance in the replay. */
export interface PreviewEvent {
  at: number;
  /** `pending`: the condition started to hold; `cleared`: it stopped before `for` ran out (no notification). */
  to: 'pending' | 'firing' | 'resolved' | 'cleared';
  value: number | null;
}

/** What one instance went through. */
export interface PreviewInstance {
  key: string;
  events: PreviewEvent[];
  /** State after the last step. */
  state: 'inactive' | 'pending' | 'firing' | 'resolved';
  /** Firing and resolved transitions: the notifications it would have sent. */
  notifications: number;
  /** Steps whose window held no value (pending drops back, firing holds). */
  noDataSteps: number;
}

/** The replay's answer. */
export interface PreviewReplay {
  steps: number;
  stepMs: number;
  /** Instances with at least one event, busiest first; then quiet ones are only counted. */
  instances: PreviewInstance[];
  quietInstances: number;
  notifications: number;
}

/** What the replay needs of the rule. */
export interface PreviewRule {
  spec: Pick<ThresholdSpec, 'op' | 'threshold' | 'recovery' | 'windowMs'>;
  forMs: number;
}

/**
 * Step the workflow's machine over `steps` evaluations (step i at `evalAt(i)`), the
 * instances `keys`, each evaluation's observations from `observe` (an instance left out is
 * no longer reported, as in the live evaluation), and collect each instance's story.
 */
function replaySteps(
  keys: readonly string[],
  steps: number,
  stepMs: number,
  forMs: number,
  evalAt: (i: number) => number,
  observe: (i: number, now: number) => AlertObservation[],
): PreviewReplay {
  const byKey = new Map<string, PreviewInstance>(keys.map((key) => [key, { key, events: [], state: 'inactive', notifications: 0, noDataSteps: 0 }]));
  let instances: Record<string, AlertInstance> = {};
  for (let i = 0; i < steps; i++) {
    const now = evalAt(i);
    const observations = observe(i, now);
    const values = new Map(observations.map((o) => [o.key, o.value]));
    const before = instances;
    const step = stepAlerts(instances, observations, { ruleId: 0, now, forMs, keepResolvedMs: Number.POSITIVE_INFINITY });
    instances = step.instances;
    for (const out of byKey.values()) {
      const value = values.get(out.key) ?? null;
      if (values.has(out.key) && value === null) out.noDataSteps++;
      const was = before[out.key]?.state ?? 'inactive';
      const is = instances[out.key]?.state ?? 'inactive';
      if (was === is) continue;
      // for 0 fires straight from inactive: pending and firing at the same evaluation, shown as firing.
      if (is === 'pending') out.events.push({ at: now, to: 'pending', value });
      else if (is === 'inactive' && was === 'pending') out.events.push({ at: now, to: 'cleared', value });
      out.state = is;
    }
    for (const t of step.transitions) {
      const out = byKey.get(t.key)!;
      out.events.push({ at: t.at, to: t.to, value: t.value });
      out.notifications++;
    }
  }
  const all = [...byKey.values()];
  const active = all.filter((x) => x.events.length > 0).sort((a, b) => b.notifications - a.notifications || b.events.length - a.events.length || (a.key < b.key ? -1 : 1));
  return {
    steps,
    stepMs,
    instances: active,
    quietInstances: all.length - active.length,
    notifications: all.reduce((n, x) => n + x.notifications, 0),
  };
}

/** replaySteps over fleet-query groups (the same step times each): an evaluation at the end of each step, one observation per group. */
function replayGroups(groups: readonly PreviewGroup[], stepMs: number, forMs: number, observe: (g: PreviewGroup, i: number, now: number) => AlertObservation): PreviewReplay {
  const times = groups[0]?.points.map((p) => p.t) ?? [];
  return replaySteps(
    groups.map((g) => g.key),
    times.length,
    stepMs,
    forMs,
    (i) => times[i] + stepMs,
    (i, now) => groups.map((g) => observe(g, i, now)),
  );
}

/**
 * Replay a threshold rule over steps of `stepMs` (every group's points on the same step
 * times, as a fleet query returns them): see the module comment.
 */
export function replayThreshold(rule: PreviewRule, groups: readonly PreviewGroup[], stepMs: number): PreviewReplay {
  // How many earlier steps the window reaches: a step whose start lies within the window before the evaluation counts.
  const reach = Math.max(0, Math.ceil(rule.spec.windowMs / stepMs) - 1);
  return replayGroups(groups, stepMs, rule.forMs, (g, i) => {
    let value: number | null = null;
    for (let j = i; j >= Math.max(0, i - reach) && value === null; j--) value = g.points[j]?.v ?? null;
    return { key: g.key, labels: {}, value, ...thresholdCondition(rule.spec, value) };
  });
}

/**
 * Replay an absence rule: `groups` are the devices (key: the device's name) with the count of
 * samples their matching series stored per step (null or 0: none), all on the same step
 * times from `from`. A device is taken to have stored data just before `from` (the replay
 * does not look further back), so a device silent all day fires `silentMs` into the range.
 * The value is the silence in seconds, as in the live evaluation.
 */
export function replayAbsence(
  rule: { spec: Pick<Extract<AlertSpec, { kind: 'absence' }>, 'silentMs'>; forMs: number },
  groups: readonly PreviewGroup[],
  stepMs: number,
  from: number,
): PreviewReplay {
  const newest = new Map(groups.map((g) => [g.key, from]));
  return replayGroups(groups, stepMs, rule.forMs, (g, i, now) => {
    if ((g.points[i]?.v ?? 0) > 0) newest.set(g.key, now);
    const silentMs = now - newest.get(g.key)!;
    const active = silentMs >= rule.spec.silentMs;
    return { key: g.key, labels: {}, value: silentMs / 1000, active, clear: !active };
  });
}

/** One recorded change of a device's mirrored session state (`state` null: no row, no running session). */
export interface SessionStateChange {
  at: number;
  state: string | null;
}

/**
 * Replay a session rule at evaluations every `stepMs` from `from` (the first at `from + stepMs`)
 * up to `to`: `devices` maps each device's name to its changes, oldest first (the state it was
 * in at `from` comes as a change at or before `from`). A device is observed when its state is
 * one of the rule's, a backoff only once it lasted longer than `backoffLongerThanMs`; the value
 * is how long it has been in that state (s), as in the live evaluation.
 */
export function replaySession(
  rule: { spec: Pick<Extract<AlertSpec, { kind: 'session' }>, 'states' | 'backoffLongerThanMs'>; forMs: number },
  devices: ReadonlyMap<string, readonly SessionStateChange[]>,
  stepMs: number,
  from: number,
  to: number,
): PreviewReplay {
  const steps = Math.max(0, Math.floor((to - from) / stepMs));
  const keys = [...devices.keys()];
  const cursor = new Map(keys.map((k) => [k, -1]));
  const watched = new Set<string>(rule.spec.states);
  return replaySteps(
    keys,
    steps,
    stepMs,
    rule.forMs,
    (i) => from + (i + 1) * stepMs,
    (_i, now) => {
      const out: AlertObservation[] = [];
      for (const [key, changes] of devices) {
        let c = cursor.get(key)!;
        while (c + 1 < changes.length && changes[c + 1].at <= now) c++;
        cursor.set(key, c);
        const current = changes[c];
        if (!current?.state || !watched.has(current.state)) continue;
        const sinceMs = now - current.at;
        if (current.state === 'backoff' && sinceMs <= rule.spec.backoffLongerThanMs) continue;
        out.push({ key, labels: {}, value: sinceMs / 1000, active: true, clear: false });
      }
      return out;
    },
  );
}
