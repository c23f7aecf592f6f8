import assert from 'node:assert/strict';
import { formatPath, parsePath, PathSyntaxError, joinPaths } from '../../core/path';

describe('canonical paths', () => {
  const cases: Array<{ name: string; text: string; origin?: string; elems: Array<{ name: string; keys?: Record<string, string> }> }> = [
    { name: 'plain', text: '/system/memory/state/used', elems: [{ name: 'system' }, { name: 'memory' }, { name: 'state' }, { name: 'used' }] },
    {
      name: 'list key',
      text: '/interfaces/interface[name=Ethernet1]/state/counters/in-octets',
      elems: [{ name: 'interfaces' }, { name: 'interface', keys: { name: 'Ethernet1' } }, { name: 'state' }, { name: 'counters' }, { name: 'in-octets' }],
    },
    {
      name: 'slash inside a key value stays literal',
      text: '/interfaces/interface[name=Ethernet1/1]/state',
      elems: [{ name: 'interfaces' }, { name: 'interface', keys: { name: 'Ethernet1/1' } }, { name: 'state' }],
    },
    {
      name: 'composite keys in sorted order',
      text: '/network-instances/network-instance[name=default]/protocols/protocol[identifier=BGP][name=bgp]',
      elems: [
        { name: 'network-instances' },
        { name: 'network-instance', keys: { name: 'default' } },
        { name: 'protocols' },
        { name: 'protocol', keys: { name: 'bgp', identifier: 'BGP' } },
      ],
    },
    { name: 'escaped ] = and \\ in key value', text: '/a/b[k=x\\]y\\=z\\\\w]', elems: [{ name: 'a' }, { name: 'b', keys: { k: 'x]y=z\\w' } }] },
    { name: 'non-default origin kept', text: 'eos_native:/Kernel/proc/cpu', origin: 'eos_native', elems: [{ name: 'Kernel' }, { name: 'proc' }, { name: 'cpu' }] },
    { name: 'root', text: '/', elems: [] },
  ];
  for (const c of cases) {
    it(`formats and parses: ${c.name}`, () => {
      assert.equal(formatPath({ origin: c.origin, elems: c.elems }), c.text);
      const parsed = parsePath(c.text);
      assert.equal(formatPath(parsed), c.text);
      assert.equal(parsed.elems.length, c.elems.length);
    });
  }

  it('drops the default openconfig origin', () => {
    assert.equal(formatPath({ origin: 'openconfig', elems: [{ name: 'a' }] }), '/a');
  });

  it('rejects malformed input with a position', () => {
    for (const bad of ['interfaces', '/a[name', '/a[=x]', '/a//b', '/a[k]']) {
      assert.throws(() => parsePath(bad), PathSyntaxError, bad);
    }
  });

  it('joins a prefix and a path, keeping the prefix origin', () => {
    const joined = joinPaths(parsePath('oc:/interfaces'), parsePath('/interface[name=e1]/state'));
    assert.equal(formatPath(joined), 'oc:/interfaces/interface[name=e1]/state');
  });
});
