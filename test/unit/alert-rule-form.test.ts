/**
 * The alert rule form as data (web/app/lib/alert-rule-form.ts): a stored rule of each kind
 * shown on the edit page and posted back unchanged is the same rule; a wrong field is
 * named (the spec union's own message says only "Invalid input").
 */
import assert from 'node:assert/strict';
import type { AlertRuleDefinition } from '../../core/alert-rules';
import { formValuesFromRule, NEW_RULE_VALUES, parseRuleForm } from '../../web/app/lib/alert-rule-form';

const base = { id: 4, name: 'r', severity: 'critical', forMs: 120_000, intervalMs: 30_000, labels: { team: 'net', env: 'lab' }, contactPointId: 2, enabled: false, version: 3 } as const;

describe('alert rule form', () => {
  const rules: AlertRuleDefinition[] = [
    { ...base, labels: { ...base.labels }, spec: { kind: 'threshold', path: '/interfaces/interface[name=*]/state/counters/in-octets', rate: true, agg: 'sum', groupBy: 'interface[name]', op: '<=', threshold: 2.5, recovery: 4, windowMs: 90_000 } },
    { ...base, labels: {}, contactPointId: null, enabled: true, forMs: 0, spec: { kind: 'absence', path: '/system/cpu', silentMs: 300_000 } },
    { ...base, labels: {}, spec: { kind: 'session', states: ['backoff', 'auth-failed'], backoffLongerThanMs: 3_600_000 } },
  ];
  for (const rule of rules) {
    it(`${rule.spec.kind} rule: posted back unchanged, the same rule`, () => {
      const parsed = parseRuleForm(formValuesFromRule(rule));
      assert.ok(parsed.ok, JSON.stringify(parsed));
      const { id: _id, version: _version, ...stored } = rule;
      assert.deepEqual(parsed.input, stored);
    });
  }

  it('names the wrong field of the chosen kind and each other wrong field', () => {
    const parsed = parseRuleForm({ ...NEW_RULE_VALUES, name: 'x', path: '/a', threshold: 'lots', interval: 'soon' });
    assert.equal(parsed.ok, false);
    assert.ok(!parsed.ok);
    assert.deepEqual(parsed.errors.map((e) => e.split(':')[0]).sort(), ['intervalMs', 'spec.threshold']);
  });

  it('a new rule is enabled and unchecking enabled disables it', () => {
    const on = parseRuleForm({ ...NEW_RULE_VALUES, name: 'x', path: '/a', threshold: '1' });
    assert.ok(on.ok && on.input.enabled === true);
    const off = parseRuleForm({ ...NEW_RULE_VALUES, name: 'x', path: '/a', threshold: '1', enabled: '' });
    assert.ok(off.ok && off.input.enabled === false);
  });
});
