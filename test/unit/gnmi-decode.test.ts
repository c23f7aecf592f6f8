import assert from 'node:assert/strict';
import { DecodeError, NotificationDecoder } from '../../protocols/gnmi/decode';
import { gnmiProto, readSubscribeResponse, type WireNotification, type WireSubscribeResponse } from '../../protocols/gnmi/proto';
import { buildNotifications } from '../../simulator/gnmi/encode';
import { leafPath } from '../../simulator/gnmi/match';
import { SimDevice } from '../../simulator/model';

type Reader = (bytes: Buffer) => WireSubscribeResponse;
/** proto-loader's plain objects (64-bit integers as text), as tests and the simulator read responses. */
const objectReader: Reader = (b) => gnmiProto().service.Subscribe.responseDeserialize(b) as WireSubscribeResponse;
/** What the collector's client reads (protobufjs messages, 64-bit integers as Long; ADR 101). */
const READERS: Array<[string, Reader]> = [
  ['proto-loader objects', objectReader],
  ['collector reader', readSubscribeResponse],
];

/** Round-trip through the real protobuf codec so inputs look exactly as they arrive off the wire. */
function wire(n: WireNotification, read: Reader = objectReader): WireNotification {
  const { Subscribe } = gnmiProto().service;
  return read(Subscribe.responseSerialize({ update: n })).update!;
}

const TS = '1700000000123456789'; // ns
const TS_MS = 1700000000123.456;
const prefix = { elem: [{ name: 'interfaces' }, { name: 'interface', key: { name: 'Ethernet1' } }, { name: 'state' }] };
const P = '/interfaces/interface[name=Ethernet1]/state';
const leaf = (name: string) => ({ elem: [{ name }] });

type Expected = Array<{ path: string; value: unknown; exact?: string }>;
interface Case {
  name: string;
  n: WireNotification;
  points?: Expected;
  skipped?: Record<string, number>;
  throws?: RegExp;
}

const one = (val: object, name = 'x'): WireNotification => ({ timestamp: TS, prefix, update: [{ path: leaf(name), val: val as never }] });
const json = (o: unknown) => Buffer.from(JSON.stringify(o));

// Protobuf wire encoding of the wrapper messages, written out by hand so the decoder is tested against bytes.
function varint(v: bigint): number[] {
  let u = BigInt.asUintN(64, v);
  const out: number[] = [];
  do {
    const low = Number(u & 0x7fn);
    u >>= 7n;
    out.push(u ? low | 0x80 : low);
  } while (u);
  return out;
}
const fixed64 = (v: number) => {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(v);
  return [...b];
};
const fixed32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeFloatLE(v);
  return [...b];
};
const delimited = (bytes: number[]) => [...varint(BigInt(bytes.length)), ...bytes];
/** TypedValue any_val wrapping google.protobuf.<type> with the given payload bytes. */
const anyOf = (type: string, payload: number[]) => ({ any_val: { type_url: `type.googleapis.com/google.protobuf.${type}`, value: Buffer.from(payload) } });
const TAG_VARINT = 0x08;
const TAG_FIXED64 = 0x09;
const TAG_BYTES = 0x0a;
const TAG_FIXED32 = 0x0d;

const cases: Case[] = [
  // Every TypedValue kind.
  { name: 'string_val', n: one({ string_val: 'UP' }, 'oper-status'), points: [{ path: `${P}/oper-status`, value: 'UP' }] },
  { name: 'ascii_val', n: one({ ascii_val: 'hello' }), points: [{ path: `${P}/x`, value: 'hello' }] },
  { name: 'int_val negative', n: one({ int_val: '-42' }), points: [{ path: `${P}/x`, value: -42 }] },
  { name: 'int_val below -2^53 keeps exact text', n: one({ int_val: '-9223372036854775808' }), points: [{ path: `${P}/x`, value: -9223372036854775808, exact: '-9223372036854775808' }] },
  { name: 'uint_val small', n: one({ uint_val: '12345' }), points: [{ path: `${P}/x`, value: 12345 }] },
  { name: 'uint_val 2^53-1 is exact as a double', n: one({ uint_val: '9007199254740991' }), points: [{ path: `${P}/x`, value: 9007199254740991 }] },
  { name: 'uint_val 2^53 keeps exact text', n: one({ uint_val: '9007199254740992' }), points: [{ path: `${P}/x`, value: 9007199254740992, exact: '9007199254740992' }] },
  { name: 'int_val -(2^53-1) is exact as a double', n: one({ int_val: '-9007199254740991' }), points: [{ path: `${P}/x`, value: -9007199254740991 }] },
  { name: 'int_val -(2^53-2) is exact as a double', n: one({ int_val: '-9007199254740990' }), points: [{ path: `${P}/x`, value: -9007199254740990 }] },
  { name: 'uint_val 2^32 + 5 (high word set)', n: one({ uint_val: '4294967301' }), points: [{ path: `${P}/x`, value: 4294967301 }] },
  { name: 'uint_val 2^53+1 keeps exact text', n: one({ uint_val: '9007199254740993' }), points: [{ path: `${P}/x`, value: 9007199254740992, exact: '9007199254740993' }] },
  { name: 'uint_val max uint64', n: one({ uint_val: '18446744073709551615' }), points: [{ path: `${P}/x`, value: 18446744073709552000, exact: '18446744073709551615' }] },
  { name: 'bool_val false', n: one({ bool_val: false }), points: [{ path: `${P}/x`, value: false }] },
  { name: 'bytes_val as base64', n: one({ bytes_val: Buffer.from([0xde, 0xad, 0xbe, 0xef]) }), points: [{ path: `${P}/x`, value: '3q2+7w==' }] },
  { name: 'double_val', n: one({ double_val: 41.25 }), points: [{ path: `${P}/x`, value: 41.25 }] },
  { name: 'decimal64', n: one({ decimal_val: { digits: '12345', precision: 2 } }), points: [{ path: `${P}/x`, value: 123.45 }] },
  { name: 'decimal64 negative, leading zeros', n: one({ decimal_val: { digits: '-5', precision: 3 } }), points: [{ path: `${P}/x`, value: -0.005 }] },
  { name: 'decimal64 precision 0', n: one({ decimal_val: { digits: '7' } }), points: [{ path: `${P}/x`, value: 7 }] },
  {
    name: 'leaflist as JSON text',
    n: one({ leaflist_val: { element: [{ string_val: 'a' }, { uint_val: '18446744073709551615' }, { bool_val: true }] } }),
    points: [{ path: `${P}/x`, value: '["a","18446744073709551615",true]' }],
  },
  {
    name: 'leaflist with any_val elements: wrappers decoded, a malformed one kept raw, none lost',
    n: one({
      leaflist_val: {
        element: [{ string_val: 'a' }, anyOf('DoubleValue', [TAG_FIXED64, ...fixed64(2.5)]), anyOf('Int64Value', [TAG_VARINT, 0x80]), anyOf('StringValue', [0x0a, 0x02, 0x68, 0x69])],
      },
    }),
    points: [{ path: `${P}/x`, value: '["a",2.5,"{\\"@type\\":\\"type.googleapis.com/google.protobuf.Int64Value\\",\\"value\\":\\"CIA=\\"}","hi"]' }],
  },
  {
    name: 'json_val tree flattened',
    n: one({ json_val: json({ 'in-octets': 10, 'oper-status': 'UP', nested: { up: true } }) }, 'counters'),
    points: [
      { path: `${P}/counters/in-octets`, value: 10 },
      { path: `${P}/counters/oper-status`, value: 'UP' },
      { path: `${P}/counters/nested/up`, value: true },
    ],
  },
  {
    name: 'json_ietf: module prefix stripped, 64-bit ints and decimals from strings, list keys',
    n: {
      timestamp: TS,
      update: [
        {
          path: { elem: [{ name: 'interfaces' }] },
          val: {
            json_ietf_val: json({
              'openconfig-interfaces:interface': [
                { name: 'Ethernet1', state: { counters: { 'in-octets': '18446744073709551615' }, mtu: 9000, load: '0.25' } },
                { name: 'Ethernet2', state: { description: 'uplink' } },
              ],
            }),
          },
        },
      ],
    },
    points: [
      { path: '/interfaces/interface[name=Ethernet1]/state/counters/in-octets', value: 18446744073709552000, exact: '18446744073709551615' },
      { path: '/interfaces/interface[name=Ethernet1]/state/mtu', value: 9000 },
      { path: '/interfaces/interface[name=Ethernet1]/state/load', value: 0.25 },
      { path: '/interfaces/interface[name=Ethernet2]/state/description', value: 'uplink' },
    ],
  },
  {
    name: 'json list at the update path itself takes keys on its last element',
    n: { timestamp: TS, update: [{ path: { elem: [{ name: 'components' }, { name: 'component' }] }, val: { json_val: json([{ name: 'CPU0', state: { temp: 40 } }]) } }] },
    points: [{ path: '/components/component[name=CPU0]/state/temp', value: 40 }],
  },
  {
    name: 'json composite list keys in sorted order',
    n: {
      timestamp: TS,
      update: [{ path: { elem: [{ name: 'protocols' }] }, val: { json_val: json({ protocol: [{ name: 'bgp', identifier: 'BGP', config: { enabled: true } }] }) } }],
    },
    points: [{ path: '/protocols/protocol[identifier=BGP][name=bgp]/config/enabled', value: true }],
  },
  {
    name: 'json big integer literal kept exact',
    n: one({ json_val: Buffer.from('{"in-octets": 18446744073709551615, "mtu": 1500}') }),
    points: [
      { path: `${P}/x/in-octets`, value: 18446744073709552000, exact: '18446744073709551615' },
      { path: `${P}/x/mtu`, value: 1500 },
    ],
  },
  { name: 'json_ietf empty leaf [null] is true', n: one({ json_ietf_val: json({ enabled: [null] }) }), points: [{ path: `${P}/x/enabled`, value: true }] },
  { name: 'json_ietf scalar at a leaf', n: one({ json_ietf_val: json('42') }, 'in-octets'), points: [{ path: `${P}/in-octets`, value: 42 }] },
  // any_val: protobuf wrapper types decoded like the matching plain kind.
  { name: 'any_val DoubleValue', n: one(anyOf('DoubleValue', [TAG_FIXED64, ...fixed64(41.25)])), points: [{ path: `${P}/x`, value: 41.25 }] },
  { name: 'any_val FloatValue printed at float32 precision', n: one(anyOf('FloatValue', [TAG_FIXED32, ...fixed32(0.1)])), points: [{ path: `${P}/x`, value: 0.1 }] },
  { name: 'any_val Int64Value negative', n: one(anyOf('Int64Value', [TAG_VARINT, ...varint(-42n)])), points: [{ path: `${P}/x`, value: -42 }] },
  {
    name: 'any_val Int64Value min keeps exact text',
    n: one(anyOf('Int64Value', [TAG_VARINT, ...varint(-9223372036854775808n)])),
    points: [{ path: `${P}/x`, value: -9223372036854775808, exact: '-9223372036854775808' }],
  },
  {
    name: 'any_val UInt64Value max keeps exact text',
    n: one(anyOf('UInt64Value', [TAG_VARINT, ...varint(18446744073709551615n)])),
    points: [{ path: `${P}/x`, value: 18446744073709552000, exact: '18446744073709551615' }],
  },
  { name: 'any_val Int32Value negative (sign-extended varint)', n: one(anyOf('Int32Value', [TAG_VARINT, ...varint(-7n)])), points: [{ path: `${P}/x`, value: -7 }] },
  { name: 'any_val UInt32Value max', n: one(anyOf('UInt32Value', [TAG_VARINT, ...varint(4294967295n)])), points: [{ path: `${P}/x`, value: 4294967295 }] },
  { name: 'any_val BoolValue', n: one(anyOf('BoolValue', [TAG_VARINT, 1])), points: [{ path: `${P}/x`, value: true }] },
  {
    name: 'any_val StringValue (UTF-8)',
    n: one(anyOf('StringValue', [TAG_BYTES, ...delimited([...Buffer.from('EOS-4.31.2F µ')])]), 'software-version'),
    points: [{ path: `${P}/software-version`, value: 'EOS-4.31.2F µ' }],
  },
  { name: 'any_val BytesValue as base64', n: one(anyOf('BytesValue', [TAG_BYTES, ...delimited([0xde, 0xad, 0xbe, 0xef])])), points: [{ path: `${P}/x`, value: '3q2+7w==' }] },
  { name: 'any_val wrapper with empty payload is the proto3 default', n: one(anyOf('Int64Value', [])), points: [{ path: `${P}/x`, value: 0 }] },
  {
    name: 'any_val wrapper: unknown fields skipped, the last field 1 wins',
    n: one(anyOf('StringValue', [0x10, 5, TAG_BYTES, ...delimited([0x61]), 0x1a, ...delimited([1, 2]), TAG_BYTES, ...delimited([0x62]), 0x25, 0, 0, 0, 0])),
    points: [{ path: `${P}/x`, value: 'b' }],
  },
  {
    name: 'any_val of another type kept as {"@type", base64 value} JSON text',
    n: one({ any_val: { type_url: 'type.googleapis.com/acme.sensors.v1.Reading', value: Buffer.from([0x08, 0x96, 0x01]) } }),
    points: [{ path: `${P}/x`, value: '{"@type":"type.googleapis.com/acme.sensors.v1.Reading","value":"CJYB"}' }],
  },
  { name: 'any_val without type_url or bytes kept as JSON text', n: one({ any_val: {} }), points: [{ path: `${P}/x`, value: '{"@type":"","value":""}' }] },
  // A malformed wrapper payload costs that value (counted as skipped kind any), not its siblings.
  ...(
    [
      ['truncated fixed64', anyOf('DoubleValue', [TAG_FIXED64, 0, 0, 0])],
      ['truncated varint', anyOf('Int64Value', [TAG_VARINT, 0xff])],
      ['varint longer than 10 bytes', anyOf('UInt64Value', [TAG_VARINT, ...Array(10).fill(0xff), 0x01])],
      ['length past the end', anyOf('StringValue', [TAG_BYTES, 5, 0x61])],
      ['field 1 with the wrong wire type', anyOf('StringValue', [TAG_VARINT, 1])],
      ['invalid UTF-8 in StringValue', anyOf('StringValue', [TAG_BYTES, ...delimited([0xc3, 0x28])])],
      ['unknown field with the group wire type', anyOf('BoolValue', [0x13, 0x14])],
    ] as const
  ).map(([what, bad]): Case => ({
    name: `any_val malformed (${what}): counted, sibling updates still decoded`,
    n: {
      timestamp: TS,
      prefix,
      update: [
        { path: leaf('before'), val: { string_val: 'UP' } },
        { path: leaf('bad'), val: bad as never },
        { path: leaf('after'), val: anyOf('DoubleValue', [TAG_FIXED64, ...fixed64(1.5)]) as never },
      ],
    },
    points: [
      { path: `${P}/before`, value: 'UP' },
      { path: `${P}/after`, value: 1.5 },
    ],
    skipped: { any: 1 },
  })),
  { name: 'proto_bytes counted and skipped', n: one({ proto_bytes: Buffer.from([8, 1]) }), points: [], skipped: { proto_bytes: 1 } },
  { name: 'empty TypedValue (unknown kind) counted and skipped', n: one({}), points: [], skipped: { unknown: 1 } },
  {
    name: 'deprecated Update.value with JSON encoding',
    n: { timestamp: TS, prefix, update: [{ path: leaf('mtu'), value: { value: Buffer.from('1500'), type: 'JSON' } }] },
    points: [{ path: `${P}/mtu`, value: 1500 }],
  },
  // Path forms.
  {
    name: 'origin in the prefix kept, target dropped',
    n: { timestamp: TS, prefix: { origin: 'eos_native', target: 'leaf1', elem: [{ name: 'Kernel' }] }, update: [{ path: leaf('cpu'), val: { uint_val: '3' } }] },
    points: [{ path: 'eos_native:/Kernel/cpu', value: 3 }],
  },
  {
    name: 'openconfig origin is the default and not printed',
    n: { timestamp: TS, prefix: { origin: 'openconfig', elem: [{ name: 'system' }] }, update: [{ path: leaf('up'), val: { bool_val: true } }] },
    points: [{ path: '/system/up', value: true }],
  },
  {
    name: 'origin on the update path when the prefix has none',
    n: { timestamp: TS, update: [{ path: { origin: 'cli', elem: [{ name: 'show' }] }, val: { string_val: 'x' } }] },
    points: [{ path: 'cli:/show', value: 'x' }],
  },
  {
    name: 'key values with ], = and \\ escaped; keys sorted',
    n: { timestamp: TS, update: [{ path: { elem: [{ name: 'a' }, { name: 'b', key: { z: 'x]y', k: 'p=q\\r' } }, { name: 'c' }] }, val: { int_val: '1' } }] },
    points: [{ path: '/a/b[k=p\\=q\\\\r][z=x\\]y]/c', value: 1 }],
  },
  {
    name: 'slash in a key value stays literal',
    n: { timestamp: TS, update: [{ path: { elem: [{ name: 'interfaces' }, { name: 'interface', key: { name: 'Ethernet1/1' } }] }, val: { int_val: '1' } }] },
    points: [{ path: '/interfaces/interface[name=Ethernet1/1]', value: 1 }],
  },
  {
    name: 'deprecated element path form',
    n: { timestamp: TS, update: [{ path: { element: ['interfaces', 'interface[name=Ethernet3]', 'mtu'] }, val: { uint_val: '9000' } }] },
    points: [{ path: '/interfaces/interface[name=Ethernet3]/mtu', value: 9000 }],
  },
  {
    name: 'deletes recorded as null',
    n: { timestamp: TS, prefix, delete: [leaf('description'), { elem: [] }] },
    points: [
      { path: `${P}/description`, value: null },
      { path: P, value: null },
    ],
  },
  // Malformed content ends the attempt.
  { name: 'malformed json', n: one({ json_val: Buffer.from('{"a": ') }), throws: /MALFORMED_JSON/ },
  { name: 'path element without a name', n: { timestamp: TS, update: [{ path: { elem: [{ name: '' }] }, val: { int_val: '1' } }] }, throws: /MALFORMED_PATH/ },
  { name: 'decimal64 precision out of range', n: one({ decimal_val: { digits: '1', precision: 40 } }), throws: /decimal_val/ },
  // Regressions.
  { name: 'regression: float32 0.1 is 0.1, not 0.10000000149011612', n: one({ float_val: 0.1 }), points: [{ path: `${P}/x`, value: 0.1 }] },
  { name: 'regression: float32 needing 9 digits keeps them', n: one({ float_val: 16777217 / 3 }), points: [{ path: `${P}/x`, value: Math.fround(16777217 / 3) }] },
  {
    name: 'regression: long fraction digits in JSON are not taken for a big integer',
    n: one({ json_val: Buffer.from('{"v": 1.12345678901234567, "e": 1e-12345678901234567}') }),
    points: [
      { path: `${P}/x/v`, value: 1.1234567890123457 },
      { path: `${P}/x/e`, value: 0 },
    ],
  },
  {
    name: 'regression: digits inside JSON strings untouched',
    n: one({ json_val: json({ serial: '12345678901234567890', q: 'say "99999999999999999"' }) }),
    points: [
      { path: `${P}/x/serial`, value: '12345678901234567890' },
      { path: `${P}/x/q`, value: 'say "99999999999999999"' },
    ],
  },
  {
    name: 'regression: in plain JSON a numeric-looking string stays a string',
    n: one({ json_val: json({ description: '2024' }) }),
    points: [{ path: `${P}/x/description`, value: '2024' }],
  },
];

describe('gNMI notification decoder (table-driven)', () => {
  for (const [reader, read] of READERS) for (const c of cases) {
    it(`${c.name} (${reader})`, () => {
      const decoder = new NotificationDecoder(7, () => 1);
      const n = wire(c.n, read);
      if (c.throws) {
        assert.throws(() => decoder.decode(n), (err: Error) => err instanceof DecodeError && c.throws!.test(err.message));
        return;
      }
      const out = decoder.decode(n);
      const got = out.points.map((p) => {
        const o: { path: string; value: unknown; exact?: string } = { path: p.path, value: p.value };
        if (p.exact !== undefined) o.exact = p.exact;
        return o;
      });
      assert.deepEqual(got, c.points);
      for (const p of out.points) {
        assert.equal(p.deviceId, 7);
        assert.equal(p.timestamp, TS_MS);
      }
      assert.deepEqual(out.skipped, c.skipped ?? {});
    });
  }

  it('reads timestamps the same from Long and from text (microseconds truncated, negative and beyond 2^53 ns)', () => {
    const stamps = ['1', '999', '1000', '1700000000123456789', '1700000000123456999', '4294967295999', '4294967296000', '9223372036854775807', '-1500', '-1700000000123456789'];
    for (const ts of stamps) {
      const n = { timestamp: ts, prefix, update: [{ path: leaf('x'), val: { int_val: '1' } }] };
      const [fromText, fromLong] = READERS.map(([, read]) => new NotificationDecoder(1).decode(wire(n, read)).points[0].timestamp);
      assert.equal(fromLong, fromText, ts);
      assert.equal(fromText, Number(BigInt(ts) / 1000n) / 1000, ts);
    }
  });

  it('resolves a target-defined alias in later prefixes', () => {
    const decoder = new NotificationDecoder(1);
    const def = decoder.decode(wire({ timestamp: TS, alias: '#e1', prefix }));
    assert.equal(def.aliasDefined, '#e1');
    assert.deepEqual(def.points, []);
    const out = decoder.decode(wire({ timestamp: TS, prefix: { elem: [{ name: '#e1' }] }, update: [{ path: leaf('mtu'), val: { uint_val: '1500' } }] }));
    assert.equal(out.points[0].path, `${P}/mtu`);
  });

  it('stamps a notification without timestamp with the receive time', () => {
    const out = new NotificationDecoder(1, () => 1234.5).decode(wire({ prefix, update: [{ path: leaf('x'), val: { int_val: '1' } }] }));
    assert.equal(out.points[0].timestamp, 1234.5);
  });

  it('the simulator sends component temperatures as any_val in PROTO, and they decode to the same numbers', () => {
    const device = new SimDevice({ name: 'leaf1', interfaces: 1, now: () => 0 });
    device.temperatureC = 47.2;
    const leaves = device.leaves().map((l) => ({ path: leafPath(l.path), value: l.value }));
    const decoder = new NotificationDecoder(1);
    const sent: string[] = [];
    const points = buildNotifications(leaves, { encoding: 'PROTO', timestamp: TS }).flatMap((n) => {
      const w = wire(n);
      for (const u of w.update ?? []) if (u.val?.value === 'any_val') sent.push(u.val.any_val?.type_url ?? '');
      const out = decoder.decode(w);
      assert.deepEqual(out.skipped, {});
      return out.points;
    });
    assert.deepEqual(sent, ['type.googleapis.com/google.protobuf.DoubleValue']);
    assert.deepEqual(
      points.filter((p) => p.path.includes('temperature')).map((p) => [p.path, p.value]),
      [['/components/component[name=Chassis]/state/temperature/instant', 47.2]],
    );
    assert.equal(points.length, leaves.length, 'every leaf arrives once');
    for (const encoding of ['JSON', 'JSON_IETF'] as const) {
      const json = buildNotifications(leaves, { encoding, timestamp: TS }).flatMap((n) => n.update ?? []);
      assert.ok(json.every((u) => u.val?.any_val === undefined), `no any_val in ${encoding}`);
    }
  });

  it('marks atomic notifications', () => {
    const out = new NotificationDecoder(1).decode(wire({ timestamp: TS, atomic: true, prefix, update: [{ path: leaf('x'), val: { int_val: '1' } }] }));
    assert.equal(out.atomic, true);
  });

  it('decodeSliced returns a notification decoded within one slice at once, and a longer one as a promise of the same points', async () => {
    const small = wire({ timestamp: TS, prefix, update: [{ path: leaf('a'), val: { int_val: '1' } }, { path: leaf('b'), val: { int_val: '2' } }] }, readSubscribeResponse);
    const now = new NotificationDecoder(1).decodeSliced(small);
    assert.ok(!(now instanceof Promise), 'a small notification must not cost a promise');
    assert.deepEqual(now, new NotificationDecoder(1).decode(small));
    // 1,000 leaves and a 0 ms slice: the first slice is over after 64 leaves, the rest comes in later turns.
    const update = Array.from({ length: 1000 }, (_, i) => ({ path: leaf(`l${i}`), val: { int_val: String(i) } }));
    const big = wire({ timestamp: TS, prefix, update }, readSubscribeResponse);
    const later = new NotificationDecoder(1).decodeSliced(big, 0);
    assert.ok(later instanceof Promise, 'a notification longer than its slice continues after yielding');
    const sliced = await later;
    assert.equal(sliced.points.length, 1000);
    assert.deepEqual(sliced, new NotificationDecoder(1).decode(big));
  });

  it('gives each point its own path when a stream sends the same paths again (one stored string per path)', () => {
    const decoder = new NotificationDecoder(7);
    const n = (name: string, v: string) => wire({ timestamp: TS, prefix, update: [{ path: leaf(name), val: { uint_val: v } }] }, readSubscribeResponse);
    const seen = ['in-octets', 'out-octets', 'in-octets', 'out-octets', 'in-octets'].map((name, i) => decoder.decode(n(name, String(i))).points[0]);
    assert.deepEqual(
      seen.map((p) => [p.path, p.value]),
      [[`${P}/in-octets`, 0], [`${P}/out-octets`, 1], [`${P}/in-octets`, 2], [`${P}/out-octets`, 3], [`${P}/in-octets`, 4]],
    );
  });
});

/** Conventions of targets written elsewhere (issue 13), each as the specification allows it. */
interface ConventionCase {
  name: string;
  n: WireNotification;
  points: Array<{ path: string; value: unknown }>;
  /** The notification had timestamp 0: points carry the receive time (1 here) and it is counted. */
  receiveTime?: boolean;
  duplicates?: number;
}

const RECEIVED_AT = 1;
const conventions: ConventionCase[] = [
  {
    name: 'full path in the prefix, update path empty (typed value)',
    n: { timestamp: TS, prefix: { elem: [...prefix.elem, { name: 'mtu' }] }, update: [{ path: { elem: [] }, val: { uint_val: '1500' } }] },
    points: [{ path: `${P}/mtu`, value: 1500 }],
  },
  {
    name: 'full path in the prefix, update without a path at all',
    n: { timestamp: TS, prefix: { elem: [...prefix.elem, { name: 'oper-status' }] }, update: [{ val: { string_val: 'UP' } }] },
    points: [{ path: `${P}/oper-status`, value: 'UP' }],
  },
  {
    name: 'full path in the prefix, update path empty, JSON_IETF container',
    n: { timestamp: TS, prefix: { elem: [...prefix.elem, { name: 'counters' }] }, update: [{ path: {}, val: { json_ietf_val: json({ 'in-octets': '5', 'out-octets': '7' }) } }] },
    points: [
      { path: `${P}/counters/in-octets`, value: 5 },
      { path: `${P}/counters/out-octets`, value: 7 },
    ],
  },
  {
    name: 'prefix.target is not part of the path',
    n: { timestamp: TS, prefix: { ...prefix, target: 'leaf1' }, update: [{ path: leaf('mtu'), val: { uint_val: '9000' } }] },
    points: [{ path: `${P}/mtu`, value: 9000 }],
  },
  {
    name: 'a prefix carrying only target and origin',
    n: { timestamp: TS, prefix: { target: 'leaf1', origin: 'eos_native' }, update: [{ path: { elem: [{ name: 'Kernel' }, { name: 'hostname' }] }, val: { string_val: 'sw1' } }] },
    points: [{ path: 'eos_native:/Kernel/hostname', value: 'sw1' }],
  },
  {
    name: 'timestamp 0: receive time, counted',
    n: { timestamp: '0', prefix, update: [{ path: leaf('mtu'), val: { uint_val: '1500' } }] },
    points: [{ path: `${P}/mtu`, value: 1500 }],
    receiveTime: true,
  },
  {
    name: 'timestamp 0 on a delete-only notification',
    n: { timestamp: '0', prefix, delete: [leaf('description')] },
    points: [{ path: `${P}/description`, value: null }],
    receiveTime: true,
  },
  {
    name: 'duplicate leaf in one notification: the last value is kept, counted',
    n: { timestamp: TS, prefix, update: [{ path: leaf('mtu'), val: { uint_val: '1500' } }, { path: leaf('name'), val: { string_val: 'Ethernet1' } }, { path: leaf('mtu'), val: { uint_val: '9000' } }] },
    points: [
      { path: `${P}/name`, value: 'Ethernet1' },
      { path: `${P}/mtu`, value: 9000 },
    ],
    duplicates: 1,
  },
  {
    name: 'duplicate leaf through a JSON container and a typed update',
    n: { timestamp: TS, prefix, update: [{ path: leaf('counters'), val: { json_ietf_val: json({ 'in-octets': '5' }) } }, { path: { elem: [{ name: 'counters' }, { name: 'in-octets' }] }, val: { uint_val: '6' } }] },
    points: [{ path: `${P}/counters/in-octets`, value: 6 }],
    duplicates: 1,
  },
  {
    name: 'delete of a whole subtree: one null at the subtree path',
    n: { timestamp: TS, prefix: { elem: [{ name: 'interfaces' }] }, delete: [{ elem: [{ name: 'interface', key: { name: 'Ethernet9' } }] }] },
    points: [{ path: '/interfaces/interface[name=Ethernet9]', value: null }],
  },
  {
    name: 'delete of a subtree in the deprecated element form (the OpenConfig fake target sends these)',
    n: { timestamp: TS, delete: [{ element: ['interfaces', 'interface[name=Ethernet9]'] }] },
    points: [{ path: '/interfaces/interface[name=Ethernet9]', value: null }],
  },
  {
    name: 'delete of a subtree next to updates elsewhere: deletes come first',
    n: { timestamp: TS, prefix: { elem: [{ name: 'interfaces' }] }, delete: [{ elem: [{ name: 'interface', key: { name: 'Ethernet9' } }] }], update: [{ path: { elem: [{ name: 'interface', key: { name: 'Ethernet1' } }, { name: 'state' }, { name: 'mtu' }] }, val: { uint_val: '1500' } }] },
    points: [
      { path: '/interfaces/interface[name=Ethernet9]', value: null },
      { path: `${P}/mtu`, value: 1500 },
    ],
  },
  {
    name: 'a leaf deleted and set again in one notification ends with its value',
    n: { timestamp: TS, prefix, delete: [leaf('description')], update: [{ path: leaf('description'), val: { string_val: 'uplink' } }] },
    points: [{ path: `${P}/description`, value: 'uplink' }],
    duplicates: 1,
  },
];

describe('gNMI decoder: conventions of real targets (table-driven)', () => {
  for (const c of conventions) {
    it(c.name, () => {
      const out = new NotificationDecoder(7, () => RECEIVED_AT).decode(wire(c.n));
      assert.deepEqual(
        out.points.map((p) => ({ path: p.path, value: p.value })),
        c.points,
      );
      const wantTs = c.receiveTime ? RECEIVED_AT : TS_MS;
      assert.ok(out.points.every((p) => p.timestamp === wantTs), `timestamps ${out.points.map((p) => p.timestamp)} want ${wantTs}`);
      assert.equal(out.receiveTime, !!c.receiveTime, 'receive time used and reported');
      assert.equal(out.duplicates, c.duplicates ?? 0, 'superseded values counted');
    });
  }
});

describe('gNMI decoder: a stream decodes its known leaf paths as it did the first time', () => {
  const shape = (p: { path: string; value: unknown; exact?: string }) => ({ path: p.path, value: p.value, exact: p.exact });
  // Shapes the per-prefix leaf lookup must tell apart: stems, keys, origins, escapes, and the slower paths.
  const notifications: WireNotification[] = [
    { timestamp: TS, prefix, update: [{ path: { elem: [{ name: 'counters' }, { name: 'in-octets' }] }, val: { uint_val: '1' } }, { path: leaf('mtu'), val: { uint_val: '2' } }] },
    { timestamp: TS, prefix, update: [{ path: { elem: [{ name: 'counters' }, { name: 'in-octets' }] }, val: { uint_val: '3' } }, { path: { elem: [{ name: 'other' }, { name: 'in-octets' }] }, val: { int_val: '-4' } }] },
    { timestamp: TS, prefix, update: [{ path: { elem: [{ name: 'counters' }, { name: 'in-octets', key: { k: 'v' } }] }, val: { uint_val: '5' } }] },
    { timestamp: TS, prefix, update: [{ path: { elem: [{ name: 'a/b[c' }, { name: 'd\\e' }] }, val: { string_val: 's' } }, { path: { elem: [{ name: 'counters' }] }, val: { uint_val: '6' } }] },
    { timestamp: TS, prefix: { ...prefix, origin: 'openconfig' }, update: [{ path: { elem: [{ name: 'counters' }, { name: 'in-octets' }] }, val: { uint_val: '7' } }] },
    { timestamp: TS, prefix: { ...prefix, origin: 'vendor' }, update: [{ path: { elem: [{ name: 'counters' }, { name: 'in-octets' }] }, val: { uint_val: '8' } }] },
    { timestamp: TS, prefix, update: [{ path: { origin: 'vendor', elem: [{ name: 'counters' }, { name: 'in-octets' }] }, val: { uint_val: '9' } }] },
    { timestamp: TS, prefix: { elem: [] }, update: [{ path: { origin: 'vendor', elem: [{ name: 'x' }] }, val: { uint_val: '10' } }, { path: { elem: [{ name: 'x' }] }, val: { uint_val: '11' } }] },
    { timestamp: TS, prefix, update: [{ path: { element: ['counters', 'in-octets'] }, val: { uint_val: '12' } }, { path: { elem: [] }, val: { uint_val: '13' } }] },
    { timestamp: TS, prefix, update: [{ path: leaf('big'), val: { uint_val: '18446744073709551615' } }, { path: leaf('neg'), val: { int_val: '-9007199254740993' } }] },
    { timestamp: TS, prefix, update: [{ path: leaf('mtu'), val: { double_val: 1.5 } }, { path: leaf('mtu'), val: { uint_val: '14' } }, { path: leaf('tree'), val: { json_val: json({ a: 1 }) } }] },
    { timestamp: TS, prefix, delete: [leaf('mtu')], update: [{ path: leaf('mtu'), val: { uint_val: '15' } }, { path: leaf('gone'), val: { proto_bytes: Buffer.from([1]) } }] },
    { timestamp: TS, prefix: { elem: [{ name: 'interfaces' }, { name: 'interface', key: { name: 'Ethernet2' } }, { name: 'state' }] }, update: [{ path: { elem: [{ name: 'counters' }, { name: 'in-octets' }] }, val: { uint_val: '16' } }] },
    { timestamp: TS, prefix: { origin: 'vendor', elem: [{ name: 'system' }] }, update: [{ path: leaf('uptime'), val: { uint_val: '17' } }] },
    { timestamp: TS, prefix: { elem: [{ name: 'system' }] }, update: [{ path: leaf('uptime'), val: { uint_val: '18' } }] },
    { timestamp: TS, prefix: { origin: 'openconfig', elem: [{ name: 'system' }] }, update: [{ path: leaf('uptime'), val: { uint_val: '19' } }] },
  ];
  for (const [reader, read] of READERS) {
    it(`every notification twice through one decoder gives what a new decoder gives (${reader})`, () => {
      const decoder = new NotificationDecoder(7, () => 1);
      for (let round = 0; round < 3; round++) {
        for (const n of notifications) {
          const got = decoder.decode(wire(n, read));
          const want = new NotificationDecoder(7, () => 1).decode(wire(n, read));
          assert.deepEqual(got.points.map(shape), want.points.map(shape), `round ${round}: ${JSON.stringify(n.update?.map((u) => u.path))}`);
          assert.deepEqual(got.skipped, want.skipped);
          assert.equal(got.duplicates, want.duplicates);
        }
      }
    });
  }
});
