import assert from 'node:assert/strict';
import { listKeyLookup, treeToPoints, leafValue } from '../../protocols/netconf/points';
import { parseXml, XmlSafetyError, decodeEntities } from '../../protocols/netconf/xml';
import { readNotification, readRpcReply, readHello, parseDateTime, xpathNamespaceDecls, filterXml } from '../../protocols/netconf/rpc';
import { readPushEvent, parseYangPatchTarget, establishSubscriptionXml } from '../../protocols/netconf/yang-push';

const IF = 'urn:ietf:params:xml:ns:yang:ietf-interfaces';
const OC = 'http://openconfig.net/yang/interfaces';
const T = 1_700_000_000_000;

type Row = { name: string; xml: string; listKeys?: Record<string, string[]>; expect: Array<[string, unknown, string?]> };

/** XML data (children of <data>) → expected [path, value, exact?] in document order. */
const rows: Row[] = [
  {
    name: 'ietf-interfaces state counters keyed by name',
    xml: `<interfaces-state xmlns="${IF}"><interface><name>eth0</name><oper-status>up</oper-status>
      <statistics><in-octets>123</in-octets><out-octets>456</out-octets></statistics></interface>
      <interface><name>eth1</name><oper-status>down</oper-status></interface></interfaces-state>`,
    expect: [
      ['/interfaces-state/interface[name=eth0]/oper-status', 'up'],
      ['/interfaces-state/interface[name=eth0]/statistics/in-octets', 123],
      ['/interfaces-state/interface[name=eth0]/statistics/out-octets', 456],
      ['/interfaces-state/interface[name=eth1]/oper-status', 'down'],
    ],
  },
  {
    name: 'prefixed namespaces resolve like default ones',
    xml: `<if:interfaces xmlns:if="${IF}"><if:interface><if:name>Ethernet1/1</if:name><if:enabled>true</if:enabled></if:interface></if:interfaces>`,
    expect: [['/interfaces/interface[name=Ethernet1/1]/enabled', 'true']],
  },
  {
    name: 'openconfig interfaces with subinterfaces keyed by index',
    xml: `<interfaces xmlns="${OC}"><interface><name>Ethernet1</name><state><counters><in-octets>7</in-octets></counters></state>
      <subinterfaces><subinterface><index>0</index><state><oper-status>UP</oper-status></state></subinterface></subinterfaces></interface></interfaces>`,
    expect: [
      ['/interfaces/interface[name=Ethernet1]/state/counters/in-octets', 7],
      ['/interfaces/interface[name=Ethernet1]/subinterfaces/subinterface[index=0]/state/oper-status', 'UP'],
    ],
  },
  {
    name: 'openconfig network-instance protocol: composite keys, sorted in the path',
    xml: `<network-instances xmlns="http://openconfig.net/yang/network-instance"><network-instance><name>default</name>
      <protocols><protocol><identifier>BGP</identifier><name>bgp</name><state><enabled>true</enabled></state></protocol></protocols></network-instance></network-instances>`,
    expect: [['/network-instances/network-instance[name=default]/protocols/protocol[identifier=BGP][name=bgp]/state/enabled', 'true']],
  },
  {
    name: 'ietf-system ntp servers and clock',
    xml: `<system-state xmlns="urn:ietf:params:xml:ns:yang:ietf-system"><clock><current-datetime>2026-01-01T00:00:00Z</current-datetime></clock></system-state>
      <system xmlns="urn:ietf:params:xml:ns:yang:ietf-system"><ntp><server><name>pool</name><prefer>false</prefer></server></ntp></system>`,
    expect: [
      ['/system-state/clock/current-datetime', '2026-01-01T00:00:00Z'],
      ['/system/ntp/server[name=pool]/prefer', 'false'],
    ],
  },
  {
    name: 'per-profile list keys (composite) override and extend the table',
    xml: `<routes xmlns="urn:x"><route><prefix>10.0.0.0/8</prefix><vrf>red</vrf><metric>5</metric></route></routes>`,
    listKeys: { route: ['vrf', 'prefix'] },
    expect: [['/routes/route[prefix=10.0.0.0/8][vrf=red]/metric', 5]],
  },
  {
    name: 'key values with ] = and \\ are escaped',
    xml: `<interfaces xmlns="${IF}"><interface><name>a]b=c\\d</name><mtu>1500</mtu></interface></interfaces>`,
    expect: [['/interfaces/interface[name=a\\]b\\=c\\\\d]/mtu', 1500]],
  },
  {
    name: 'counter beyond 2^53 keeps its exact text',
    xml: `<c xmlns="urn:x"><in-octets>18446744073709551615</in-octets><neg>-12</neg><dec>41.5</dec><hex>0x10</hex></c>`,
    expect: [
      ['/c/in-octets', 18446744073709551615, '18446744073709551615'],
      ['/c/neg', -12],
      ['/c/dec', 41.5],
      ['/c/hex', '0x10'],
    ],
  },
  {
    name: 'entities and CDATA in values',
    xml: `<c xmlns="urn:x"><descr>a &lt;b&gt; &amp; &#x263A;</descr><raw><![CDATA[x &lt; y]]></raw></c>`,
    expect: [
      ['/c/descr', 'a <b> & ☺'],
      ['/c/raw', 'x &lt; y'],
    ],
  },
  {
    name: 'unknown repeated list with a name leaf is keyed by name',
    xml: `<fans xmlns="urn:x"><fan><name>f1</name><rpm>1000</rpm></fan><fan><name>f2</name><rpm>1100</rpm></fan></fans>`,
    expect: [
      ['/fans/fan[name=f1]/rpm', 1000],
      ['/fans/fan[name=f2]/rpm', 1100],
    ],
  },
  {
    name: 'regression: empty elements and whitespace-only text are not leaves',
    xml: `<c xmlns="urn:x"><empty/><ws>   </ws><x> 5 </x></c>`,
    expect: [['/c/x', 5]],
  },
  {
    name: 'regression: identityref keeps its prefix text',
    xml: `<interfaces-state xmlns="${IF}"><interface><name>e1</name><type xmlns:ianaift="urn:ietf:params:xml:ns:yang:iana-if-type">ianaift:ethernetCsmacd</type></interface></interfaces-state>`,
    expect: [['/interfaces-state/interface[name=e1]/type', 'ianaift:ethernetCsmacd']],
  },
];

describe('netconf XML → points', () => {
  for (const row of rows) {
    it(row.name, () => {
      const root = parseXml(`<data xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">${row.xml}</data>`);
      const points = treeToPoints(root.children, { deviceId: 3, timestamp: T, keys: listKeyLookup(row.listKeys) });
      assert.deepEqual(
        points.map((p) => (p.exact ? [p.path, p.value, p.exact] : [p.path, p.value])),
        row.expect,
      );
      for (const p of points) {
        assert.equal(p.deviceId, 3);
        assert.equal(p.timestamp, T);
      }
    });
  }

  it('leaf values: numbers for integers and decimals, text otherwise', () => {
    assert.deepEqual(leafValue('42'), { value: 42 });
    assert.deepEqual(leafValue('-0.25'), { value: -0.25 });
    assert.deepEqual(leafValue('up'), { value: 'up' });
    assert.deepEqual(leafValue('1.2.3.4'), { value: '1.2.3.4' });
    assert.deepEqual(leafValue('9007199254740993'), { value: 9007199254740992, exact: '9007199254740993' });
  });
});

describe('netconf XML safety', () => {
  const refused: Array<[string, string, string]> = [
    ['billion laughs', `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><a>&lol2;</a>`, 'DOCTYPE'],
    ['any DOCTYPE, even harmless', `<!DOCTYPE a><a/>`, 'DOCTYPE'],
    ['lower-case doctype', `<!doctype a><a/>`, 'DOCTYPE'],
    ['external entity', `<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>`, 'DOCTYPE'],
    ['undeclared entity', `<a>&nbsp;</a>`, 'ENTITY'],
    ['illegal character reference', `<a>&#0;</a>`, 'ENTITY'],
    ['mismatched tags', `<a><b></a>`, 'MALFORMED'],
    ['two roots', `<a/><b/>`, 'MALFORMED'],
    ['unbound prefix', `<x:a/>`, 'MALFORMED'],
    ['not XML at all', `hello ]]>`, 'MALFORMED'],
  ];
  for (const [name, xml, code] of refused) {
    it(`refuses ${name} (${code})`, () => {
      assert.throws(() => parseXml(xml), (e: unknown) => e instanceof XmlSafetyError && e.code === code);
    });
  }

  it('caps nesting depth without recursion trouble', () => {
    const deep = '<a>'.repeat(100_000) + '</a>'.repeat(100_000);
    assert.throws(() => parseXml(deep), (e: unknown) => e instanceof XmlSafetyError && e.code === 'DEPTH');
    assert.equal(parseXml('<a>'.repeat(10) + '</a>'.repeat(10), { maxDepth: 10 }).name, 'a');
    assert.throws(() => parseXml('<a>'.repeat(11) + '</a>'.repeat(11), { maxDepth: 10 }), /DEPTH/);
  });

  it('decodes only the five built-ins and character references', () => {
    assert.equal(decodeEntities('&lt;&gt;&amp;&quot;&apos;&#65;&#x42;'), `<>&"'AB`);
    assert.equal(decodeEntities('&amp;lt;'), '&lt;', 'one pass only');
    assert.throws(() => decodeEntities('&lol;'), /ENTITY/);
  });
});

describe('netconf messages', () => {
  it('reads a hello with capabilities and session id', () => {
    const h = readHello(parseXml(`<hello xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><capabilities><capability>urn:ietf:params:netconf:base:1.1</capability></capabilities><session-id>4</session-id></hello>`));
    assert.deepEqual(h, { capabilities: ['urn:ietf:params:netconf:base:1.1'], sessionId: 4 });
  });

  it('reads rpc-error fields', () => {
    const r = readRpcReply(
      parseXml(
        `<rpc-reply message-id="7" xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><rpc-error><error-type>protocol</error-type><error-tag>operation-not-supported</error-tag><error-severity>error</error-severity><error-message xml:lang="en">no xpath</error-message></rpc-error></rpc-reply>`,
      ),
    )!;
    assert.equal(r.messageId, '7');
    assert.equal(r.ok, false);
    assert.deepEqual(r.errors[0], { type: 'protocol', tag: 'operation-not-supported', severity: 'error', message: 'no xpath', appTag: undefined, path: undefined });
  });

  it('reads eventTime with sub-millisecond precision', () => {
    assert.equal(parseDateTime('2026-01-02T03:04:05.123456Z'), Date.UTC(2026, 0, 2, 3, 4, 5) + 123.456);
    assert.equal(parseDateTime('2026-01-02T05:04:05+02:00'), Date.UTC(2026, 0, 2, 3, 4, 5));
    assert.equal(parseDateTime('yesterday'), undefined);
  });

  it('declares well-known prefixes used by an XPath filter and escapes it', () => {
    const f = filterXml({ type: 'xpath', filter: "/if:interfaces-state/if:interface[if:name='e\"1']" });
    assert.match(f, /xmlns:if="urn:ietf:params:xml:ns:yang:ietf-interfaces"/);
    assert.match(f, /select="\/if:interfaces-state\/if:interface\[if:name=&apos;e&quot;1&apos;\]"/);
    assert.equal(xpathNamespaceDecls('/a/b'), '');
  });

  it('refuses a subtree filter that would break out of its element', () => {
    assert.throws(() => filterXml({ type: 'subtree', filter: '</filter></get><kill-session/>' }), /not well-formed/);
  });

  it('establish-subscription carries the period in centiseconds and the dampening period', () => {
    const p = establishSubscriptionXml({ type: 'subtree', filter: `<interfaces-state xmlns="${IF}"/>` }, { kind: 'periodic', periodMs: 2500 });
    assert.match(p, /<yp:period>250<\/yp:period>/);
    const root = parseXml(p);
    assert.equal(root.name, 'establish-subscription');
    const c = establishSubscriptionXml({ type: 'subtree', filter: '<a xmlns="urn:x"/>' }, { kind: 'on-change', dampeningMs: 1000 });
    assert.match(c, /<yp:dampening-period>100<\/yp:dampening-period>/);
  });
});

describe('netconf YANG-push notifications → points', () => {
  const keys = listKeyLookup();
  const note = (body: string) => readNotification(parseXml(`<notification xmlns="urn:ietf:params:xml:ns:netconf:notification:1.0"><eventTime>2026-03-01T00:00:00.5Z</eventTime>${body}</notification>`))!;

  it('push-update: datastore contents at eventTime', () => {
    const n = note(`<push-update xmlns="urn:ietf:params:xml:ns:yang:ietf-yang-push"><id>12</id><datastore-contents><interfaces-state xmlns="${IF}"><interface><name>e1</name><statistics><in-octets>5</in-octets></statistics></interface></interfaces-state></datastore-contents></push-update>`);
    const ev = readPushEvent(n.event!, { deviceId: 1, keys, eventTime: n.eventTime, receivedAt: 1 });
    assert.deepEqual(ev, { type: 'update', id: '12', points: [{ deviceId: 1, path: '/interfaces-state/interface[name=e1]/statistics/in-octets', timestamp: Date.UTC(2026, 2, 1) + 500, value: 5 }] });
  });

  it('push-change-update: yang-patch edits rooted at their target, deletes as null', () => {
    const n = note(`<push-change-update xmlns="urn:ietf:params:xml:ns:yang:ietf-yang-push"><id>9</id><datastore-changes><yang-patch><patch-id>p</patch-id>
      <edit><edit-id>1</edit-id><operation>replace</operation><target>/ietf-interfaces:interfaces-state/interface=Ethernet1%2F1/oper-status</target><value><oper-status xmlns="${IF}">down</oper-status></value></edit>
      <edit><edit-id>2</edit-id><operation>merge</operation><target>/ietf-interfaces:interfaces-state/interface=e2</target><value><interface xmlns="${IF}"><name>e2</name><statistics><in-octets>77</in-octets></statistics></interface></value></edit>
      <edit><edit-id>3</edit-id><operation>delete</operation><target>/ietf-interfaces:interfaces-state/interface=e3/oper-status</target></edit>
      </yang-patch></datastore-changes></push-change-update>`);
    const ev = readPushEvent(n.event!, { deviceId: 1, keys, eventTime: n.eventTime, receivedAt: 1 });
    assert.equal(ev.type, 'update');
    assert.deepEqual(
      (ev as { points: Array<{ path: string; value: unknown }> }).points.map((p) => [p.path, p.value]),
      [
        ['/interfaces-state/interface[name=Ethernet1/1]/oper-status', 'down'],
        ['/interfaces-state/interface[name=e2]/statistics/in-octets', 77],
        ['/interfaces-state/interface[name=e3]/oper-status', null],
      ],
    );
  });

  it('subscription-terminated and -suspended are state events with their reason', () => {
    const t = note(`<subscription-terminated xmlns="urn:ietf:params:xml:ns:yang:ietf-subscribed-notifications" xmlns:sn="urn:ietf:params:xml:ns:yang:ietf-subscribed-notifications"><id>3</id><reason>sn:filter-unavailable</reason></subscription-terminated>`);
    assert.deepEqual(readPushEvent(t.event!, { deviceId: 1, keys, receivedAt: 1 }), { type: 'terminated', id: '3', reason: 'sn:filter-unavailable' });
    const s = note(`<subscription-suspended xmlns="urn:ietf:params:xml:ns:yang:ietf-subscribed-notifications"><id>3</id><reason>insufficient-resources</reason></subscription-suspended>`);
    assert.equal(readPushEvent(s.event!, { deviceId: 1, keys, receivedAt: 1 }).type, 'suspended');
  });

  it('yang-patch target with composite keys uses the key table order', () => {
    const k = listKeyLookup({ route: ['vrf', 'prefix'] });
    assert.deepEqual(parseYangPatchTarget('/m:routes/route=red,10.0.0.0%2F8/metric', k), [
      { name: 'routes' },
      { name: 'route', keys: { vrf: 'red', prefix: '10.0.0.0/8' } },
      { name: 'metric' },
    ]);
  });
});
