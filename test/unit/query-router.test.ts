/**
 * The router's pure parts: resolution choice per pixel, path patterns compiled
 * from the grammar (table-driven), gaps as nulls, and counter rates with resets,
 * wraps and gaps.
 */
import assert from 'node:assert/strict';
import { compilePathPattern, matchesPath } from '../../query/path-pattern';
import { chooseResolution, insertGaps } from '../../query/router';
import { counterIncrease, counterRate } from '../../query/rate';

const HOUR = 3_600_000;

describe('query router: resolution per pixel', () => {
  const cases: Array<[string, number, number, string, number]> = [
    ['1 minute on 1000 px', 60_000, 1000, 'raw', 0],
    ['1 hour on 600 px', HOUR, 600, 'raw', 6000],
    ['6 hours on 400 px', 6 * HOUR, 400, 'raw', 54_000],
    ['24 hours on 1000 px', 24 * HOUR, 1000, '1m', 60_000],
    ['7 days on 1000 px', 7 * 24 * HOUR, 1000, '1m', 600_000],
    ['30 days on 500 px', 30 * 24 * HOUR, 500, '1h', HOUR],
    ['1 year on 1000 px', 365 * 24 * HOUR, 1000, '1h', 9 * HOUR],
  ];
  for (const [label, range, width, resolution, bucketMs] of cases) {
    it(label, () => {
      const c = chooseResolution(0, range, width);
      assert.deepEqual(c, { resolution, bucketMs });
      if (bucketMs > 0) {
        const perPixel = range / bucketMs / width;
        assert.ok(perPixel > 0.6 && perPixel <= 1.5, `${perPixel} points per pixel`);
      }
    });
  }
});

describe('query router: path patterns', () => {
  const IN = (n: string) => `/interfaces/interface[name=${n}]/state/counters/in-octets`;
  const table: Array<[string, string, boolean]> = [
    ['/interfaces/interface[name=*]/state/counters/in-octets', IN('Ethernet1'), true],
    ['/interfaces/interface[name=*]/state/counters/in-octets', IN('Ethernet1').replace('in-', 'out-'), false],
    ['/interfaces/interface[name=Ethernet*]/state/counters/in-octets', IN('Ethernet12'), true],
    ['/interfaces/interface[name=Ethernet*]/state/counters/in-octets', IN('Management1'), false],
    ['/interfaces/interface/state/counters/in-octets', IN('Ethernet1'), true], // no keys: any keys
    ['/interfaces/*/state/counters/in-octets', IN('Ethernet1'), true],
    ['/interfaces/.../in-octets', IN('Ethernet1'), true],
    ['/interfaces/.../in-octets', '/interfaces/interface[name=E1]/subinterfaces/subinterface[index=0]/state/counters/in-octets', true],
    ['/interfaces/.../in-octets', '/system/state/in-octets', false],
    ['/interfaces/interface[name=*]/state', IN('Ethernet1'), false], // anchored at both ends
    // Escaped characters in key values stay literal; regex metacharacters in the pattern are literals.
    ['/interfaces/interface[name=Eth\\]x*]/state/counters/in-octets', IN('Eth\\]x1'), true],
    ['/interfaces/interface[name=a.c]/state/counters/in-octets', IN('abc'), false],
    ['/network-instances/network-instance[name=*]/protocols/protocol[identifier=BGP][name=*]/bgp', '/network-instances/network-instance[name=default]/protocols/protocol[identifier=BGP][name=bgp]/bgp', true],
    ['/network-instances/network-instance[name=*]/protocols/protocol[name=*]/bgp', '/network-instances/network-instance[name=default]/protocols/protocol[identifier=BGP][name=bgp]/bgp', true],
    ['/network-instances/network-instance[name=*]/protocols/protocol[identifier=OSPF]/bgp', '/network-instances/network-instance[name=default]/protocols/protocol[identifier=BGP][name=bgp]/bgp', false],
    ['eos_native:/Kernel/*', 'eos_native:/Kernel/proc', true],
    ['eos_native:/Kernel/*', '/Kernel/proc', false],
  ];
  for (const [pattern, path, expected] of table) {
    it(`${pattern} ${expected ? 'matches' : 'does not match'} ${path}`, () => {
      assert.equal(matchesPath(compilePathPattern(pattern), path), expected);
    });
  }
  it('refuses input outside the grammar', () => {
    assert.throws(() => compilePathPattern('interfaces'), /INVALID_PATH/);
    assert.throws(() => compilePathPattern('/a[name=x'), /INVALID_PATH/);
    assert.throws(() => compilePathPattern('/' + 'a/'.repeat(600)), /INVALID_PATH/);
  });
});

describe('query router: gaps as nulls', () => {
  it('breaks the line where points are more than twice the usual spacing apart', () => {
    const pts = [0, 10, 20, 30, 90, 100].map((s) => ({ t: s * 1000, v: 1 }));
    assert.deepEqual(insertGaps(pts, 0), [
      { t: 0, v: 1 },
      { t: 10_000, v: 1 },
      { t: 20_000, v: 1 },
      { t: 30_000, v: 1 },
      { t: 40_000, v: null },
      { t: 90_000, v: 1 },
      { t: 100_000, v: 1 },
    ]);
  });
  it('tolerates one missing step, and breaks at a recorded session gap', () => {
    const pts = [0, 60, 180, 240, 300].map((s) => ({ t: s * 1000, v: 2 }));
    assert.equal(insertGaps(pts, 60_000).filter((p) => p.v === null).length, 0);
    const withGap = insertGaps(pts, 60_000, [{ from: 200_000, to: 230_000 }]);
    assert.deepEqual(withGap.map((p) => p.v), [2, 2, 2, null, 2, 2]);
    assert.equal(withGap[3].t, 200_000);
  });
});

describe('counter rates: resets, wraps and gaps', () => {
  it('continues across a 32-bit wrap', () => {
    const top = 2 ** 32;
    const r = counterRate([
      { t: 0, v: top - 2000 },
      { t: 1000, v: top - 1000 },
      { t: 2000, v: 0 },
      { t: 3000, v: 1000 },
    ]);
    assert.deepEqual(r.map((p) => p.v), [1000, 1000, 1000]);
  });
  it('continues across a 64-bit wrap', () => {
    assert.equal(counterIncrease(2 ** 64 - 2 ** 20, 2 ** 20), 2 ** 21);
  });
  it('treats a drop that is not near a counter width as a reset (null), never a negative rate', () => {
    const r = counterRate([
      { t: 0, v: 3_000_000_000 },
      { t: 1000, v: 3_000_001_000 },
      { t: 2000, v: 500 },
      { t: 3000, v: 1500 },
    ]);
    assert.deepEqual(r.map((p) => p.v), [1000, null, 1000]);
  });
  it('can be told not to recognise wraps', () => {
    const r = counterRate([{ t: 0, v: 2 ** 32 - 10 }, { t: 1000, v: 5 }], { wrap: false });
    assert.deepEqual(r, [{ t: 1000, v: null }]);
  });
  it('breaks at null points and restarts after them', () => {
    const r = counterRate([
      { t: 0, v: 0 },
      { t: 1000, v: 100 },
      { t: 2000, v: null },
      { t: 5000, v: 400 },
      { t: 6000, v: 600 },
    ]);
    assert.deepEqual(r, [
      { t: 1000, v: 100 },
      { t: 2000, v: null },
      { t: 6000, v: 200 },
    ]);
  });
});
