/** Equivalent leaves across models (core/path-equivalence.ts) and the widget form's metric names. */
import assert from 'node:assert/strict';
import { METRICS, findMetric, isMetricName, metricOfPattern, modelPaths } from '../../core/path-equivalence';
import { compilePathPattern } from '../../query/path-pattern';
import { WidgetForm } from '../../web/app/lib/widget-form';
import { coverageWords, unitScale } from '../../web/app/lib/widget-data';
import { isCounterPath } from '../../web/app/lib/path-pattern';

describe('core: path equivalence', () => {
  it('maps OpenConfig counters to ietf-interfaces statistics in both trees, OpenConfig first', () => {
    assert.deepEqual(modelPaths('interfaces: in-octets'), [
      { model: 'OpenConfig', pattern: '/interfaces/interface[name=*]/state/counters/in-octets' },
      { model: 'ietf-interfaces', pattern: '/interfaces/interface[name=*]/statistics/in-octets' },
      { model: 'ietf-interfaces (legacy)', pattern: '/interfaces-state/interface[name=*]/statistics/in-octets' },
    ]);
    for (const leaf of ['in-octets', 'out-octets', 'in-unicast-pkts', 'out-unicast-pkts', 'in-errors', 'out-errors', 'in-discards', 'out-discards']) {
      assert.equal(findMetric(`interfaces: ${leaf}`)?.kind, 'number', leaf);
    }
    assert.deepEqual(
      modelPaths('interfaces: oper-status').map((m) => m.pattern),
      ['/interfaces/interface[name=*]/state/oper-status', '/interfaces/interface[name=*]/oper-status', '/interfaces-state/interface[name=*]/oper-status'],
    );
    assert.equal(findMetric('interfaces: oper-status')?.kind, 'text');
    // Every model path is a valid pattern, and the models' expressions never match each other's paths.
    for (const m of METRICS.values()) {
      const res = m.paths.map((p) => new RegExp(compilePathPattern(p.pattern).regex));
      const concrete = m.paths.map((p) => p.pattern.replace('*', 'Ethernet1'));
      res.forEach((re, i) => concrete.forEach((path, j) => assert.equal(re.test(path), i === j, `${m.name}: ${m.paths[i].pattern} vs ${path}`)));
    }
  });

  it('tells metric names from path patterns; plain patterns stand for themselves', () => {
    assert.ok(isMetricName('interfaces: in-octets'));
    assert.ok(isMetricName('Interfaces:in-octets'));
    assert.equal(findMetric(' interfaces :  in-octets ')?.name, 'interfaces: in-octets');
    assert.equal(isMetricName('/interfaces/interface/state/counters/in-octets'), false);
    assert.equal(isMetricName('openconfig:/interfaces'), false);
    assert.equal(findMetric('interfaces: speed'), undefined);
    assert.deepEqual(modelPaths('/a/b'), [{ model: '', pattern: '/a/b' }]);
    assert.equal(metricOfPattern('/interfaces-state/interface[name=*]/statistics/out-octets')?.name, 'interfaces: out-octets');
  });

  it('the widget form takes known metrics and names the known ones for an unknown one', () => {
    const base = { title: 't', deviceId: null, aggregate: 'sum', groupBy: 'all', rate: true, chart: 'line', unit: 'bits/s', width: 6 };
    assert.equal(WidgetForm.safeParse({ ...base, path: 'interfaces: in-octets' }).success, true);
    const bad = WidgetForm.safeParse({ ...base, path: 'interfaces: speed' });
    assert.equal(bad.success, false);
    assert.match(bad.error!.issues[0].message, /Unknown metric; known: interfaces: in-octets/);
  });

  it('metrics keep the unit scale and counter handling of their leaf; coverage in words', () => {
    assert.equal(unitScale('bits/s', 'interfaces: in-octets'), 8);
    assert.equal(unitScale('bits/s', 'interfaces: in-unicast-pkts'), 1);
    assert.ok(isCounterPath('interfaces: in-errors'));
    assert.equal(isCounterPath('interfaces: oper-status'), false);
    assert.equal(coverageWords({ devices: 4, byModel: { OpenConfig: 3, 'ietf-interfaces (legacy)': 1 }, fleet: 4 }), 'Covers 4 devices: 3 OpenConfig, 1 ietf-interfaces (legacy).');
    assert.equal(coverageWords({ devices: 1, byModel: { matching: 1 }, fleet: 3 }), 'Covers 1 of 3 devices.');
    assert.equal(coverageWords({ devices: 1, byModel: { matching: 1 }, fleet: 1 }), 'Covers 1 device.');
  });
});
