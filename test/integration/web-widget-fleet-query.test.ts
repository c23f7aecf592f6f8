/**
 * Widgets on the fleet query model (issue 17) against real PostgreSQL: the migration
 * upgrades a database at the previous schema keeping its widgets as they were (and they
 * ask the server for what the browser used to draw: sums over all and per device, checked
 * against a reference from the raw rows); the new aggregations, groupings and top/bottom N
 * are stored and nonsense is refused; a top-N table widget's rows.
 */
import assert from 'node:assert/strict';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { migrateLatest, migrateUpTo } from '../../migrations/index';
import { FLEET_OVERVIEW, FLEET_OVERVIEW_WIDGETS, addWidget, ensureFleetOverview, listWidgets, type WidgetRow } from '../../storage/dashboards';
import { queryFleet } from '../../query/fleet-query';
import { fleetLastValues, widgetQuery } from '../../web/app/lib/widget-query';

const T0 = Date.UTC(2026, 10, 28, 8, 0, 0);
const STEP = 10_000;
const DEVICES = [
  { name: 'wq-sw1', site: 'ams' },
  { name: 'wq-sw2', site: 'fra' },
];
const IFACES = ['Ethernet1', 'Ethernet2', 'Ethernet3'];
const PATH = '/interfaces/interface[name=*]/state/counters/out-discards';
/** A gauge per device and interface: distinct, varying, every 10 s for 5 minutes. */
const value = (d: number, i: number, k: number) => 100 * (d + 1) + 10 * (i + 1) + (k % 7);

describe('web: widgets on the fleet query model', () => {
  let tdb: TestDatabase;
  let dashboardId: number;
  before(async () => {
    tdb = await createTestDatabase('widget_fleet_query', { migrate: false, storage: 'native' });
  });
  after(async () => tdb?.drop());

  it('upgrades a database at the previous schema: old widgets kept as they were, new choices stored, nonsense refused', async () => {
    await migrateUpTo(tdb.db, '20261128180001_alerts', { storageTimescaledb: 'off' });
    [{ id: dashboardId }] = await tdb.db('dashboards').insert({ name: 'before the upgrade' }).returning('id');
    await tdb.db('widgets').insert({ dashboard_id: dashboardId, title: 'old total', path: PATH, aggregate: 'sum', group_by: 'all', chart: 'stat', position: 0 });
    await tdb.db('widgets').insert({ dashboard_id: dashboardId, title: 'old per device', path: PATH, aggregate: 'none', group_by: 'device', chart: 'line', position: 1 });
    await assert.rejects(tdb.db('widgets').insert({ dashboard_id: dashboardId, title: 'too early', path: PATH, aggregate: 'count' }), /check constraint/);

    const applied = await migrateLatest(tdb.db, { storageTimescaledb: 'off' });
    assert.ok(applied.includes('20261128190001_widget_fleet_query'), `applied: ${applied.join(', ')}`);
    const before = await listWidgets(tdb.db, dashboardId);
    assert.deepEqual(
      before.map((w) => [w.title, w.aggregate, w.group_by, w.top_n, w.top_order]),
      [
        ['old total', 'sum', 'all', null, 'top'],
        ['old per device', 'none', 'device', null, 'top'],
      ],
    );
    const spec = { deviceId: null, path: PATH, rate: false, chart: 'table', unit: '', width: 6 } as const;
    await addWidget(tdb.db, dashboardId, { ...spec, title: 'count by site', aggregate: 'count', groupBy: 'site' });
    await addWidget(tdb.db, dashboardId, { ...spec, title: 'top interfaces', aggregate: 'max', groupBy: 'interface[name]', topN: 2, topOrder: 'top' });
    const after = await listWidgets(tdb.db, dashboardId);
    assert.deepEqual(
      after.slice(2).map((w) => [w.aggregate, w.group_by, w.top_n, w.top_order]),
      [
        ['count', 'site', null, 'top'],
        ['max', 'interface[name]', 2, 'top'],
      ],
    );
    await assert.rejects(tdb.db('widgets').insert({ dashboard_id: dashboardId, title: 'bad group', path: PATH, group_by: 'interface name' }), /check constraint/);
    await assert.rejects(tdb.db('widgets').insert({ dashboard_id: dashboardId, title: 'bad n', path: PATH, top_n: 0 }), /check constraint/);
    await assert.rejects(tdb.db('widgets').insert({ dashboard_id: dashboardId, title: 'bad order', path: PATH, top_order: 'middle' }), /check constraint/);
  });

  it('an earlier seeded Fleet overview gains the per-site and top-10 widgets once; an edited one is left alone', async () => {
    const added = ['Inbound traffic by site', 'Busiest interfaces (inbound, top 10)'];
    const [{ id }] = await tdb.db('dashboards').insert({ name: FLEET_OVERVIEW, time_range: '15m', live: true }).returning('id');
    for (const w of FLEET_OVERVIEW_WIDGETS.filter((x) => !added.includes(x.title))) await addWidget(tdb.db, id, w);
    assert.equal(await ensureFleetOverview(tdb.db), id);
    await ensureFleetOverview(tdb.db);
    const titles = (await listWidgets(tdb.db, id)).map((w) => w.title);
    assert.deepEqual(titles.slice(-2), added);
    assert.equal(titles.length, FLEET_OVERVIEW_WIDGETS.length, 'added once');
    const top = (await listWidgets(tdb.db, id)).find((w) => w.title === added[1])!;
    assert.deepEqual([top.aggregate, top.group_by, top.top_n, top.top_order, top.chart], ['sum', 'series', 10, 'top', 'table']);
    // Someone removed the table: it stays removed.
    await tdb.db('widgets').where({ id: top.id }).delete();
    await ensureFleetOverview(tdb.db);
    assert.equal((await listWidgets(tdb.db, id)).length, FLEET_OVERVIEW_WIDGETS.length - 1);
  });

  describe('computed on the server', () => {
    const raw = new Map<string, Array<{ t: number; v: number }>>(); // "<device> <iface>" → points
    let widgets: WidgetRow[];
    before(async () => {
      for (const [d, dev] of DEVICES.entries()) {
        const [{ id: deviceId }] = await tdb.db('devices').insert({ name: dev.name, site: dev.site, protocol: 'gnmi', host: '127.0.0.1', port: 1 }).returning('id');
        for (const [i, name] of IFACES.entries()) {
          const [{ id }] = await tdb.db('series').insert({ device_id: deviceId, path: PATH.replace('*', name), kind: 'number' }).returning('id');
          const points = Array.from({ length: 30 }, (_, k) => ({ t: T0 + k * STEP, v: value(d, i, k) }));
          raw.set(`${dev.name} ${name}`, points);
          await tdb.pool.query(`INSERT INTO samples (time, series_id, value) SELECT to_timestamp(t / 1000.0), $1, v FROM unnest($2::float8[], $3::float8[]) AS u(t, v)`, [
            id,
            points.map((p) => p.t),
            points.map((p) => p.v),
          ]);
        }
      }
      widgets = await listWidgets(tdb.db, dashboardId);
    });

    /** The reference: per series its mean in each step, combined across the series of a group. */
    function reference(groupOf: (key: string) => string, combine: (vs: number[]) => number, from: number, to: number, step: number) {
      const out = new Map<string, Map<number, number>>();
      for (let t = from; t <= to; t += step) {
        const byGroup = new Map<string, number[]>();
        for (const [key, points] of raw) {
          const inStep = points.filter((p) => p.t >= t && p.t < t + step).map((p) => p.v);
          if (inStep.length === 0) continue;
          const g = groupOf(key);
          byGroup.set(g, [...(byGroup.get(g) ?? []), inStep.reduce((a, b) => a + b, 0) / inStep.length]);
        }
        for (const [g, vs] of byGroup) out.set(g, (out.get(g) ?? new Map()).set(t, combine(vs)));
      }
      return out;
    }

    const sum = (vs: number[]) => vs.reduce((a, b) => a + b, 0);
    const from = T0;
    const to = T0 + 29 * STEP;

    it('an earlier fleet total (sum, all) is one line named sum, equal to the reference at every step', async () => {
      const total = widgets.find((w) => w.title === 'old total')!;
      const answer = await queryFleet(tdb.pool, { ...widgetQuery(total), from, to, widthPx: 30 });
      assert.equal(answer.seriesCount, 6);
      assert.deepEqual(answer.groups.map((g) => g.key), ['sum']);
      const ref = reference(() => 'sum', sum, answer.from, to, answer.bucketMs).get('sum')!;
      assert.ok(ref.size >= 10, `reference steps: ${ref.size}`);
      for (const p of answer.groups[0].points) if (ref.has(p.t)) assert.ok(Math.abs(p.v! - ref.get(p.t)!) < 1e-9, `step ${p.t - T0}: ${p.v} vs ${ref.get(p.t)}`);
      assert.equal(answer.groups[0].points.filter((p) => ref.has(p.t)).length, ref.size);
    });

    it('an earlier per-device chart (none, device) sums per device, equal to the reference', async () => {
      const perDevice = widgets.find((w) => w.title === 'old per device')!;
      const answer = await queryFleet(tdb.pool, { ...widgetQuery(perDevice), from, to, widthPx: 30 });
      assert.deepEqual(answer.groups.map((g) => [g.key, g.series]), [
        ['wq-sw1', 3],
        ['wq-sw2', 3],
      ]);
      const ref = reference((k) => k.split(' ')[0], sum, answer.from, to, answer.bucketMs);
      for (const g of answer.groups) for (const p of g.points) if (ref.get(g.key)!.has(p.t)) assert.ok(Math.abs(p.v! - ref.get(g.key)!.get(p.t)!) < 1e-9, `${g.key} step ${p.t - T0}`);
    });

    it('a top-2 table by interface name: the two busiest names, each with its newest maximum', async () => {
      const top = widgets.find((w) => w.title === 'top interfaces')!;
      const answer = await queryFleet(tdb.pool, { ...widgetQuery(top), from, to, widthPx: 30 });
      assert.equal(answer.groupCount, 3);
      const rows = fleetLastValues(answer, 1);
      // Ethernet3 and Ethernet2 are the highest on every device; the max across devices is wq-sw2's.
      assert.deepEqual(rows.map((r) => r.label), ['Ethernet3', 'Ethernet2']);
      const ref = reference((k) => k.split(' ')[1], (vs) => Math.max(...vs), answer.from, to, answer.bucketMs);
      for (const r of rows) {
        const steps = [...ref.get(r.label)!.keys()];
        const newest = Math.max(...steps);
        assert.equal(r.at, newest);
        assert.ok(Math.abs(r.value! - ref.get(r.label)!.get(newest)!) < 1e-9, `${r.label}: ${r.value} vs ${ref.get(r.label)!.get(newest)}`);
      }
    });
  });
});
