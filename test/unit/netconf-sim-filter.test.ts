import assert from 'node:assert/strict';
import { parseXml } from '../../activities/netconf/xml';
import { applySubtreeFilter, deviceData, flattenLeaves, toXml, xpathToFilter, UnsupportedFilterError } from '../../simulator/netconf/data';
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
