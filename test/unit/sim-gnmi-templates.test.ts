import assert from 'node:assert/strict';
import { gnmiProto } from '../../protocols/gnmi/proto';
import { SimDevice } from '../../simulator/model';
import { buildNotifications, type SelectedLeaf } from '../../simulator/gnmi/encode';
import { leafPath } from '../../simulator/gnmi/match';
import { NotificationTemplates, varint10 } from '../../simulator/gnmi/templates';

const { service } = gnmiProto();
const serialize = service.Subscribe.responseSerialize as (msg: object) => Buffer;
const deserialize = service.Subscribe.responseDeserialize as (b: Buffer) => unknown;

function counters(device: SimDevice): SelectedLeaf[] {
  return device
    .leaves()
    .filter((l) => l.path.includes('/counters/'))
    .map((l) => ({ path: leafPath(l.path), value: l.value }));
}

describe('simulator cheap generator (pre-encoded gNMI templates)', () => {
  it('patched templates decode to exactly what the realistic encoder sends, tick after tick', () => {
    let now = Date.parse('2026-11-28T09:00:00Z');
    const device = new SimDevice({ name: 't', interfaces: 4, now: () => now });
    const all = device.leaves();
    const indices = all.map((l, i) => (l.path.includes('/counters/') ? i : -1)).filter((i) => i >= 0);
    const templates = NotificationTemplates.build(counters(device), { target: 'tgt' }, serialize);
    assert.ok(templates, 'counters are templatable');
    for (let tick = 0; tick < 3; tick++) {
      now += 60_000; // counters move by billions of octets: multi-byte varints change
      const ts = BigInt(now) * 1_000_000n + 123_456n;
      const values = device.leafValues();
      const realistic = buildNotifications(counters(device), { encoding: 'PROTO', timestamp: ts.toString(), target: 'tgt' }).map((n) => serialize({ update: n }));
      const patched: Buffer[] = templates.render(indices.map((i) => values[i]), ts);
      assert.equal(patched.length, 4, 'one notification per interface');
      assert.deepEqual(patched.map(deserialize), realistic.map(deserialize));
      // The values really changed between ticks (the test would pass on stale templates otherwise).
      if (tick > 0) assert.notDeepEqual(values, all.map((l) => l.value));
    }
  });

  it('leafValues() lists the values of leaves() in the same order', () => {
    const device = new SimDevice({ name: 'v', interfaces: 3, now: () => 5_000 });
    assert.deepEqual(device.leafValues(), device.leaves().map((l) => l.value));
  });

  it('refuses leaf sets that are not all uint64 (the realistic path serves them)', () => {
    const device = new SimDevice({ name: 'x', interfaces: 1, now: () => 1 });
    const leaves = device.leaves().map((l) => ({ path: leafPath(l.path), value: l.value }));
    assert.equal(NotificationTemplates.build(leaves, {}, serialize), undefined);
  });

  it('writes 10-byte varints that protobuf reads back, including values past 2^53 and 2^63 − 1', () => {
    for (const v of [0n, 1n, 127n, 128n, 2n ** 53n + 1n, 2n ** 63n - 1n]) {
      const bytes = varint10(v);
      assert.equal(bytes.length, 10);
      // uint_val of a TypedValue inside a Notification inside a SubscribeResponse
      const tv = Buffer.concat([Buffer.from([0x18]), bytes]);
      const upd = Buffer.concat([Buffer.from([0x1a, tv.length]), tv]);
      const notif = Buffer.concat([Buffer.from([0x22, upd.length]), upd]);
      const resp = Buffer.concat([Buffer.from([0x0a, notif.length]), notif]);
      const msg = deserialize(resp) as { update: { update: Array<{ val: { uint_val: string } }> } };
      assert.equal(msg.update.update[0].val.uint_val, v.toString());
    }
  });
});
