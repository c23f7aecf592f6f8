import assert from 'node:assert/strict';
import { gnmiProtocol } from '../../protocols/gnmi/index';
import { SimDevice } from '../../simulator/model';
import { startGnmiTarget, type GnmiTarget } from '../../simulator/gnmi/target';
import { gnmiProfile, localGnmiDevice, recordingContext } from '../../simulator/gnmi/harness';

const IN_OCTETS = '/interfaces/interface[name=Ethernet1]/state/counters/in-octets';

describe('gNMI collector ↔ simulator: basic STREAM/SAMPLE', () => {
  let target: GnmiTarget;
  beforeEach(async () => {
    target = await startGnmiTarget({ device: new SimDevice({ name: 'leaf1', interfaces: 4 }), port: 0 });
  });
  afterEach(() => target.close());

  it('streams growing counters under their canonical path and stops on abort', async () => {
    const ctx = recordingContext(
      localGnmiDevice(target.port),
      [gnmiProfile({ subscriptions: [{ path: '/interfaces/interface/state/counters', mode: 'sample', sampleIntervalMs: 100, heartbeatIntervalMs: 0, suppressRedundant: false }] })],
    );
    const running = gnmiProtocol.run(ctx);
    const inOctets = () => ctx.points.filter((p) => p.path === IN_OCTETS);
    await ctx.waitFor(() => inOctets().length >= 3, 5000, 'three in-octets samples');

    const [a, b, c] = inOctets();
    assert.equal(typeof a.value, 'number');
    assert.ok((b.value as number) > (a.value as number), 'counter grows between samples');
    assert.ok((c.value as number) > (b.value as number), 'counter keeps growing');
    assert.ok(b.timestamp > a.timestamp && Math.abs(a.timestamp - Date.now()) < 10_000, 'ms timestamps from ns');
    assert.equal(a.deviceId, 1);
    // Only counters were subscribed, on every interface.
    assert.ok(ctx.points.every((p) => p.path.startsWith('/interfaces/interface[name=Ethernet') && p.path.includes('/state/counters/')));
    assert.deepEqual(new Set(ctx.points.map((p) => /name=(\w+)/.exec(p.path)![1])), new Set(['Ethernet1', 'Ethernet2', 'Ethernet3', 'Ethernet4']));

    const types = ctx.events.map((e) => e.type);
    assert.equal(types[0], 'connected');
    assert.ok(types.indexOf('synced') > 0, 'synced after connected');
    const pointsEvent = ctx.events.find((e) => e.type === 'points');
    assert.ok(pointsEvent && pointsEvent.type === 'points' && pointsEvent.count > 0);

    ctx.controller.abort();
    await running; // resolves, does not reject
    await ctx.waitFor(() => target.faults.streams.size === 0, 2000, 'the target to see the cancel');
  });
});
