/**
 * Chart markers of alert transitions (issue 18) on real PostgreSQL: alertMarkersForDevices()
 * returns the transitions of the instances that belong to the named devices (as ADR 158 maps
 * them: absence and session rules, threshold rules grouped by device — not a threshold grouped
 * by site whose group happens to share a device's name) inside the range, oldest first, the
 * newest `limit` of them when there are more, with the rule's name and severity.
 */
import assert from 'node:assert/strict';
import { alertMarkersForDevices, createAlertRule } from '../../storage/alerts';
import { createTestDatabase, type TestDatabase } from '../support/db';

describe('storage: alert markers for charts', () => {
  let tdb: TestDatabase;
  const t0 = Date.parse('2026-11-28T10:00:00Z');
  const ids: Record<string, number> = {};

  before(async () => {
    tdb = await createTestDatabase('alert_markers');
    const threshold = (groupBy: string) => ({ kind: 'threshold' as const, path: '/system/cpu/utilization', agg: 'avg' as const, groupBy, op: '>' as const, threshold: 90 });
    ids.byDevice = (await createAlertRule(tdb.db, { name: 'cpu hot', spec: threshold('device'), severity: 'critical' })).id;
    ids.bySite = (await createAlertRule(tdb.db, { name: 'site cpu hot', spec: threshold('site'), severity: 'warning' })).id;
    ids.absence = (await createAlertRule(tdb.db, { name: 'silent', spec: { kind: 'absence', path: '/system/cpu/utilization', silentMs: 60_000 }, severity: 'info' })).id;
    ids.session = (await createAlertRule(tdb.db, { name: 'parked', spec: { kind: 'session', states: ['auth-failed'] }, severity: 'warning' })).id;
    let n = 0;
    const row = (rule: number, instance: string, transition: 'firing' | 'resolved', minute: number, silenced = false) => ({
      idempotency_key: `k-${++n}`,
      rule_id: rule,
      instance_key: instance,
      transition,
      at: new Date(t0 + minute * 60_000),
      value: 1,
      silenced,
    });
    await tdb.db('alert_transitions').insert([
      row(ids.byDevice, 'sw-1', 'firing', 1),
      row(ids.byDevice, 'sw-1', 'resolved', 3),
      row(ids.bySite, 'sw-1', 'firing', 2), // a site that happens to be named like the device: not the device's
      row(ids.absence, 'sw-1', 'firing', 4, true),
      row(ids.session, 'sw-2', 'firing', 5),
      row(ids.byDevice, 'sw-1', 'firing', 30), // outside the range below
    ]);
  });
  after(async () => tdb?.drop());

  it("returns the device's transitions in the range, oldest first, with rule and severity", async () => {
    const got = await alertMarkersForDevices(tdb.db, ['sw-1'], t0, t0 + 10 * 60_000);
    assert.deepEqual(
      got.map((m) => [m.rule, m.severity, m.instance, m.transition, (m.t - t0) / 60_000, m.silenced]),
      [
        ['cpu hot', 'critical', 'sw-1', 'firing', 1, false],
        ['cpu hot', 'critical', 'sw-1', 'resolved', 3, false],
        ['silent', 'info', 'sw-1', 'firing', 4, true],
      ],
    );
  });

  it('serves several devices at once, keeps the newest `limit`, and nothing for no device', async () => {
    const both = await alertMarkersForDevices(tdb.db, ['sw-1', 'sw-2'], t0, t0 + 60 * 60_000);
    assert.deepEqual(both.map((m) => `${m.instance}@${(m.t - t0) / 60_000}`), ['sw-1@1', 'sw-1@3', 'sw-1@4', 'sw-2@5', 'sw-1@30']);
    const newest = await alertMarkersForDevices(tdb.db, ['sw-1', 'sw-2'], t0, t0 + 60 * 60_000, 2);
    assert.deepEqual(newest.map((m) => (m.t - t0) / 60_000), [5, 30]);
    assert.deepEqual(await alertMarkersForDevices(tdb.db, [], t0, t0 + 60 * 60_000), []);
  });
});
