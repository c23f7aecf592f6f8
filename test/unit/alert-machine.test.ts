/**
 * The alert state machine (core/alert-machine.ts) and rule schemas (core/alert-rules.ts):
 * table-driven sequences of evaluations — for-duration, hysteresis, no data, instances
 * appearing and disappearing, re-firing as a new episode with a new idempotency key,
 * disable — each checked state by state and transition by transition.
 */
import assert from 'node:assert/strict';
import { resolveAll, stepAlerts, thresholdCondition, transitionKey, type AlertInstance, type AlertObservation } from '../../core/alert-machine';
import { AlertRuleInputSchema, matchesAll, parseMatchers } from '../../core/alert-rules';

const RULE = 7;
type Step = { at: number; obs: Array<[key: string, value: number | null]>; states: Record<string, string>; fired?: string[]; resolved?: string[] };

/** Run a sequence of evaluations of `> 10, recovery 5` (or the given condition) and check every step. */
function run(steps: Step[], opts: { forMs: number; recovery?: number; keepResolvedMs?: number }) {
  let instances: Record<string, AlertInstance> = {};
  const keys = new Set<string>();
  for (const [i, s] of steps.entries()) {
    const obs: AlertObservation[] = s.obs.map(([key, value]) => ({ key, labels: { group: key }, value, ...thresholdCondition({ op: '>', threshold: 10, recovery: opts.recovery }, value) }));
    const r = stepAlerts(instances, obs, { ruleId: RULE, now: s.at, forMs: opts.forMs, keepResolvedMs: opts.keepResolvedMs ?? 60_000 });
    instances = r.instances;
    const states = Object.fromEntries(Object.values(instances).map((x) => [x.key, x.state]));
    assert.deepEqual(states, s.states, `step ${i} (t=${s.at}) states`);
    assert.deepEqual(r.transitions.filter((t) => t.to === 'firing').map((t) => t.key), s.fired ?? [], `step ${i} fired`);
    assert.deepEqual(r.transitions.filter((t) => t.to === 'resolved').map((t) => t.key), s.resolved ?? [], `step ${i} resolved`);
    for (const t of r.transitions) {
      assert.ok(!keys.has(t.idempotencyKey), `idempotency key ${t.idempotencyKey} used twice`);
      keys.add(t.idempotencyKey);
    }
  }
  return { instances, keys };
}

describe('alert state machine', () => {
  const cases: Array<{ name: string; forMs: number; recovery?: number; keepResolvedMs?: number; steps: Step[] }> = [
    {
      name: 'for 0 fires at the first breach and resolves below the threshold',
      forMs: 0,
      steps: [
        { at: 0, obs: [['a', 5]], states: {} },
        { at: 10, obs: [['a', 11]], states: { a: 'firing' }, fired: ['a'] },
        { at: 20, obs: [['a', 12]], states: { a: 'firing' } },
        { at: 30, obs: [['a', 10]], states: { a: 'resolved' }, resolved: ['a'] },
      ],
    },
    {
      name: 'pending for the for-duration, then firing; a dip while pending starts over',
      forMs: 30,
      steps: [
        { at: 0, obs: [['a', 11]], states: { a: 'pending' } },
        { at: 20, obs: [['a', 3]], states: {} },
        { at: 30, obs: [['a', 11]], states: { a: 'pending' } },
        { at: 50, obs: [['a', 11]], states: { a: 'pending' } },
        { at: 60, obs: [['a', 11]], states: { a: 'firing' }, fired: ['a'] },
      ],
    },
    {
      name: 'hysteresis: firing holds between the recovery threshold and the threshold',
      forMs: 0,
      recovery: 5,
      steps: [
        { at: 0, obs: [['a', 20]], states: { a: 'firing' }, fired: ['a'] },
        { at: 10, obs: [['a', 8]], states: { a: 'firing' } },
        { at: 20, obs: [['a', 5]], states: { a: 'firing' } },
        { at: 30, obs: [['a', 4]], states: { a: 'resolved' }, resolved: ['a'] },
        { at: 40, obs: [['a', 8]], states: { a: 'resolved' } },
      ],
    },
    {
      name: 'no data: pending drops back, firing holds',
      forMs: 10,
      steps: [
        { at: 0, obs: [['a', 11], ['b', 11]], states: { a: 'pending', b: 'pending' } },
        { at: 10, obs: [['a', 11], ['b', 11]], states: { a: 'firing', b: 'firing' }, fired: ['a', 'b'] },
        { at: 20, obs: [['a', null], ['b', 11]], states: { a: 'firing', b: 'firing' } },
        { at: 30, obs: [['a', 11], ['b', 1]], states: { a: 'firing', b: 'resolved' }, resolved: ['b'] },
      ],
    },
    {
      name: 'instances appear and disappear: a vanished firing instance resolves, a vanished pending one is dropped',
      forMs: 10,
      steps: [
        { at: 0, obs: [['a', 11]], states: { a: 'pending' } },
        { at: 10, obs: [['a', 11], ['b', 11]], states: { a: 'firing', b: 'pending' }, fired: ['a'] },
        { at: 20, obs: [['c', 11]], states: { a: 'resolved', c: 'pending' }, resolved: ['a'] },
      ],
    },
    {
      name: 'a second episode fires again under a new idempotency key; resolved instances are forgotten after keepResolvedMs',
      forMs: 0,
      keepResolvedMs: 25,
      steps: [
        { at: 0, obs: [['a', 11]], states: { a: 'firing' }, fired: ['a'] },
        { at: 10, obs: [['a', 1]], states: { a: 'resolved' }, resolved: ['a'] },
        { at: 20, obs: [['a', 11]], states: { a: 'firing' }, fired: ['a'] },
        { at: 30, obs: [['a', 1]], states: { a: 'resolved' }, resolved: ['a'] },
        { at: 60, obs: [['a', 1]], states: {} },
      ],
    },
  ];
  for (const c of cases) it(c.name, () => void run(c.steps, c));

  it('the same evaluation replayed gives the same transitions and idempotency keys (retries deduplicate)', () => {
    const obs: AlertObservation[] = [{ key: 'x', labels: {}, value: 50, active: true, clear: false }];
    const a = stepAlerts({}, obs, { ruleId: RULE, now: 1000, forMs: 0, keepResolvedMs: 1 });
    const b = stepAlerts({}, obs, { ruleId: RULE, now: 1000, forMs: 0, keepResolvedMs: 1 });
    assert.deepEqual(a, b);
    assert.equal(a.transitions[0].idempotencyKey, transitionKey(RULE, 'x', 1000, 'firing'));
  });

  it('disable resolves firing instances with the reason and forgets pending ones', () => {
    const { instances } = run([{ at: 0, obs: [['a', 11], ['b', 11]], states: { a: 'firing', b: 'firing' }, fired: ['a', 'b'] }], { forMs: 0 });
    instances.b = { ...instances.b, state: 'pending' };
    const r = resolveAll(instances, { ruleId: RULE, now: 5, forMs: 0, keepResolvedMs: 100 }, 'rule disabled');
    assert.deepEqual(r.transitions.map((t) => [t.key, t.to, t.reason]), [['a', 'resolved', 'rule disabled']]);
    assert.deepEqual(Object.keys(r.instances), ['a']);
  });

  it('threshold conditions per operator, with and without recovery', () => {
    assert.deepEqual(thresholdCondition({ op: '<', threshold: 10, recovery: 15 }, 12), { active: false, clear: false });
    assert.deepEqual(thresholdCondition({ op: '<', threshold: 10, recovery: 15 }, 16), { active: false, clear: true });
    assert.deepEqual(thresholdCondition({ op: '<=', threshold: 10 }, 10), { active: true, clear: false });
    assert.deepEqual(thresholdCondition({ op: '>=', threshold: 10 }, 9), { active: false, clear: true });
    assert.deepEqual(thresholdCondition({ op: '>', threshold: 10 }, null), { active: false, clear: false });
  });
});

describe('alert rule schemas', () => {
  it('accepts each kind with defaults and refuses a recovery on the wrong side', () => {
    const t = AlertRuleInputSchema.parse({ name: 'hot', spec: { kind: 'threshold', path: '/x', op: '>', threshold: 80, recovery: 70 } });
    assert.equal(t.intervalMs, 60_000);
    assert.equal(t.severity, 'warning');
    assert.equal(AlertRuleInputSchema.parse({ name: 'quiet', spec: { kind: 'absence', path: '/x', silentMs: 60_000 } }).spec.kind, 'absence');
    const s = AlertRuleInputSchema.parse({ name: 'creds', spec: { kind: 'session' } });
    assert.deepEqual(s.spec.kind === 'session' && s.spec.states, ['auth-failed', 'config-invalid']);
    const bad = AlertRuleInputSchema.safeParse({ name: 'x', spec: { kind: 'threshold', path: '/x', op: '>', threshold: 80, recovery: 90 } });
    assert.equal(bad.success, false);
  });

  it('silence matchers: exact and regex, every matcher must match', () => {
    const m = parseMatchers('alertname=hot, device=~leaf-.*');
    assert.equal(matchesAll(m, { alertname: 'hot', device: 'leaf-1' }), true);
    assert.equal(matchesAll(m, { alertname: 'hot', device: 'spine-1' }), false);
    assert.equal(matchesAll([], { alertname: 'hot' }), false);
    assert.throws(() => parseMatchers('nope'), /bad matcher/);
  });
});
