/**
 * A warm hand-over subscribes with the Capabilities answer the device gave before (ADR 298), on a
 * real database and a simulated gNMI target, wired as the collector wires it: the answer of a dial
 * that asked is recorded (storage/gnmi-capabilities.ts), the next hand-over loads it with the device
 * and does not ask; a device whose configuration changed since is asked again; the row goes with
 * its device.
 */
import assert from 'node:assert/strict';
import { createLogger } from '../../core/log';
import { MetricsRegistry } from '../../core/metrics';
import type { TelemetryPoint } from '../../core/point';
import { gnmiProtocol } from '../../protocols/gnmi/index';
import { SimDevice } from '../../simulator/model';
import { startGnmiTarget, type GnmiTarget } from '../../simulator/gnmi/target';
import { createDevice, deleteDevice, loadDeviceConfigs, updateDevice } from '../../storage/devices';
import { capabilitiesKey, capabilitiesRecorder, knownCapabilities, recordCapabilities, withKnownCapabilities } from '../../storage/gnmi-capabilities';
import { ensureProfile } from '../../storage/profiles';
import { parseKeyring } from '../../storage/secrets';
import { until } from '../../testkit/until';
import { WarmSessions } from '../../workers/collector-warm-sessions';
import { createTestDatabase, type TestDatabase } from '../support/db';

describe('warm hand-over: subscribes with the Capabilities answered before (ADR 298)', function () {
  this.timeout(60_000);
  const log = createLogger('caps-test', {}, { level: process.env.TEST_VERBOSE ? 'debug' : 'error' });
  const ring = parseKeyring(`1:${Buffer.alloc(32, 3).toString('base64')}`);
  let tdb: TestDatabase;
  let target: GnmiTarget;
  let warm: WarmSessions | undefined;
  let received: TelemetryPoint[];
  let metrics: MetricsRegistry;

  before(async () => {
    tdb = await createTestDatabase('gnmi_caps');
    target = await startGnmiTarget({ device: new SimDevice({ name: 'caps', interfaces: 2 }), port: 0 });
  });
  after(async () => {
    warm?.close();
    await target?.close();
    await tdb?.drop();
  });
  beforeEach(() => {
    target.faults.reset();
    received = [];
    metrics = new MetricsRegistry();
  });
  afterEach(() => {
    warm?.close();
    warm = undefined;
  });

  /** The collector's warm sessions (workers/collector.ts): devices loaded with their recorded answers, new answers recorded. */
  const warmSessions = () =>
    (warm = new WarmSessions({
      db: tdb.db,
      loadDevices: async (ids) => withKnownCapabilities(tdb.db, await loadDeviceConfigs(tdb.db, ring, ids)),
      onCapabilities: capabilitiesRecorder(tdb.db, log),
      getProtocol: async () => gnmiProtocol,
      sink: { push: (points) => void received.push(...points) },
      metrics,
      adoptWithinMs: 60_000,
      log,
    }));
  const pointsOf = (deviceId: number) => received.filter((p) => p.deviceId === deviceId).length;
  const recorded = async (deviceId: number) => (await tdb.db('gnmi_capabilities').where({ device_id: deviceId }).first()) as { config_key: string; gnmi_version: string; encodings: string[] } | undefined;

  async function aDevice(name: string, capabilitiesTimeoutMs = 60_000) {
    const profile = await ensureProfile(tdb.db, 'gnmi', {
      name: `caps-${name}`,
      description: '',
      spec: { subscriptions: [{ path: '/interfaces/interface[name=Ethernet1]/state/counters/in-octets', mode: 'sample', sampleIntervalMs: 50 }] },
    });
    const device = await createDevice(tdb.db, ring, { name, protocol: 'gnmi', host: '127.0.0.1', port: target.port, settings: { gnmi: { tls: 'insecure', capabilitiesTimeoutMs } }, profileIds: [profile] });
    return { ...device, profile };
  }

  it('the first hand-over asks and records the answer; the next one subscribes without asking', async () => {
    const device = await aDevice('first');
    warmSessions().start([device.id]);
    await until('the answer recorded', async () => Boolean(await recorded(device.id)), 15_000, 50);
    const row = (await recorded(device.id))!;
    assert.equal(row.gnmi_version, '0.10.0');
    assert.deepEqual([...row.encodings].sort(), ['JSON', 'JSON_IETF', 'PROTO']);
    const { devices } = await loadDeviceConfigs(tdb.db, ring, [device.id]);
    assert.equal(row.config_key, capabilitiesKey(devices.get(device.id)!.config));
    warm!.close();

    // The device answers Capabilities no more: a dial that asked would wait out its 60 s deadline before it subscribed.
    target.faults.capabilities('silent');
    received = [];
    await warmSessions().start([device.id]);
    await until('points without asking', async () => pointsOf(device.id) >= 2, 15_000, 20);
    assert.equal(metrics.get('session_warm_ended_total', { reason: 'failed' }), 0);
  });

  it('a device whose configuration changed since its answer is asked again', async () => {
    const device = await aDevice('changed', 300);
    warmSessions().start([device.id]);
    await until('the answer recorded', async () => Boolean(await recorded(device.id)), 15_000, 50);
    const before = (await recorded(device.id))!.config_key;
    warm!.close();
    await updateDevice(tdb.db, ring, device.id, { name: 'changed', protocol: 'gnmi', host: '127.0.0.1', port: target.port, settings: { gnmi: { tls: 'insecure', capabilitiesTimeoutMs: 400 } }, profileIds: [device.profile] });
    const { devices } = await withKnownCapabilities(tdb.db, await loadDeviceConfigs(tdb.db, ring, [device.id]));
    assert.equal(devices.get(device.id)!.knownCapabilities, undefined, 'the answer was given to another configuration');
    // Asked again, the silent device makes it wait its deadline (400 ms) and subscribe without an answer: nothing new recorded.
    target.faults.capabilities('silent');
    received = [];
    const began = Date.now();
    await warmSessions().start([device.id]);
    await until('points after the deadline', async () => pointsOf(device.id) >= 1, 15_000, 20);
    assert.ok(Date.now() - began >= 400, `streamed after ${Date.now() - began} ms`);
    assert.equal((await recorded(device.id))!.config_key, before);
  });

  it('answers of one batch: the last per device is kept; a deleted device’s answer is skipped, and its row goes with it', async () => {
    const a = await aDevice('batch-a');
    const b = await aDevice('batch-b');
    const { devices } = await loadDeviceConfigs(tdb.db, ring, [a.id, b.id]);
    const keyOf = (id: number) => capabilitiesKey(devices.get(id)!.config);
    await recordCapabilities(tdb.db, [
      { deviceId: a.id, configKey: keyOf(a.id), answer: { encodings: ['JSON'], gnmiVersion: '0.7.0' }, answeredAt: new Date() },
      { deviceId: a.id, configKey: keyOf(a.id), answer: { encodings: ['PROTO', 'JSON_IETF'], gnmiVersion: '0.10.0' }, answeredAt: new Date() },
      { deviceId: 999_999, configKey: 'gone', answer: { encodings: ['JSON'], gnmiVersion: '' }, answeredAt: new Date() },
      { deviceId: b.id, configKey: keyOf(b.id), answer: { encodings: [], gnmiVersion: '' }, answeredAt: new Date() },
    ]);
    const known = await knownCapabilities(tdb.db, [devices.get(a.id)!.config, devices.get(b.id)!.config]);
    assert.deepEqual(known.get(a.id), { encodings: ['PROTO', 'JSON_IETF'], gnmiVersion: '0.10.0' });
    assert.deepEqual(known.get(b.id), { encodings: [], gnmiVersion: '' });
    assert.equal(await recorded(999_999), undefined);
    await deleteDevice(tdb.db, a.id);
    assert.equal(await recorded(a.id), undefined);
  });
});
