import assert from 'node:assert/strict';
import { gnmiProtocol } from '../../protocols/gnmi/index';
import type { GnmiProfileSpec, GnmiSubscriptionSpec } from '../../core/device';
import type { TelemetryPoint } from '../../core/point';
import { SessionError } from '../../core/session';
import { SimDevice } from '../../simulator/model';
import { startGnmiTarget, type GnmiTarget } from '../../simulator/gnmi/target';
import { gnmiProfile, localGnmiDevice, recordingContext, type RecordingContext } from '../../simulator/gnmi/harness';
import { until } from '../../testkit/until';

const E1 = '/interfaces/interface[name=Ethernet1]/state';
const sub = (path: string, o: Partial<GnmiSubscriptionSpec> = {}): GnmiSubscriptionSpec => ({
  path,
  mode: 'sample',
  sampleIntervalMs: 50,
  heartbeatIntervalMs: 0,
  suppressRedundant: false,
  ...o,
});
const at = (ctx: RecordingContext, path: string) => ctx.points.filter((p) => p.path === path);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('gNMI collector ↔ simulator: modes and encodings', function () {
  this.timeout(15_000);
  let device: SimDevice;
  let target: GnmiTarget;
  const running: Array<{ ctx: RecordingContext; run: Promise<void> }> = [];

  /** Start a session for the given profile specs (one profile each). */
  function session(specs: Array<Partial<GnmiProfileSpec> & Pick<GnmiProfileSpec, 'subscriptions'>>, settings = {}) {
    const ctx = recordingContext(localGnmiDevice(target.port, settings), specs.map((s, i) => gnmiProfile(s, i + 1)));
    const run = gnmiProtocol.run(ctx);
    run.catch(() => undefined);
    running.push({ ctx, run });
    return { ctx, run };
  }

  /** Waits until the target's streams ran `n` more ticks (samples or on-change checks): a window measured in the target's own work, not a sleep. */
  async function ticks(n: number): Promise<void> {
    const goal = target.faults.ticks + n;
    await until(`${n} target ticks`, () => target.faults.ticks >= goal, 5_000, 5);
  }

  beforeEach(async () => {
    device = new SimDevice({ name: 'leaf1', interfaces: 3, flapRatePerSecond: 0 });
    target = await startGnmiTarget({ device, port: 0, timing: { onChangeCheckMs: 20 } });
  });
  afterEach(async () => {
    for (const r of running.splice(0)) {
      r.ctx.controller.abort();
      await r.run.catch(() => undefined);
    }
    await target.close();
  });

  for (const encoding of ['proto', 'json_ietf', 'json'] as const) {
    it(`SAMPLE in ${encoding}: same canonical paths and values, counters numeric and growing`, async () => {
      const { ctx } = session([{ encoding, subscriptions: [sub('/interfaces/interface/state')] }]);
      await ctx.waitFor(() => at(ctx, `${E1}/counters/in-octets`).length >= 2, 5000, 'two samples');
      const [a, b] = at(ctx, `${E1}/counters/in-octets`);
      assert.equal(typeof a.value, 'number');
      assert.ok((b.value as number) > (a.value as number));
      assert.equal(at(ctx, `${E1}/oper-status`)[0]?.value, 'UP');
      assert.equal(at(ctx, '/interfaces/interface[name=Ethernet3]/state/admin-status')[0]?.value, 'UP');
      assert.equal(target.subscriptions.at(-1)?.encoding, encoding.toUpperCase());
    });
  }

  it('PROTO: the temperature sent as any_val (DoubleValue) arrives as a number, nothing skipped', async () => {
    // A device whose clock stands still, so the temperature is exactly what the test set.
    await target.close();
    device = new SimDevice({ name: 'leaf1', interfaces: 1, now: () => 0 });
    device.temperatureC = 47.2;
    target = await startGnmiTarget({ device, port: 0 });
    const temperature = '/components/component[name=Chassis]/state/temperature/instant';
    const { ctx } = session([{ encoding: 'proto', subscriptions: [sub('/components/component/state/temperature/instant'), sub('/interfaces/interface/state/oper-status')] }]);
    await ctx.waitFor(() => at(ctx, temperature).length > 0 && at(ctx, '/interfaces/interface[name=Ethernet1]/state/oper-status').length > 0, 5000, 'temperature and oper-status');
    assert.equal(target.subscriptions.at(-1)?.encoding, 'PROTO');
    assert.equal(at(ctx, temperature)[0].value, 47.2);
    assert.deepEqual([...ctx.counters.keys()].filter((k) => k.startsWith('gnmi_skipped_values_total')), []);
  });

  for (const encoding of ['json_ietf', 'json'] as const) {
    it(`${encoding} subtree with a list is flattened with its list keys`, async () => {
      const { ctx } = session([{ encoding, subscriptions: [sub('/interfaces', { sampleIntervalMs: 1000 })] }]);
      await ctx.waitFor(() => ctx.events.some((e) => e.type === 'synced'), 5000, 'sync');
      const paths = new Set(ctx.points.map((p) => p.path));
      for (const i of [1, 2, 3]) assert.ok(paths.has(`/interfaces/interface[name=Ethernet${i}]/state/counters/in-octets`), `Ethernet${i} in-octets`);
      assert.equal(ctx.points.length, 3 * 9, 'nine leaves per interface, no stray key leaves');
    });
  }

  it('without an override the encoding comes from Capabilities (PROTO first)', async () => {
    const { ctx } = session([{ subscriptions: [sub(`${E1}/counters/in-octets`)] }]);
    await ctx.waitFor(() => ctx.points.length > 0);
    assert.equal(target.subscriptions.at(-1)?.encoding, 'PROTO');
    assert.equal(typeof ctx.points[0].value, 'number');
    assert.ok(!ctx.events.some((e) => e.type === 'warning'));
  });

  it('ON_CHANGE sends the initial state, then only changes', async () => {
    const { ctx } = session([{ subscriptions: [sub('/interfaces/interface/state/oper-status', { mode: 'on_change' })] }]);
    await ctx.waitFor(() => ctx.events.some((e) => e.type === 'synced'));
    assert.equal(ctx.points.length, 3);
    await ticks(5); // five on-change checks that found nothing to send
    assert.equal(ctx.points.length, 3, 'nothing while nothing changes');
    device.interfaces[1].operUp = false;
    await ctx.waitFor(() => ctx.points.length === 4, 2000, 'the change');
    assert.deepEqual([ctx.points[3].path, ctx.points[3].value], ['/interfaces/interface[name=Ethernet2]/state/oper-status', 'DOWN']);
  });

  it('ON_CHANGE with heartbeat_interval resends unchanged values', async () => {
    const { ctx } = session([{ subscriptions: [sub(`${E1}/oper-status`, { mode: 'on_change', heartbeatIntervalMs: 50 })] }]);
    await ctx.waitFor(() => ctx.points.length >= 4, 3000, 'heartbeats');
    assert.ok(ctx.points.every((p) => p.value === 'UP'));
  });

  it('SAMPLE with suppress_redundant sends unchanged leaves only on heartbeat', async () => {
    const { ctx } = session([{ subscriptions: [sub(`${E1}/admin-status`, { suppressRedundant: true, sampleIntervalMs: 20, heartbeatIntervalMs: 300 })] }]);
    await ctx.waitFor(() => ctx.points.length >= 1);
    await ticks(5); // five samples of an unchanged leaf, well before the 300 ms heartbeat
    assert.equal(ctx.points.length, 1, 'redundant samples suppressed');
    await ctx.waitFor(() => ctx.points.length >= 2, 2000, 'a heartbeat');
  });

  it('TARGET_DEFINED samples counters and sends status on change', async () => {
    const { ctx } = session([{ subscriptions: [sub(E1, { mode: 'target_defined', sampleIntervalMs: 30 })] }]);
    await ctx.waitFor(() => at(ctx, `${E1}/counters/in-octets`).length >= 3, 3000, 'samples');
    assert.equal(at(ctx, `${E1}/oper-status`).length, 1);
  });

  it('ONCE: one full update and sync, the stream ends, repeated each pollIntervalMs', async () => {
    const { ctx } = session([{ mode: 'once', pollIntervalMs: 150, subscriptions: [sub(`${E1}/counters`)] }]);
    await ctx.waitFor(() => ctx.events.some((e) => e.type === 'synced'));
    const first = ctx.points.length;
    assert.equal(first, 7);
    await ctx.waitFor(() => target.faults.streams.size === 0, 1000, 'the target to end the stream');
    await ctx.waitFor(() => ctx.points.length === 2 * first, 2000, 'the second ONCE round');
  });

  it('POLL: data on each Poll request', async () => {
    const { ctx } = session([{ mode: 'poll', pollIntervalMs: 100, subscriptions: [sub(`${E1}/counters/in-octets`)] }]);
    await ctx.waitFor(() => ctx.points.length >= 3, 3000, 'three polls');
    const v = ctx.points.map((p) => p.value as number);
    assert.ok(v[2] > v[0]);
    const gaps = ctx.points.slice(1).map((p, i) => p.timestamp - ctx.points[i].timestamp);
    assert.ok(gaps.every((g) => g >= 60), `poll spacing ${gaps}`);
  });

  it('updates_only: no initial state, sync at once, then changes', async () => {
    const { ctx } = session([{ updatesOnly: true, subscriptions: [sub('/interfaces/interface/state/oper-status', { mode: 'on_change' })] }]);
    await ctx.waitFor(() => ctx.events.some((e) => e.type === 'synced'));
    await ticks(5);
    assert.equal(ctx.points.length, 0);
    device.interfaces[0].operUp = false;
    await ctx.waitFor(() => ctx.points.length === 1, 2000, 'the change');
    assert.equal(ctx.points[0].value, 'DOWN');
  });

  it('prefix with origin and target; several subscriptions and profiles on one device', async () => {
    const { ctx } = session([
      {
        prefix: '/interfaces/interface[name=Ethernet2]',
        origin: 'openconfig',
        subscriptions: [sub('/state/counters/in-octets'), sub('/state/oper-status', { mode: 'on_change' })],
      },
      { subscriptions: [sub('/system/memory/state/used')] },
    ], { target: 'leaf1' });
    await ctx.waitFor(() => ctx.events.some((e) => e.type === 'synced'));
    await ctx.waitFor(() => at(ctx, '/system/memory/state/used').length > 0);
    const lists = target.subscriptions.slice(-2);
    const withPrefix = lists.find((l) => l.prefix?.elem?.length);
    assert.deepEqual(withPrefix?.prefix, { origin: 'openconfig', target: 'leaf1', elem: [{ name: 'interfaces' }, { name: 'interface', key: { name: 'Ethernet2' } }] });
    assert.equal(withPrefix?.subscription?.length, 2);
    assert.deepEqual(lists.find((l) => l !== withPrefix)?.prefix, { target: 'leaf1' });
    const paths = new Set(ctx.points.map((p) => p.path));
    assert.deepEqual([...paths].sort(), ['/interfaces/interface[name=Ethernet2]/state/counters/in-octets', '/interfaces/interface[name=Ethernet2]/state/oper-status', '/system/memory/state/used']);
  });

  it('a path outside the schema is a configuration error (NOT_FOUND)', async () => {
    const { ctx, run } = session([{ subscriptions: [sub('/no/such/thing')] }]);
    const err = await run.then(() => null, (e) => e);
    assert.ok(err instanceof SessionError);
    assert.equal(err.code, 'CONFIG_INVALID');
    assert.match(err.message, /NOT_FOUND/);
    assert.equal(ctx.points.length, 0);
  });

  it('an encoding override the device refuses (UNIMPLEMENTED) falls back to the next it lists, with warnings (ADR 014)', async () => {
    const { ctx } = session([{ encoding: 'ascii', subscriptions: [sub(E1)] }]);
    await ctx.waitFor(() => ctx.points.length > 0, 5000, 'points in the fallback encoding');
    assert.ok(ctx.events.some((e) => e.type === 'warning' && /ascii/.test(e.message)), 'the unlisted override is reported');
    assert.ok(ctx.events.some((e) => e.type === 'warning' && /refused encoding ASCII.*trying JSON_IETF/.test(e.message)), 'the refusal is reported');
    assert.deepEqual(ctx.events.find((e) => e.type === 'negotiated'), { type: 'negotiated', encoding: 'JSON_IETF', capabilities: 'answered' });
  });

  it('records deletes, follows aliases, counts and skips unknown kinds without stopping', async () => {
    const { ctx } = session([{ subscriptions: [sub(`${E1}/counters/in-octets`)] }]);
    await ctx.waitFor(() => ctx.events.some((e) => e.type === 'synced'));
    const ts = (BigInt(Date.now()) * 1_000_000n).toString();
    target.broadcast({ timestamp: ts, alias: '#e9', prefix: { elem: [{ name: 'interfaces' }, { name: 'interface', key: { name: 'Ethernet9' } }] } });
    target.broadcast({ timestamp: ts, prefix: { elem: [{ name: '#e9' }] }, delete: [{ elem: [{ name: 'state' }] }] });
    target.broadcast({ timestamp: ts, update: [{ path: { elem: [{ name: 'x' }] }, val: { proto_bytes: Buffer.from([1]) } }] });
    await ctx.waitFor(() => ctx.points.some((p) => p.value === null), 2000, 'the delete');
    const del = ctx.points.find((p) => p.value === null) as TelemetryPoint;
    assert.equal(del.path, '/interfaces/interface[name=Ethernet9]/state');
    await ctx.waitFor(() => ctx.counters.get('gnmi_skipped_values_total{"kind":"proto_bytes"}') === 1, 2000, 'the skip counter');
    const before = ctx.points.length;
    await ctx.waitFor(() => ctx.points.length > before + 1, 2000, 'streaming to continue');
  });

  it('backpressure: the next notification is not delivered while the sink is busy', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    let pushes = 0;
    const ctx = recordingContext(localGnmiDevice(target.port), [gnmiProfile({ subscriptions: [sub('/interfaces/interface/state', { sampleIntervalMs: 10 })] })], async () => {
      inFlight++;
      pushes++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      // The thing under test, not synchronisation: a sink that stays busy while notifications keep coming every 10 ms.
      await sleep(30);
      inFlight--;
    });
    const run = gnmiProtocol.run(ctx);
    await ctx.waitFor(() => pushes >= 10, 5000, 'ten pushes');
    ctx.controller.abort();
    await run;
    assert.equal(maxInFlight, 1);
  });

  it('a profile object shared by sessions streams in each; an invalid one fails every session that has it, before any dial', async () => {
    const shared = gnmiProfile({ subscriptions: [sub('/interfaces/interface/state')] });
    const one = recordingContext(localGnmiDevice(target.port), [shared]);
    const two = recordingContext(localGnmiDevice(target.port), [shared]);
    for (const ctx of [one, two]) running.push({ ctx, run: gnmiProtocol.run(ctx) });
    for (const ctx of [one, two]) await ctx.waitFor(() => at(ctx, `${E1}/counters/in-octets`).length >= 1, 5000, 'a sample in each session');
    // Not through gnmiProfile (it validates): a stored spec that no longer passes the schema.
    const invalid = { id: 9, name: 'no-subscriptions', protocol: 'gnmi' as const, gnmi: { subscriptions: [] } as unknown as GnmiProfileSpec };
    const asked = target.subscriptions.length;
    for (let i = 0; i < 2; i++) {
      const err = await gnmiProtocol.run(recordingContext(localGnmiDevice(target.port), [invalid])).then(() => null, (e) => e);
      assert.ok(err instanceof SessionError, `run ${i + 1} failed with a SessionError`);
      assert.equal(err.code, 'CONFIG_INVALID');
      assert.match(err.message, /profile no-subscriptions: subscriptions/);
    }
    assert.equal(target.subscriptions.length, asked, 'the invalid profile never subscribed');
  });
});
