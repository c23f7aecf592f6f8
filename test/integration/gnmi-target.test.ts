import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { gnmiProto, type WireSubscribeResponse } from '../../protocols/gnmi/proto';
import { SimDevice } from '../../simulator/model';
import { startGnmiTarget, type GnmiTarget } from '../../simulator/gnmi/target';

/** A plain grpc-js gNMI client, independent of the collector, to check the target against the spec. */
function rawClient(port: number, md: Record<string, string> = {}) {
  const { Client } = gnmiProto();
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as grpc.Client & Record<string, Function>;
  const metadata = new grpc.Metadata();
  for (const [k, v] of Object.entries(md)) metadata.set(k, v);
  return { client, metadata };
}

function unary<T>(c: ReturnType<typeof rawClient>, method: string, req: object): Promise<T> {
  return new Promise((resolve, reject) => c.client[method](req, c.metadata, (err: Error | null, res: T) => (err ? reject(err) : resolve(res))));
}

/** Collect a Subscribe stream's responses until it ends (resolves with the status). */
function collect(c: ReturnType<typeof rawClient>, req: object, until?: (msgs: WireSubscribeResponse[]) => boolean) {
  return new Promise<{ msgs: WireSubscribeResponse[]; code: number }>((resolve) => {
    const msgs: WireSubscribeResponse[] = [];
    const call = c.client.Subscribe(c.metadata) as grpc.ClientDuplexStream<object, WireSubscribeResponse>;
    call.on('data', (m) => {
      msgs.push(m);
      if (until?.(msgs)) call.cancel();
    });
    call.on('status', (s) => resolve({ msgs, code: s.code }));
    call.on('error', () => undefined);
    call.write(req);
  });
}

describe('simulated gNMI target, seen by a plain gNMI client', () => {
  const targets: GnmiTarget[] = [];
  after(() => Promise.all(targets.map((t) => t.close())));

  it('runs many devices in one process, each with its own state and port', async () => {
    const devices = Array.from({ length: 5 }, (_, i) => new SimDevice({ name: `leaf${i}`, interfaces: 2 }));
    const started = await Promise.all(devices.map((device) => startGnmiTarget({ device, port: 0 })));
    targets.push(...started);
    assert.equal(new Set(started.map((t) => t.port)).size, 5);
    const values = await Promise.all(
      started.map(async (t) => {
        const res = await unary<{ notification: Array<{ update: Array<{ val: { uint_val: string } }> }> }>(rawClient(t.port), 'Get', {
          path: [{ elem: [{ name: 'interfaces' }, { name: 'interface', key: { name: 'Ethernet1' } }, { name: 'state' }, { name: 'counters' }, { name: 'in-octets' }] }],
          encoding: 'PROTO',
        });
        return res.notification[0].update[0].val.uint_val;
      }),
    );
    assert.equal(new Set(values).size, 5, 'seeded per device: different counters');
  });

  it('Capabilities lists models, encodings and gNMI 0.10.0', async () => {
    const t = await startGnmiTarget({ device: new SimDevice({ name: 'caps' }), port: 0 });
    targets.push(t);
    const caps = await unary<{ supported_models: Array<{ name: string }>; supported_encodings: string[]; gNMI_version: string }>(rawClient(t.port), 'Capabilities', {});
    assert.equal(caps.gNMI_version, '0.10.0');
    assert.deepEqual([...caps.supported_encodings].sort(), ['JSON', 'JSON_IETF', 'PROTO']);
    assert.ok(caps.supported_models.some((m) => m.name === 'openconfig-interfaces'));
  });

  it('ONCE: initial updates, then sync_response, then the stream ends with OK', async () => {
    const t = await startGnmiTarget({ device: new SimDevice({ name: 'once', interfaces: 2 }), port: 0 });
    targets.push(t);
    const { msgs, code } = await collect(rawClient(t.port), {
      subscribe: { mode: 'ONCE', encoding: 'PROTO', subscription: [{ path: { elem: [{ name: 'interfaces' }] } }] },
    });
    assert.equal(code, grpc.status.OK);
    assert.equal(msgs.at(-1)?.response, 'sync_response');
    assert.ok(msgs.slice(0, -1).every((m) => m.response === 'update'));
    const updates = msgs.flatMap((m) => m.update?.update ?? []);
    assert.equal(updates.length, 2 * 9);
    assert.ok(msgs.every((m) => m.response !== 'update' || /^\d{19}$/.test(String(m.update!.timestamp))), 'ns timestamps');
  });

  it('rejects a Poll on a STREAM subscription with INVALID_ARGUMENT', async () => {
    const t = await startGnmiTarget({ device: new SimDevice({ name: 'poll' }), port: 0 });
    targets.push(t);
    const c = rawClient(t.port);
    const result = await new Promise<number>((resolve) => {
      const call = c.client.Subscribe(c.metadata) as grpc.ClientDuplexStream<object, WireSubscribeResponse>;
      call.on('data', (m) => {
        if (m.response === 'sync_response') call.write({ poll: {} });
      });
      call.on('status', (s) => resolve(s.code));
      call.on('error', () => undefined);
      call.write({ subscribe: { mode: 'STREAM', subscription: [{ path: { elem: [{ name: 'system' }] }, mode: 'SAMPLE', sample_interval: '1000000000' }] } });
    });
    assert.equal(result, grpc.status.INVALID_ARGUMENT);
  });

  it('Get answers NOT_FOUND for a path outside the schema and UNAUTHENTICATED without credentials', async () => {
    const t = await startGnmiTarget({ device: new SimDevice({ name: 'get' }), port: 0, auth: { username: 'u', password: 'p' } });
    targets.push(t);
    const bad = { path: [{ elem: [{ name: 'nope' }] }] };
    await assert.rejects(unary(rawClient(t.port, { username: 'u', password: 'p' }), 'Get', bad), (e: grpc.ServiceError) => e.code === grpc.status.NOT_FOUND);
    await assert.rejects(unary(rawClient(t.port), 'Get', {}), (e: grpc.ServiceError) => e.code === grpc.status.UNAUTHENTICATED);
    const ok = await unary<{ notification: unknown[] }>(rawClient(t.port, { username: 'u', password: 'p' }), 'Get', { path: [{ elem: [{ name: 'system' }] }], encoding: 'JSON_IETF' });
    assert.equal(ok.notification.length, 1);
  });
});
