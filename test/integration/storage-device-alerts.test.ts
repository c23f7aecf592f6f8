/**
 * Alert state per device (issue 18) on real PostgreSQL: instances map to a device by their
 * `device` label (threshold rules grouped by device, absence and session rules); the device
 * page lists firing and pending ones, the devices list counts firing ones per row in one
 * query with the worst severity, and `alerts=firing` filters the list and its counts.
 */
import assert from 'node:assert/strict';
import { createAlertRule, firingAlertsByDevice, listAlertInstances, recordAlertInstances } from '../../storage/alerts';
import { deviceStateCounts, listDevices } from '../../storage/device-list';
import { instanceLabels, type AlertRuleDefinition } from '../../core/alert-rules';
import type { AlertInstance } from '../../core/alert-machine';
import { viewFromParams } from '../../core/device-filter';
import { createTestDatabase, type TestDatabase } from '../support/db';

describe('storage: alert state per device', () => {
  let tdb: TestDatabase;
  let byDevice: AlertRuleDefinition;
  let bySite: AlertRuleDefinition;
  let session: AlertRuleDefinition;
  let absence: AlertRuleDefinition;
  const t0 = Date.parse('2026-11-28T10:00:00Z');
  const view = viewFromParams(new URLSearchParams());

  /** An instance as the rule workflow mirrors it (labels built as activities/alerts.ts builds them). */
  const instance = (rule: AlertRuleDefinition, key: string, own: Record<string, string>, state: AlertInstance['state'], value: number | null): AlertInstance => ({
    key,
    labels: instanceLabels(rule, own),
    state,
    value,
    episode: t0,
    pendingSince: t0,
    firingSince: state === 'firing' || state === 'resolved' ? t0 + 60_000 : undefined,
    resolvedAt: state === 'resolved' ? t0 + 120_000 : undefined,
  });

  before(async () => {
    tdb = await createTestDatabase('device_alerts');
    await tdb.db('devices').insert(
      ['sw-1', 'sw-2', 'sw-3', 'core-1'].map((name, i) => ({ name, protocol: 'gnmi', host: `10.1.${i}.1`, port: 57400, site: i < 2 ? 'hall-1' : 'hall-2', enabled: true })),
    );
    const threshold = (groupBy: string) => ({ kind: 'threshold' as const, path: '/system/cpu/utilization', agg: 'avg' as const, groupBy, op: '>' as const, threshold: 90 });
    byDevice = await createAlertRule(tdb.db, { name: 'cpu hot', spec: threshold('device'), severity: 'critical' });
    bySite = await createAlertRule(tdb.db, { name: 'site cpu hot', spec: threshold('site'), severity: 'critical' });
    session = await createAlertRule(tdb.db, { name: 'session parked', spec: { kind: 'session', states: ['auth-failed'] }, severity: 'warning' });
    absence = await createAlertRule(tdb.db, { name: 'cpu silent', spec: { kind: 'absence', path: '/system/cpu/utilization', silentMs: 60_000 }, severity: 'info' });
    await recordAlertInstances(tdb.db, byDevice.id, [
      instance(byDevice, 'sw-1', { group: 'sw-1', device: 'sw-1' }, 'firing', 97),
      instance(byDevice, 'sw-2', { group: 'sw-2', device: 'sw-2' }, 'pending', 93),
      instance(byDevice, 'sw-3', { group: 'sw-3', device: 'sw-3' }, 'resolved', 40),
      instance(byDevice, 'core-1', { group: 'core-1', device: 'core-1' }, 'inactive', 10),
    ]);
    // Grouped by site: no device label, so on no device's page.
    await recordAlertInstances(tdb.db, bySite.id, [instance(bySite, 'hall-2', { group: 'hall-2', site: 'hall-2' }, 'firing', 95)]);
    await recordAlertInstances(tdb.db, session.id, [
      instance(session, 'sw-1', { device: 'sw-1', session_state: 'auth-failed' }, 'firing', 600),
      instance(session, 'sw-3', { device: 'sw-3', session_state: 'auth-failed' }, 'firing', 300),
    ]);
    await recordAlertInstances(tdb.db, absence.id, [instance(absence, 'sw-2', { device: 'sw-2' }, 'firing', 120)]);
  });
  after(async () => tdb?.drop());

  it("lists a device's firing and pending instances of every rule kind, firing first, never resolved, inactive or another grouping's", async () => {
    const of = async (device: string) => (await listAlertInstances(tdb.db, { device })).map((i) => [i.ruleName, i.state, i.severity, i.value]);
    assert.deepEqual(await of('sw-1'), [
      ['cpu hot', 'firing', 'critical', 97],
      ['session parked', 'firing', 'warning', 600],
    ]);
    assert.deepEqual(await of('sw-2'), [
      ['cpu silent', 'firing', 'info', 120],
      ['cpu hot', 'pending', 'critical', 93],
    ]);
    assert.deepEqual(await of('sw-3'), [['session parked', 'firing', 'warning', 300]]);
    assert.deepEqual(await of('core-1'), []);
    assert.deepEqual(await of('hall-2'), [], 'a site group is not a device');
    const [pending] = (await listAlertInstances(tdb.db, { device: 'sw-2' })).filter((i) => i.state === 'pending');
    assert.equal(pending.since?.getTime(), t0, 'a pending instance is shown since it became pending');
    const [firing] = await listAlertInstances(tdb.db, { device: 'sw-1' });
    assert.equal(firing.since?.getTime(), t0 + 60_000, 'a firing instance is shown since it fired');
    // Without a device, the Alerts page's list is unchanged: every instance, the site group's too.
    assert.equal((await listAlertInstances(tdb.db)).length, 8);
  });

  it('counts firing instances per device for a page of rows in one call, with the worst severity', async () => {
    const got = await firingAlertsByDevice(tdb.db, ['sw-1', 'sw-2', 'sw-3', 'core-1', 'hall-2']);
    assert.deepEqual(Object.fromEntries(got), {
      'sw-1': { count: 2, severity: 'critical' },
      'sw-2': { count: 1, severity: 'info' },
      'sw-3': { count: 1, severity: 'warning' },
    });
    assert.deepEqual(await firingAlertsByDevice(tdb.db, []), new Map());
  });

  it('filters the list and its state counts to devices with a firing instance (alerts=firing), AND-ed with the others', async () => {
    const names = async (f: Parameters<typeof listDevices>[1]) => (await listDevices(tdb.db, f, view)).rows.map((r) => r.name);
    assert.deepEqual(await names({ alerts: 'firing' }), ['sw-1', 'sw-2', 'sw-3']);
    assert.deepEqual(await names({ alerts: 'firing', site: 'hall-2' }), ['sw-3']);
    assert.deepEqual(await deviceStateCounts(tdb.db, { alerts: 'firing' }), { 'not started': 3 });
  });

  it('follows the mirror: a resolved instance leaves the page, the count and the filter', async () => {
    await recordAlertInstances(tdb.db, session.id, [
      instance(session, 'sw-1', { device: 'sw-1', session_state: 'auth-failed' }, 'resolved', 600),
      instance(session, 'sw-3', { device: 'sw-3', session_state: 'auth-failed' }, 'firing', 300),
    ]);
    await recordAlertInstances(tdb.db, absence.id, []);
    assert.deepEqual(
      (await listAlertInstances(tdb.db, { device: 'sw-1' })).map((i) => i.ruleName),
      ['cpu hot'],
    );
    assert.deepEqual(Object.fromEntries(await firingAlertsByDevice(tdb.db, ['sw-1', 'sw-2', 'sw-3'])), {
      'sw-1': { count: 1, severity: 'critical' },
      'sw-3': { count: 1, severity: 'warning' },
    });
    assert.deepEqual((await listDevices(tdb.db, { alerts: 'firing' }, view)).rows.map((r) => r.name), ['sw-1', 'sw-3']);
  });
});
