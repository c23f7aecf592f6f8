import assert from 'node:assert/strict';
import { parseXml } from '../../protocols/netconf/xml';
import { applySubtreeFilter, configData, deviceData, flattenLeaves, toXml, xpathToFilter, UnsupportedFilterError, type DataNode } from '../../simulator/netconf/data';
import { SimDevice } from '../../simulator/model';

const IF = 'urn:ietf:params:xml:ns:yang:ietf-interfaces';
const data = () => deviceData(new SimDevice({ name: 'f', interfaces: 3, now: () => 1000 }), 0);
const filter = (xml: string) => parseXml(`<filter>${xml}</filter>`).children;
const names = (xml: string) => [...xml.matchAll(/<name>([^<]+)<\/name>/g)].map((m) => m[1]);

describe('netconf simulator subtree filter (RFC 6241 §6)', () => {
  it('selection node returns the whole subtree', () => {
    const out = toXml(applySubtreeFilter(data(), filter(`<interfaces-state xmlns="${IF}"/>`)));
    assert.deepEqual(names(out), ['Ethernet1', 'Ethernet2', 'Ethernet3']);
    assert.doesNotMatch(out, /system-health/);
  });

  it('content match picks one list entry and keeps its key; containment narrows the leaves', () => {
    const out = toXml(applySubtreeFilter(data(), filter(`<interfaces-state xmlns="${IF}"><interface><name>Ethernet2</name><oper-status/></interface></interfaces-state>`)));
    assert.deepEqual(names(out), ['Ethernet2']);
    assert.match(out, /<oper-status>up<\/oper-status>/);
    assert.doesNotMatch(out, /statistics/);
  });

  it('a wrong namespace selects nothing', () => {
    assert.deepEqual(applySubtreeFilter(data(), filter(`<interfaces-state xmlns="urn:other"/>`)), []);
  });

  it('XPath subset maps to the same filter; anything else is refused', () => {
    const scope = new Map([['if', IF]]);
    const out = toXml(applySubtreeFilter(data(), xpathToFilter("/if:interfaces-state/if:interface[if:name='Ethernet3']/if:statistics/if:in-octets", scope)));
    assert.deepEqual(names(out), ['Ethernet3']);
    assert.match(out, /<in-octets>/);
    assert.doesNotMatch(out, /out-octets/);
    assert.throws(() => xpathToFilter('//interface', scope), UnsupportedFilterError);
    assert.throws(() => xpathToFilter('/x:a', scope), UnsupportedFilterError);
  });

  it('flattened leaves carry RESTCONF targets for yang-patch', () => {
    const flat = flattenLeaves(data());
    assert.ok(flat.has('/ietf-interfaces:interfaces-state/interface=Ethernet1/statistics/in-octets'));
    assert.ok(flat.has('/sim-system-health:system-health/cpu-utilization'));
    assert.ok(![...flat.keys()].some((k) => k.endsWith('/name')), 'keys live in the target, not as leaves');
  });
});

describe('netconf simulator trees: NMDA /interfaces, running configuration', () => {
  const nmda = () => deviceData(new SimDevice({ name: 'n', interfaces: 2, now: () => 1000 }), 0, { nmda: true });

  it('an NMDA device serves /interfaces with statistics and oper-status beside /interfaces-state', () => {
    const d = nmda();
    assert.deepEqual(
      d.map((n) => n.name),
      ['interfaces', 'interfaces-state', 'system-state', 'system-health'],
    );
    const out = toXml(applySubtreeFilter(d, filter(`<interfaces xmlns="${IF}"><interface><name>Ethernet2</name><oper-status/><statistics><in-octets/></statistics></interface></interfaces>`)));
    assert.match(
      out,
      /^<interfaces xmlns="[^"]+"><interface><name>Ethernet2<\/name><oper-status>(up|down)<\/oper-status><statistics><in-octets>\d+<\/in-octets><\/statistics><\/interface><\/interfaces>$/,
    );
  });

  it('a pre-NMDA device serves /interfaces-state only', () => {
    assert.deepEqual(
      data().map((n) => n.name),
      ['interfaces-state', 'system-state', 'system-health'],
    );
  });

  it('the running configuration has no state and filters like the rest', () => {
    const cfg = configData(new SimDevice({ name: 'cfg', interfaces: 2 }));
    const all = toXml(cfg);
    assert.doesNotMatch(all, /statistics|oper-status/);
    assert.match(all, /<hostname>cfg<\/hostname>/);
    const one = toXml(applySubtreeFilter(cfg, filter(`<interfaces xmlns="${IF}"><interface><name>Ethernet1</name><enabled/></interface></interfaces>`)));
    assert.match(one, /<interface><name>Ethernet1<\/name><enabled>(true|false)<\/enabled><\/interface>/);
    assert.doesNotMatch(one, /Ethernet2|hostname/);
  });
});

describe('netconf simulator: subtree filters on every tree it serves (issue 13)', () => {
  const device = () => new SimDevice({ name: 'every', interfaces: 2, now: () => 1000 });
  const trees: Array<[string, DataNode[]]> = [
    ['operational (NMDA)', deviceData(device(), 0, { nmda: true })],
    ['running configuration', configData(device())],
  ];
  for (const [where, roots] of trees) {
    for (const root of roots) {
      it(`${where}: /${root.name} by a selection node, and one of its children by a containment node`, () => {
        assert.equal(toXml(applySubtreeFilter(roots, filter(`<${root.name} xmlns="${root.ns}"/>`))), toXml([root]), 'the whole tree, nothing else');
        const child = root.children![0];
        const narrowed = applySubtreeFilter(roots, filter(`<${root.name} xmlns="${root.ns}"><${child.name}/></${root.name}>`));
        assert.equal(toXml(narrowed), toXml([{ ...root, children: root.children!.filter((c) => c.name === child.name) }]), `only ${child.name}`);
        assert.deepEqual(applySubtreeFilter(roots, filter(`<${root.name} xmlns="urn:not-this-one"/>`)), [], 'another namespace selects nothing');
      });
    }
  }
});
