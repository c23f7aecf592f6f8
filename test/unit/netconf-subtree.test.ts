import assert from 'node:assert/strict';
import { listKeyLookup } from '../../protocols/netconf/points';
import { moduleRevision } from '../../protocols/netconf/rpc';
import { resolveFilter } from '../../protocols/netconf/session';
import { countLeaves, parseSubtreeFilterNodes, selectSubtree, withListKeys } from '../../protocols/netconf/subtree';
import { parseXml } from '../../protocols/netconf/xml';
import { NetconfProfileSpec } from '../../core/device';

const IF = 'urn:ietf:params:xml:ns:yang:ietf-interfaces';
const SYS = 'urn:ietf:params:xml:ns:yang:ietf-system';
const keys = listKeyLookup();
const reply = parseXml(
  `<data><interfaces-state xmlns="${IF}">` +
    `<interface><name>eth0</name><oper-status>up</oper-status><statistics><in-octets>1</in-octets><out-octets>2</out-octets></statistics></interface>` +
    `<interface><name>eth1</name><oper-status>down</oper-status><statistics><in-octets>3</in-octets><out-octets>4</out-octets></statistics></interface>` +
    `</interfaces-state><system-state xmlns="${SYS}"><platform><os-name>x</os-name></platform></system-state></data>`,
).children;
const select = (filter: string) => selectSubtree(reply, parseSubtreeFilterNodes(filter), keys);

describe('netconf collector-side subtree selection (a server that ignores filters)', () => {
  // Table: filter → leaves kept (of 9 in the reply: 2 interfaces × 4, and os-name).
  const cases: Array<[string, string, number]> = [
    ['top-level selection node', `<interfaces-state xmlns="${IF}"/>`, 8],
    ['other namespace selects nothing', `<interfaces-state xmlns="urn:other"/>`, 0],
    ['no namespace matches any', `<system-state/>`, 1],
    ['containment below a list keeps the keys', `<interfaces-state xmlns="${IF}"><interface><statistics><in-octets/></statistics></interface></interfaces-state>`, 4],
    ['content match picks one entry', `<interfaces-state xmlns="${IF}"><interface><name>eth1</name></interface></interfaces-state>`, 4],
    ['content match plus selection', `<interfaces-state xmlns="${IF}"><interface><name>eth1</name><oper-status/></interface></interfaces-state>`, 2],
    ['content match on a leaf value', `<interfaces-state xmlns="${IF}"><interface><oper-status>down</oper-status><statistics/></interface></interfaces-state>`, 4],
    ['no entry matches', `<interfaces-state xmlns="${IF}"><interface><name>eth9</name></interface></interfaces-state>`, 0],
  ];
  for (const [what, filter, kept] of cases) {
    it(what, () => assert.equal(countLeaves(select(filter)), kept));
  }

  it('counts what was left out', () => {
    assert.equal(countLeaves(reply), 9);
    assert.equal(countLeaves(reply) - countLeaves(select(`<interfaces-state xmlns="${IF}"/>`)), 1);
  });
});

describe('netconf filters sent: list keys added, ietf-interfaces tree chosen from the hello', () => {
  it('adds the key leaf where a filter selects inside list entries without naming it', () => {
    const out = withListKeys(`<interfaces-state xmlns="${IF}"><interface><statistics/></interface></interfaces-state>`, keys);
    assert.equal(out, `<interfaces-state xmlns="${IF}"><interface><name></name><statistics></statistics></interface></interfaces-state>`);
  });

  it('leaves filters alone that name the key, select whole entries or have no list', () => {
    for (const f of [
      `<interfaces-state xmlns="${IF}"><interface><name>eth0</name><statistics/></interface></interfaces-state>`,
      `<interfaces-state xmlns="${IF}"><interface/></interfaces-state>`,
      `<interfaces-state xmlns="${IF}"/>`,
      `<system-state xmlns="${SYS}"><platform/></system-state>`,
    ]) assert.equal(withListKeys(f, keys), f);
  });

  it('keeps prefixes declared in the filter', () => {
    const out = withListKeys(`<x:interfaces xmlns:x="${IF}" xmlns:t="urn:t"><x:interface><x:type>t:eth</x:type><x:enabled/></x:interface></x:interfaces>`, keys);
    const parsed = parseSubtreeFilterNodes(out);
    assert.equal(parsed[0].ns, IF);
    assert.deepEqual(parsed[0].children[0].children.map((c) => c.name), ['name', 'type', 'enabled']);
    assert.equal(parsed[0].children[0].children[1].scope.get('t'), 'urn:t');
  });

  const spec = (select?: 'interfaces-auto') => NetconfProfileSpec.parse({ filter: '<other xmlns="urn:o"/>', select });
  const cases: Array<[string, string[], string | undefined]> = [
    ['NMDA revision → /interfaces', [`${IF}?module=ietf-interfaces&revision=2018-02-20`], 'interfaces'],
    ['later revision → /interfaces', [`${IF}?revision=2023-01-01&module=ietf-interfaces`], 'interfaces'],
    ['RFC 7223 revision → /interfaces-state', [`${IF}?module=ietf-interfaces&revision=2014-05-08`], 'interfaces-state'],
    ['module without revision → /interfaces-state', [`${IF}?module=ietf-interfaces`], 'interfaces-state'],
    ['module not advertised → the written filter', ['urn:ietf:params:netconf:base:1.1'], undefined],
  ];
  for (const [what, caps, root] of cases) {
    it(`interfaces-auto: ${what}`, () => {
      const f = resolveFilter(spec('interfaces-auto'), caps);
      assert.equal(f.filter, root ? `<${root} xmlns="${IF}"/>` : '<other xmlns="urn:o"/>');
    });
  }

  it('as-written ignores the hello', () => {
    assert.equal(resolveFilter(spec(), [`${IF}?module=ietf-interfaces&revision=2018-02-20`]).filter, '<other xmlns="urn:o"/>');
    assert.equal(moduleRevision([`${IF}?module=ietf-interfaces&revision=2014-05-08`], IF), '2014-05-08');
  });
});
