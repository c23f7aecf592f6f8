/**
 * Fleet widgets over a mixed fleet (issue 21): a metric (`interfaces: in-octets`,
 * core/path-equivalence.ts) resolves to OpenConfig series of gNMI devices and
 * ietf-interfaces series (NMDA /interfaces and legacy /interfaces-state) of NETCONF
 * devices; a device with two models counts once; the fleet total through the query
 * router and the widget's aggregation includes every device; the seeded Fleet overview
 * uses the metrics and says what it covers.
 */
import assert from 'node:assert/strict';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { pathSuggestions, resolveWidgetSeries, widgetCoverage } from '../../web/app/lib/series.server';
import { WidgetRows, coverageWords, mergeChanges } from '../../web/app/lib/widget-data';
import { querySeries } from '../../query/router';
import { ensureFleetOverview, listWidgets } from '../../storage/dashboards';

const OC = (i: string) => `/interfaces/interface[name=${i}]/state/counters/in-octets`;
const NMDA = (i: string) => `/interfaces/interface[name=${i}]/statistics/in-octets`;
const LEGACY = (i: string) => `/interfaces-state/interface[name=${i}]/statistics/in-octets`;

describe('web: fleet widgets across models', () => {
  let tdb: TestDatabase;
  const T0 = Date.UTC(2026, 10, 28, 9, 0, 0);
  /** Bytes per second each interface carries: 1000 × device number. */
  const devices: Array<{ name: string; protocol: string; paths: string[] }> = [
    { name: 'gnmi-1', protocol: 'gnmi', paths: [OC('Ethernet1'), OC('Ethernet2')] },
    { name: 'gnmi-2', protocol: 'gnmi', paths: [OC('Ethernet1')] },
    { name: 'nc-legacy', protocol: 'netconf', paths: [LEGACY('eth0'), LEGACY('eth1')] },
    { name: 'nc-nmda', protocol: 'netconf', paths: [NMDA('eth0')] },
    // Both trees collected (a profile subscribed to both): counted once, by its NMDA series.
    { name: 'nc-both', protocol: 'netconf', paths: [NMDA('eth0'), LEGACY('eth0')] },
    { name: 'idle', protocol: 'gnmi', paths: [] },
  ];
  const rateOf = new Map<string, number>();

  before(async () => {
    tdb = await createTestDatabase('fleet_metrics');
    for (const [n, d] of devices.entries()) {
      const [dev] = await tdb.db('devices').insert({ name: d.name, protocol: d.protocol, host: `10.1.${n}.1`, port: 1 }).returning('id');
      for (const path of d.paths) {
        const [s] = await tdb.db('series').insert({ device_id: dev.id, path, kind: 'number' }).returning('id');
        const bps = 1000 * (n + 1);
        rateOf.set(`${d.name} ${path}`, bps);
        // 60 s of a counter growing by bps per second, every second (gNMI) or every 5 s (NETCONF).
        const step = d.protocol === 'gnmi' ? 1000 : 5000;
        const t: number[] = [];
        const v: number[] = [];
        for (let ms = 0; ms <= 60_000; ms += step) {
          t.push(T0 + ms);
          v.push(1e12 + (bps * ms) / 1000);
        }
        await tdb.pool.query(`INSERT INTO samples (time, series_id, value) SELECT to_timestamp(t / 1000), $1, v FROM unnest($2::float8[], $3::float8[]) AS u(t, v)`, [s.id, t, v]);
      }
    }
  });
  after(async () => tdb?.drop());

  it('resolves a metric to every model, one model per device, and says what it covers', async () => {
    const { series } = await resolveWidgetSeries(tdb.db, null, 'interfaces: in-octets');
    assert.deepEqual(
      series.map((s) => [s.deviceName, s.model, s.path]),
      [
        ['gnmi-1', 'OpenConfig', OC('Ethernet1')],
        ['gnmi-1', 'OpenConfig', OC('Ethernet2')],
        ['gnmi-2', 'OpenConfig', OC('Ethernet1')],
        ['nc-both', 'ietf-interfaces', NMDA('eth0')],
        ['nc-legacy', 'ietf-interfaces (legacy)', LEGACY('eth0')],
        ['nc-legacy', 'ietf-interfaces (legacy)', LEGACY('eth1')],
        ['nc-nmda', 'ietf-interfaces', NMDA('eth0')],
      ],
    );
    // A one-model path still means that model only.
    const oc = await resolveWidgetSeries(tdb.db, null, '/interfaces/interface[name=*]/state/counters/in-octets');
    assert.deepEqual([...new Set(oc.series.map((s) => s.deviceName))], ['gnmi-1', 'gnmi-2']);
    // One device alone.
    const one = await resolveWidgetSeries(tdb.db, oc.series[0].deviceId, 'interfaces: in-octets');
    assert.equal(one.series.length, 2);
    assert.equal(coverageWords(await widgetCoverage(tdb.db, 'interfaces: in-octets')), 'Covers 5 of 6 devices: 2 OpenConfig, 2 ietf-interfaces, 1 ietf-interfaces (legacy).');
    assert.equal(coverageWords(await widgetCoverage(tdb.db, '/interfaces/interface[name=*]/state/counters/in-octets')), 'Covers 2 of 6 devices.');
    // The path picker offers the metric first; an unknown metric is refused with the known ones.
    assert.deepEqual((await pathSuggestions(tdb.db)).slice(0, 2), ['interfaces: in-octets', '/interfaces-state/interface[name=*]/statistics/in-octets']);
    await assert.rejects(resolveWidgetSeries(tdb.db, null, 'interfaces: speed'), /Unknown metric interfaces: speed; known: interfaces: in-octets/);
  });

  it('totals the fleet over both models through the query router and the widget aggregation', async () => {
    const { series } = await resolveWidgetSeries(tdb.db, null, 'interfaces: in-octets');
    const result = await querySeries(tdb.pool, { seriesIds: series.map((s) => s.id), from: T0, to: T0 + 60_000, widthPx: 60, rate: true });
    assert.equal(result.series.length, series.length);
    const rows = new WidgetRows(series, { aggregate: 'sum', groupBy: 'all', bucketMs: 10_000, maxGapMs: 5000, scale: 8 });
    const changes = mergeChanges(result.series.map((s) => rows.add(s.seriesId, s.points)));
    const totals = changes.insert.filter((r) => r.v !== null).sort((a, b) => a.t - b.t);
    const expected = series.reduce((sum, s) => sum + rateOf.get(`${s.deviceName} ${s.path}`)!, 0) * 8;
    assert.ok(totals.length >= 4, `buckets: ${JSON.stringify(totals)}`);
    // Every bucket after the first (where rates start) carries every device of both models.
    for (const r of totals.slice(1)) assert.ok(Math.abs(r.v! - expected) < expected * 1e-9, `bucket ${r.t - T0}: ${r.v} ≠ ${expected}`);
  });

  it('seeds the Fleet overview with metrics, and moves an earlier seed to them', async () => {
    const id = await ensureFleetOverview(tdb.db);
    const paths = (await listWidgets(tdb.db, id)).filter((w) => w.title.includes('traffic')).map((w) => w.path);
    assert.deepEqual(paths, ['interfaces: in-octets', 'interfaces: out-octets', 'interfaces: in-octets', 'interfaces: in-octets']);
    await tdb.db('widgets').where({ dashboard_id: id, title: 'Inbound traffic, whole fleet' }).update({ path: OC('*') });
    await ensureFleetOverview(tdb.db);
    const after = await tdb.db('widgets').where({ dashboard_id: id, title: 'Inbound traffic, whole fleet' }).first('path');
    assert.equal(after.path, 'interfaces: in-octets');
  });
});
