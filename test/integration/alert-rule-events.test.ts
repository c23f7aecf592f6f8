/**
 * The alert rule repository's part in editing and deleting rules (issue 18) on real
 * PostgreSQL: who changed a rule and when (alert_rule_events, newest first, kept with the
 * name once the rule is deleted), the name check that lets a rule keep its own name, and a
 * deleted rule's last resolutions — recorded by its workflow on the way out — skipped
 * instead of failing on the foreign key (the recording activity would retry them forever).
 */
import assert from 'node:assert/strict';
import type { AlertInstance, AlertTransition } from '../../core/alert-machine';
import {
  alertRuleEvents,
  alertRuleNameTaken,
  createAlertRule,
  deleteAlertRule,
  recordAlertInstances,
  recordAlertRuleEvent,
  recordAlertTransitions,
  updateAlertRule,
} from '../../storage/alerts';
import { createTestDatabase, type TestDatabase } from '../support/db';

const SPEC = { kind: 'threshold' as const, path: '/system/cpu/utilization', groupBy: 'device', op: '>' as const, threshold: 90 };

describe('storage: alert rule edits and deletion', () => {
  let tdb: TestDatabase;
  before(async () => {
    tdb = await createTestDatabase('alert_rule_events');
  });
  after(async () => tdb?.drop());

  const transition = (ruleId: number, key: string, to: 'firing' | 'resolved'): AlertTransition & { silenced: boolean } => ({
    ruleId,
    key,
    labels: { device: key },
    to,
    at: Date.now(),
    value: 95,
    episode: 1,
    idempotencyKey: `alert-${ruleId}-1-${to}-${key}`,
    silenced: false,
  });
  const instance = (key: string, state: AlertInstance['state']): AlertInstance => ({ key, labels: { device: key }, state, value: 95, episode: 1, pendingSince: 1 });

  it('records who created and edited a rule, newest first; a rule may keep its own name, not take another', async () => {
    const a = await createAlertRule(tdb.db, { name: 'cpu hot', spec: SPEC });
    const b = await createAlertRule(tdb.db, { name: 'cpu warm', spec: { ...SPEC, threshold: 70 } });
    await recordAlertRuleEvent(tdb.db, { ruleId: a.id, ruleName: a.name, actor: 'ann@example.test', kind: 'created', detail: { version: a.version } });
    const edited = (await updateAlertRule(tdb.db, a.id, { name: 'cpu hot', spec: { ...SPEC, threshold: 95 } }))!;
    assert.equal(edited.version, 2);
    await recordAlertRuleEvent(tdb.db, { ruleId: a.id, ruleName: a.name, actor: 'bob@example.test', kind: 'edited', detail: { version: edited.version } });
    const events = await alertRuleEvents(tdb.db, a.id);
    assert.deepEqual(
      events.map((e) => [e.kind, e.actor, e.detail.version]),
      [
        ['edited', 'bob@example.test', 2],
        ['created', 'ann@example.test', 1],
      ],
    );
    assert.ok(events.every((e) => e.at instanceof Date));
    assert.equal(await alertRuleNameTaken(tdb.db, 'cpu hot', a.id), false, 'its own name');
    assert.equal(await alertRuleNameTaken(tdb.db, 'cpu warm', a.id), true, "another rule's name");
    assert.equal(await alertRuleNameTaken(tdb.db, 'cpu hot'), true, 'a new rule may not take it');
    await deleteAlertRule(tdb.db, b.id);
  });

  it("a deleted rule's record stays with its name; its workflow's last resolutions are skipped, a live rule's stored", async () => {
    const gone = await createAlertRule(tdb.db, { name: 'to delete', spec: SPEC });
    const live = await createAlertRule(tdb.db, { name: 'stays', spec: SPEC });
    await recordAlertTransitions(tdb.db, [transition(gone.id, 'sw-1', 'firing')]);
    await recordAlertRuleEvent(tdb.db, { ruleId: gone.id, ruleName: gone.name, actor: 'ann@example.test', kind: 'deleted', detail: { version: gone.version } });
    await deleteAlertRule(tdb.db, gone.id);

    const [kept] = await tdb.db('alert_rule_events').where({ rule_name: 'to delete' });
    assert.equal(kept.kind, 'deleted');
    assert.equal(kept.rule_id, null);
    assert.equal(kept.detail.ruleId, gone.id);
    assert.deepEqual(await alertRuleEvents(tdb.db, gone.id), [], 'no longer listed under the id');

    // What the deleted rule's workflow records on its way out, together with another rule's transition.
    await recordAlertTransitions(tdb.db, [transition(gone.id, 'sw-1', 'resolved'), transition(live.id, 'sw-2', 'firing')]);
    await recordAlertInstances(tdb.db, gone.id, [instance('sw-1', 'resolved')]);
    assert.deepEqual(
      (await tdb.db('alert_transitions').orderBy('id').select('rule_id', 'instance_key', 'transition')).map((r) => [r.rule_id, r.instance_key, r.transition]),
      [[live.id, 'sw-2', 'firing']],
    );
    assert.equal(Number((await tdb.db('alert_instances').where({ rule_id: gone.id }).count('* as n'))[0].n), 0);
    await recordAlertInstances(tdb.db, live.id, [instance('sw-2', 'firing')]);
    assert.equal(Number((await tdb.db('alert_instances').where({ rule_id: live.id }).count('* as n'))[0].n), 1);
  });
});
