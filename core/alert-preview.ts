/**
 * The replay behind the rule editor's preview (issue 18): what a threshold rule would have
 * done over a past range, from one fleet-query answer (a series of steps per group). Each
 * step is one evaluation at the step's end; its value is the group's newest value among
 * the steps the rule's window reaches back over (as the live evaluation takes the newest
 * non-empty step of its window), and the same pure machine the workflow runs
 * (core/alert-machine.ts: `for`, recovery threshold, no data) steps over them. Pure: no
 * I/O, no clock.
 */
import { stepAlerts, thresholdCondition, type AlertInstance } from './alert-machine';
import type { ThresholdSpec } from './alert-rules';

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
 * Replay a threshold rule over steps of `stepMs` (every group's points on the same step
 * times, as a fleet query returns them): see the module comment.
 */
export function replayThreshold(rule: PreviewRule, groups: readonly PreviewGroup[], stepMs: number): PreviewReplay {
  const times = groups[0]?.points.map((p) => p.t) ?? [];
  // How many earlier steps the window reaches: a step whose start lies within the window before the evaluation counts.
  const reach = Math.max(0, Math.ceil(rule.spec.windowMs / stepMs) - 1);
  const byKey = new Map<string, PreviewInstance>(groups.map((g) => [g.key, { key: g.key, events: [], state: 'inactive', notifications: 0, noDataSteps: 0 }]));
  let instances: Record<string, AlertInstance> = {};
  for (let i = 0; i < times.length; i++) {
    const now = times[i] + stepMs;
    const observations = groups.map((g) => {
      let value: number | null = null;
      for (let j = i; j >= Math.max(0, i - reach) && value === null; j--) value = g.points[j]?.v ?? null;
      return { key: g.key, labels: {}, value, ...thresholdCondition(rule.spec, value) };
    });
    const before = instances;
    const step = stepAlerts(instances, observations, { ruleId: 0, now, forMs: rule.forMs, keepResolvedMs: Number.POSITIVE_INFINITY });
    instances = step.instances;
    for (const o of observations) {
      const out = byKey.get(o.key)!;
      if (o.value === null) out.noDataSteps++;
      const was = before[o.key]?.state ?? 'inactive';
      const is = instances[o.key]?.state ?? 'inactive';
      if (was === is) continue;
      // for 0 fires straight from inactive: pending and firing at the same evaluation, shown as firing.
      if (is === 'pending') out.events.push({ at: now, to: 'pending', value: o.value });
      else if (is === 'inactive' && was === 'pending') out.events.push({ at: now, to: 'cleared', value: o.value });
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
    steps: times.length,
    stepMs,
    instances: active,
    quietInstances: all.length - active.length,
    notifications: all.reduce((n, x) => n + x.notifications, 0),
  };
}
