/** The fleet query model (query/fleet-query.ts): what the schema accepts and how series fall into groups. */
import assert from 'node:assert/strict';
import { FleetQuerySchema, groupKey, type FleetSeries } from '../../query/fleet-query';
import { strideBuckets } from '../../query/fleet-rank';

const s = (path: string, over: Partial<FleetSeries> = {}): FleetSeries => ({ id: 1, deviceId: 7, deviceName: 'sw7', site: 'ams', protocol: 'gnmi', path, ...over });
const IN = '/interfaces/interface[name=Ethernet3]/subinterfaces/subinterface[index=0]/state/counters/in-octets';

describe('fleet query model', () => {
  it('fills defaults and accepts every group-by form', () => {
    const q = FleetQuerySchema.parse({ path: '/a', from: 0, to: 1 });
    assert.deepEqual([q.agg, q.rate, q.widthPx, q.resolution, q.groupBy], ['sum', false, 1000, 'auto', undefined]);
    for (const groupBy of ['device', 'site', 'protocol', 'series', 'interface[name]', 'subinterface[index]']) {
      assert.equal(FleetQuerySchema.parse({ path: '/a', from: 0, to: 1, groupBy }).groupBy, groupBy);
    }
  });

  it('refuses bad input with a message naming the field', () => {
    const bad: Array<[unknown, RegExp]> = [
      [{ path: '/a', from: 2, to: 1 }, /to must be after from/],
      [{ path: '/a', from: 0, to: 1, agg: 'median' }, /agg/],
      [{ path: '/a', from: 0, to: 1, groupBy: 'interface' }, /list key of the path/],
      [{ path: '/a', from: 0, to: 1, groupBy: "x[name]'; --" }, /list key of the path/],
      [{ path: '/a', from: 0, to: 1, groupBy: 'series', top: 3, bottom: 3 }, /not both/],
      [{ path: '/a', from: 0, to: 1, top: 3 }, /give groupBy too/],
      [{ path: '/a', from: 0, to: 1, top: 101, groupBy: 'series' }, /top/],
      [{ path: '/a', from: 0, to: 1, limit: 3 }, /limit/],
    ];
    for (const [input, re] of bad) {
      const r = FleetQuerySchema.safeParse(input);
      assert.ok(!r.success, JSON.stringify(input));
      assert.match(JSON.stringify(r.error.issues), re, JSON.stringify(input));
    }
  });

  it('groups a series by device, site, protocol, itself or the innermost list key of that name', () => {
    assert.equal(groupKey(s(IN), undefined, 'sum'), 'sum');
    assert.equal(groupKey(s(IN), 'device', 'sum'), 'sw7');
    assert.equal(groupKey(s(IN), 'site', 'sum'), 'ams');
    assert.equal(groupKey(s(IN, { site: null }), 'site', 'sum'), '(no site)');
    assert.equal(groupKey(s(IN), 'protocol', 'sum'), 'gnmi');
    assert.equal(groupKey(s(IN), 'series', 'sum'), `sw7 ${IN}`);
    assert.equal(groupKey(s(IN), 'interface[name]', 'sum'), 'Ethernet3');
    assert.equal(groupKey(s(IN), 'subinterface[index]', 'sum'), '0');
    assert.equal(groupKey(s('/system/cpu/state/utilization'), 'interface[name]', 'sum'), undefined);
    assert.equal(groupKey(s('/interfaces/interface[name=a\\]b]/state/x'), 'interface[name]', 'sum'), 'a]b');
  });

  it('the ranking summary names every multiple of its stride within the range, and nothing else (ADR 210)', () => {
    const min = 60_000;
    const at = (m: number) => new Date(Date.UTC(2026, 10, 28, 15, m)).toISOString();
    // 14:55 (the range's start less one stride) to 16:00 every 5 minutes: the buckets whose epoch minute is a multiple of 5.
    const from = Date.UTC(2026, 10, 28, 14, 55);
    const got = strideBuckets(from, from + 65 * min, 5 * min);
    assert.equal(got.length, 14);
    assert.equal(got[0], new Date(from).toISOString());
    assert.equal(got[13], at(60));
    assert.ok(got.every((t) => (Date.parse(t) / min) % 5 === 0));
    // A start between multiples begins at the next one; an end between them stops at the last one before.
    assert.deepEqual(strideBuckets(from + 1, from + 11 * min, 5 * min), [at(0), at(5)]);
    assert.deepEqual(strideBuckets(from + 1, from + 2 * min, 5 * min), []);
  });
});
