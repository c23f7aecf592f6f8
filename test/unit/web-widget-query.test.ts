/**
 * Widgets on the fleet query model (issue 17): which widgets the server computes, the
 * query each one asks (old widgets mean what they meant), the editor's form fields for
 * grouping and top/bottom N, list keys suggested from paths, and an answer's chart rows.
 */
import assert from 'node:assert/strict';
import { fleetLastValues, fleetRows, groupLabel, isServerAggregated, listKeysOf, widgetQuery, type WidgetQueryFields } from '../../web/app/lib/widget-query';
import { WidgetForm, widgetFormInput } from '../../web/app/lib/widget-form';

const widget = (w: Partial<WidgetQueryFields>): WidgetQueryFields => ({ device_id: null, path: 'interfaces: in-octets', aggregate: 'none', group_by: 'series', rate: true, top_n: null, top_order: 'top', ...w });

describe('web: widgets on the fleet query model', () => {
  it('one line per series stays in the browser; any aggregation, grouping or top N goes to the server', () => {
    assert.equal(isServerAggregated(widget({})), false);
    assert.equal(isServerAggregated(widget({ aggregate: 'sum', group_by: 'all' })), true);
    assert.equal(isServerAggregated(widget({ group_by: 'device' })), true);
    assert.equal(isServerAggregated(widget({ top_n: 10 })), true);
  });

  it('earlier widgets ask what they drew: sum over all is one line named sum, none by device sums per device', () => {
    assert.deepEqual(widgetQuery(widget({ aggregate: 'sum', group_by: 'all' })), { path: 'interfaces: in-octets', rate: true, agg: 'sum' });
    assert.deepEqual(widgetQuery(widget({ aggregate: 'none', group_by: 'device', device_id: 7, rate: false })), { path: 'interfaces: in-octets', rate: false, agg: 'sum', deviceIds: [7], groupBy: 'device' });
    assert.deepEqual(widgetQuery(widget({ aggregate: 'max', group_by: 'interface[name]', top_n: 10, top_order: 'bottom' })), {
      path: 'interfaces: in-octets',
      rate: true,
      agg: 'max',
      groupBy: 'interface[name]',
      bottom: 10,
    });
  });

  it('the form: a list key as the grouping, top N, and N refused without a grouping', () => {
    const form = new FormData();
    const fields = { title: 't', deviceId: 'all', path: '/interfaces/interface[name=*]/state/counters/in-octets', aggregate: 'sum', groupBy: 'key', groupKey: 'interface[name]', topN: '10', topOrder: 'top', chart: 'table', unit: 'bits/s', width: '6' };
    for (const [k, v] of Object.entries(fields)) form.set(k, v);
    const w = WidgetForm.parse(widgetFormInput(form));
    assert.equal(w.groupBy, 'interface[name]');
    assert.equal(w.topN, 10);
    assert.equal(w.topOrder, 'top');
    form.set('groupKey', 'interface name');
    assert.equal(WidgetForm.safeParse(widgetFormInput(form)).success, false, 'a list key is element[key]');
    form.set('groupBy', 'all');
    const r = WidgetForm.safeParse(widgetFormInput(form));
    assert.equal(r.success, false);
    assert.deepEqual(r.error!.issues.map((i) => i.path.join('.')), ['topN']);
    form.set('topN', '');
    assert.equal(WidgetForm.parse(widgetFormInput(form)).topN, null);
    form.set('aggregate', 'count');
    form.set('groupBy', 'site');
    assert.deepEqual(
      (({ aggregate, groupBy }) => ({ aggregate, groupBy }))(WidgetForm.parse(widgetFormInput(form))),
      { aggregate: 'count', groupBy: 'site' },
    );
  });

  it('a series group is labelled by its device and key values', () => {
    assert.equal(groupLabel('sw-1 /interfaces/interface[name=Ethernet1]/state/counters/in-octets', 'series'), 'sw-1 Ethernet1');
    assert.equal(groupLabel('sw-1 /interfaces/interface[name=Ethernet1]/subinterfaces/subinterface[index=0]/state/in-octets', 'series'), 'sw-1 Ethernet1 0');
    assert.equal(groupLabel('sw-1 /system/state/up', 'series'), 'sw-1 /system/state/up');
    assert.equal(groupLabel('ams', 'site'), 'ams');
  });

  it('list keys of the collected paths, each once', () => {
    assert.deepEqual(listKeysOf(['/interfaces/interface[name=*]/state/counters/in-octets', '/interfaces/interface[name=Ethernet1]/subinterfaces/subinterface[index=0]/state/x', '/components/component[name=*]/state/temperature/instant', '/system/state/up']), [
      'interface[name]',
      'subinterface[index]',
      'component[name]',
    ]);
  });

  it('an answer as chart rows: scaled, a run of empty steps one gap row, incomplete steps left out', () => {
    const answer = {
      groupBy: 'site',
      groups: [
        { key: 'site-a', series: 2, mean: 2, points: [1, null, null, 3, 4, 5].map((v, i) => ({ t: i * 1000, v })) },
        { key: 'site-b', series: 1, mean: 1, points: [1, 1, 1, 1, 1, null].map((v, i) => ({ t: i * 1000, v })) },
      ],
    };
    assert.deepEqual(fleetRows(answer, 8, 5000), [
      { t: 0, v: 8, series: 'site-a' },
      { t: 1000, v: null, series: 'site-a' },
      { t: 3000, v: 24, series: 'site-a' },
      { t: 4000, v: 32, series: 'site-a' },
      ...[0, 1000, 2000, 3000, 4000].map((t) => ({ t, v: 8, series: 'site-b' })),
    ]);
    assert.deepEqual(fleetLastValues(answer, 8, 5000), [
      { label: 'site-a', value: 32, at: 4000, mean: 16 },
      { label: 'site-b', value: 8, at: 4000, mean: 8 },
    ]);
  });
});
