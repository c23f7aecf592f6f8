/**
 * The simulator's cheap generator over a real Subscribe stream (plain grpc-js client): the
 * STREAM SAMPLE notifications it patches carry the device's current counters, advancing
 * timestamps, the prefix and paths the realistic generator uses, and the slowDown factor
 * sets their rate (how the capacity benchmark steps its load).
 */
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { gnmiProto, type WireSubscribeResponse } from '../../protocols/gnmi/proto';
import { SimDevice } from '../../simulator/model';
import { startGnmiTarget, type GnmiTarget } from '../../simulator/gnmi/target';
import { NotificationTemplates } from '../../simulator/gnmi/templates';

function stream(port: number, intervalMs: number, count: number): Promise<Array<{ at: number; msg: WireSubscribeResponse }>> {
  const { Client } = gnmiProto();
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as grpc.Client & Record<string, Function>;
  return new Promise((resolve, reject) => {
    const got: Array<{ at: number; msg: WireSubscribeResponse }> = [];
    const call = client.Subscribe(new grpc.Metadata()) as grpc.ClientDuplexStream<object, WireSubscribeResponse>;
    call.on('data', (msg: WireSubscribeResponse) => {
      if (!msg.update) return; // sync_response
      got.push({ at: performance.now(), msg });
      if (got.length === count) {
        call.cancel();
        client.close();
        resolve(got);
      }
    });
    call.on('error', (err: grpc.ServiceError) => (err.code === grpc.status.CANCELLED ? undefined : reject(err)));
    call.write({
      subscribe: {
        mode: 'STREAM',
        encoding: 'PROTO',
        subscription: [{ path: { elem: [{ name: 'interfaces' }, { name: 'interface' }, { name: 'state' }, { name: 'counters' }] }, mode: 'SAMPLE', sample_interval: String(intervalMs * 1_000_000) }],
      },
    });
  });
}

describe('simulator cheap generator over a Subscribe stream', function () {
  this.timeout(30_000);
  let target: GnmiTarget;
  let device: SimDevice;

  // Count renders: the ticks must come from the templates, not the realistic encoder.
  let renders = 0;
  const render = NotificationTemplates.prototype.render;
  before(async () => {
    NotificationTemplates.prototype.render = function (...args: Parameters<typeof render>) {
      renders++;
      return render.apply(this, args);
    };
    device = new SimDevice({ name: 'tpl', interfaces: 2 });
    target = await startGnmiTarget({ device, port: 0, generator: 'templates' });
  });
  after(async () => {
    NotificationTemplates.prototype.render = render;
    await target?.close();
  });

  it('sends the current counters with advancing timestamps, in the realistic layout', async () => {
    // 2 interfaces: the initial full sync (2 notifications), then 2 per tick.
    const before = renders;
    const got = await stream(target.port, 50, 10);
    assert.ok(renders - before >= 4, `ticks rendered from templates (${renders - before})`);
    const ticks = got.slice(2).map((g) => g.msg.update!);
    for (const n of ticks) {
      assert.deepEqual(n.prefix?.elem?.map((e) => e.name), ['interfaces', 'interface', 'state']);
      assert.deepEqual(
        n.update?.map((u) => u.path?.elem?.map((e) => e.name).join('/')),
        ['in-octets', 'out-octets', 'in-unicast-pkts', 'out-unicast-pkts', 'in-errors', 'out-errors', 'in-discards'].map((l) => `counters/${l}`),
      );
      assert.ok(n.update!.every((u) => /^\d+$/.test(String(u.val?.uint_val))), 'uint64 counters');
    }
    const eth1 = ticks.filter((n) => n.prefix?.elem?.[1].key?.name === 'Ethernet1');
    const ts = eth1.map((n) => BigInt(String(n.timestamp)));
    const octets = eth1.map((n) => BigInt(String(n.update![0].val!.uint_val)));
    for (let i = 1; i < eth1.length; i++) {
      assert.ok(ts[i] > ts[i - 1], 'timestamps advance');
      assert.ok(octets[i] > octets[i - 1], 'counters are patched with the current values');
    }
    // The newest value sent is the device's counter at about that time (it only grows).
    assert.ok(octets[octets.length - 1] <= device.interfaces[0].inOctets);
    const nowNs = BigInt(Date.now()) * 1_000_000n;
    assert.ok(nowNs - ts[ts.length - 1] < 5_000_000_000n, 'timestamps are current');
  });

  it('slowDown sets the rate: half the factor, twice the notifications per second', async () => {
    const rate = async (factor: number) => {
      target.faults.slowDown(factor);
      const got = await stream(target.port, 100, 2 + 2 * 11);
      const ticks = got.slice(2);
      return ((ticks.length - 2) / (ticks[ticks.length - 1].at - ticks[0].at)) * 1000; // notifications per second
    };
    const slow = await rate(1);
    const fast = await rate(0.5);
    target.faults.slowDown(1);
    // 2 interfaces every 100 ms = 20/s; every 50 ms = 40/s (loose bounds: a shared machine's timers).
    assert.ok(slow > 12 && slow < 26, `factor 1: ${slow.toFixed(1)} notifications/s`);
    assert.ok(fast / slow > 1.5 && fast / slow < 2.6, `factor 0.5 vs 1: ×${(fast / slow).toFixed(2)}`);
  });
});
