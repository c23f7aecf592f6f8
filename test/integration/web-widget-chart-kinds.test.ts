/**
 * State-timeline and table as widget chart kinds (issue 21): the migration widens the
 * `widgets.chart` check on a database at the previous schema, keeping its widgets; the
 * reads behind the two kinds (changes of a numeric leaf as states, the last values of
 * each series with their age) against real PostgreSQL.
 */
import assert from 'node:assert/strict';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { migrateLatest, migrateUpTo } from '../../migrations/index';
import { numericChangesInWindow } from '../../storage/value-changes';
import { newestValues } from '../../storage/newest-points';
import { addWidget, listWidgets } from '../../storage/dashboards';
import { lastValue } from '../../web/app/lib/last-values';
import { WidgetForm, widgetFormInput } from '../../web/app/lib/widget-form';

describe('web: widget chart kinds state-timeline and table', () => {
  let tdb: TestDatabase;
  before(async () => {
    tdb = await createTestDatabase('widget_kinds', { migrate: false });
  });
  after(async () => tdb?.drop());

  it('upgrades a database at the previous schema: old widgets kept, new kinds accepted, unknown kinds still refused', async () => {
    await migrateUpTo(tdb.db, '20261128090001_fleet', { storageTimescaledb: 'off' });
    const [dash] = await tdb.db('dashboards').insert({ name: 'before the upgrade' }).returning('id');
    await tdb.db('widgets').insert({ dashboard_id: dash.id, title: 'old line', path: '/a', chart: 'bar' });
    await assert.rejects(
      tdb.db('widgets').insert({ dashboard_id: dash.id, title: 'too early', path: '/a', chart: 'table' }),
      /check constraint/,
      'the previous schema refuses the new kinds',
    );

    const applied = await migrateLatest(tdb.db, { storageTimescaledb: 'off' });
    assert.ok(applied.includes('20261128120001_widget_chart_kinds'), `applied: ${applied.join(', ')}`);
    const spec = { deviceId: null, path: '/interfaces/interface[name=*]/state/oper-status', aggregate: 'none', groupBy: 'series', rate: false, unit: '', width: 6 } as const;
    await addWidget(tdb.db, dash.id, { ...spec, title: 'states', chart: 'state-timeline' });
    await addWidget(tdb.db, dash.id, { ...spec, title: 'last values', chart: 'table' });
    const widgets = await listWidgets(tdb.db, dash.id);
    assert.deepEqual(
      widgets.map((w) => [w.title, w.chart]),
      [
        ['old line', 'bar'],
        ['states', 'state-timeline'],
        ['last values', 'table'],
      ],
    );
    await assert.rejects(tdb.db('widgets').insert({ dashboard_id: dash.id, title: 'nonsense', path: '/a', chart: 'pie' }), /check constraint/);
  });

  it('the widget form accepts both kinds', () => {
    const form = new FormData();
    for (const [k, v] of Object.entries({ title: 't', deviceId: 'all', path: '/a/b', aggregate: 'none', groupBy: 'series', chart: 'state-timeline', unit: '', width: '6' }))
      form.set(k, v);
    assert.equal(WidgetForm.parse(widgetFormInput(form)).chart, 'state-timeline');
    form.set('chart', 'table');
    assert.equal(WidgetForm.parse(widgetFormInput(form)).chart, 'table');
    form.set('chart', 'pie');
    assert.equal(WidgetForm.safeParse(widgetFormInput(form)).success, false);
  });

  it('a numeric leaf as states: the value before the window, then only its changes', async () => {
    const [dev] = await tdb.db('devices').insert({ name: 'sw-kinds', protocol: 'gnmi', host: '10.9.9.9', port: 1 }).returning('id');
    const [s] = await tdb.db('series').insert({ device_id: dev.id, path: '/system/state/up', kind: 'number' }).returning('id');
    const T0 = Date.UTC(2026, 10, 28, 9, 0, 0);
    // 0 before the window; inside it 1,1,1,0,0,1 every 10 s.
    const points: Array<[number, number]> = [
      [T0 - 30_000, 0],
      [T0 + 10_000, 1],
      [T0 + 20_000, 1],
      [T0 + 30_000, 1],
      [T0 + 40_000, 0],
      [T0 + 50_000, 0],
      [T0 + 60_000, 1],
    ];
    await tdb.pool.query(`INSERT INTO samples (time, series_id, value) SELECT to_timestamp(t / 1000), $1, v FROM unnest($2::float8[], $3::float8[]) AS u(t, v)`, [
      s.id,
      points.map((p) => p[0]),
      points.map((p) => p[1]),
    ]);
    const states = await numericChangesInWindow(tdb.db, [s.id], T0, T0 + 120_000);
    assert.deepEqual(states.get(s.id), [
      { t: T0 - 30_000, v: '0' },
      { t: T0 + 10_000, v: '1' },
      { t: T0 + 40_000, v: '0' },
      { t: T0 + 60_000, v: '1' },
    ]);

    // The table: last value and its age, a rate over the last two points, stale when old.
    const { rows } = await newestValues(tdb.db, 'samples', [s.id], 2);
    const pts = (rows as Array<{ t: number; v: number }>).map((r) => ({ t: Number(r.t), v: Number(r.v) }));
    assert.deepEqual(pts, [
      { t: T0 + 60_000, v: 1 },
      { t: T0 + 50_000, v: 0 },
    ]);
    const fresh = lastValue(pts, { rate: false, scale: 1, now: T0 + 65_000 });
    assert.deepEqual(fresh, { value: 1, at: T0 + 60_000, intervalMs: 10_000, stale: false });
    assert.equal(lastValue(pts, { rate: false, scale: 1, now: T0 + 60_000 + 31_000 }).stale, true, 'older than three 10 s intervals (and 30 s)');
    assert.equal(lastValue(pts, { rate: true, scale: 8, now: T0 + 65_000 }).value, 0.8, '(1 − 0) / 10 s × 8');
  });
});
