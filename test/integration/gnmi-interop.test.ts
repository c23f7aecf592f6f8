/**
 * gNMI against a target this project did not write: the OpenConfig reference fake
 * target (fake_server v0.14.1, built from the Go module proxy), which has no
 * Capabilities RPC. It runs on loopback with TLS from a CA the test makes and a
 * text-proto configuration of generated values; it is added as a device with
 * CA-verified TLS and a profile, and the real control and collector workers run its
 * session: what it generates is stored with the right kinds and paths, sync is seen,
 * the subtree delete is stored as the collector documents, and the session survives
 * the target being restarted. Then the encoding fallback (ADR 014) against the
 * simulator playing a partial target: Capabilities missing or silent, encodings refused.
 */
import assert from 'node:assert/strict';
import type { Client } from '@temporalio/client';
import { gnmiProtocol } from '../../protocols/gnmi/index';
import { createDevice } from '../../storage/devices';
import { parseKeyring } from '../../storage/secrets';
import { startDeviceSession } from '../../temporal/fleet-client';
import type { DeviceSessionStatus } from '../../core/names';
import { freePort, waitFor } from '../../scripts/infra/proc';
import { ensureProfile } from '../../storage/profiles';
import { gnmiProfile, localGnmiDevice, recordingContext } from '../../simulator/gnmi/harness';
import { startGnmiTarget, type GnmiTarget } from '../../simulator/gnmi/target';
import { SimDevice } from '../../simulator/model';
import { waitForStatus } from '../e2e/session-support';
import { ensureFakeGnmiServer, fakeConfigText, startFakeGnmiTarget, type FakeGnmiTarget, type FakeValue } from '../peers/gnmi-fake-target';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { generateBrokenPki, type BrokenPki } from '../support/faults-pki';
import { scrapeCounter, startWorkers, testClient, TEST_SECRETS_KEY, type Workers } from '../support/system';

const ETH0 = '/interfaces/interface[name=eth0]/state';
/** What the fake generates, and how each value must be stored. */
const VALUES: Array<FakeValue & { expect?: { path: string; kind: 'number' | 'text' } }> = [
  { path: ['interfaces', 'interface[name=eth0]', 'state', 'counters', 'in-octets'], uint: { value: 1000, min: 0, max: 1e12 }, expect: { path: `${ETH0}/counters/in-octets`, kind: 'number' } },
  { path: ['interfaces', 'interface[name=eth0]', 'state', 'mtu'], int: { value: 1500, min: 0, max: 1e6 }, expect: { path: `${ETH0}/mtu`, kind: 'number' } },
  {
    path: ['components', 'component[name=cpu0]', 'state', 'temperature'],
    double: { value: 40, min: 30, max: 50 },
    expect: { path: '/components/component[name=cpu0]/state/temperature', kind: 'number' },
  },
  { path: ['interfaces', 'interface[name=eth0]', 'state', 'oper-status'], string: ['UP', 'DOWN'], expect: { path: `${ETH0}/oper-status`, kind: 'text' } },
  { path: ['interfaces', 'interface[name=eth0]', 'state', 'enabled'], bool: [true, false], expect: { path: `${ETH0}/enabled`, kind: 'text' } },
  { path: ['system', 'dns', 'state', 'servers'], stringList: ['10.0.0.1', '10.0.0.2'], expect: { path: '/system/dns/state/servers', kind: 'text' } },
  // An interface that disappears: one value, then a delete of its whole subtree.
  { path: ['interfaces', 'interface[name=eth9]', 'state', 'description'], string: ['removed soon'], once: true, expect: { path: '/interfaces/interface[name=eth9]/state/description', kind: 'text' } },
  { path: ['interfaces', 'interface[name=eth9]'], delete: true, offsetMs: 100, expect: { path: '/interfaces/interface[name=eth9]', kind: 'text' } },
];
const PERIOD_MS = 200;

describe('gNMI interoperability: the OpenConfig reference fake target (fake_server v0.14.1)', function () {
  this.timeout(120_000);
  let pki: BrokenPki;
  let db: TestDatabase;
  let workers: Workers;
  let client: Client;
  let port: number;
  let fake: FakeGnmiTarget | undefined;
  let deviceId: number;

  const config = () => fakeConfigText({ target: 'fake-leaf', startNs: BigInt(Date.now()) * 1_000_000n, periodMs: PERIOD_MS, values: VALUES });
  const startFake = async () => (fake = await startFakeGnmiTarget({ port, cert: pki.good.cert, key: pki.good.key, config: config() }));
  const status = (pred: (s: DeviceSessionStatus) => boolean, what: string) => waitForStatus(client, deviceId, pred, what, 30_000);
  const series = async () => (await db.db('series').where({ device_id: deviceId }).select('id', 'path', 'kind')) as Array<{ id: number; path: string; kind: string }>;
  const countRows = async (table: 'samples' | 'states', path: string, extra = '') => {
    const { rows } = await db.db.raw(`SELECT count(*)::int AS n FROM ${table} t JOIN series s ON s.id = t.series_id WHERE s.device_id = ? AND s.path = ? ${extra}`, [deviceId, path]);
    return rows[0].n as number;
  };

  before(async function () {
    this.timeout(900_000); // the first run builds fake_server from the Go module proxy
    await ensureFakeGnmiServer();
    pki = await generateBrokenPki();
    db = await createTestDatabase('gnmi_interop');
    port = await freePort();
    await startFake();
    workers = await startWorkers(db.url);
    client = await testClient();
    const profileId = await ensureProfile(db.db, 'gnmi', {
      name: 'interop-everything',
      description: 'everything under / (the fake ignores paths anyway)',
      spec: { mode: 'stream', subscriptions: [{ path: '/', mode: 'sample', sampleIntervalMs: 1000 }] },
    });
    const device = await createDevice(db.db, parseKeyring(TEST_SECRETS_KEY), {
      name: 'openconfig-fake',
      protocol: 'gnmi',
      host: '127.0.0.1',
      port,
      settings: { gnmi: { tls: 'tls', caCert: pki.caCert, serverName: 'localhost', target: 'fake-leaf', capabilitiesTimeoutMs: 3000 } },
      profileIds: [profileId],
    });
    deviceId = device.id;
    await startDeviceSession(client, { id: deviceId, name: 'openconfig-fake', protocol: 'gnmi' }, { heartbeatTimeoutMs: 4000 });
  });

  after(async () => {
    await client?.workflow
      .getHandle(`device-session/${deviceId}`)
      .terminate('test over')
      .catch(() => undefined);
    await workers?.stop();
    await fake?.stop();
    await client?.connection.close();
    await db?.drop();
  });

  it('streams without Capabilities and records that, and the encoding it used', async () => {
    const s = await status((x) => x.state === 'streaming' && x.encoding !== undefined, 'streaming with an encoding recorded');
    assert.equal(s.capabilities, 'unimplemented');
    assert.equal(s.encoding, 'JSON_IETF', 'nothing named: JSON_IETF (the fake sends typed values whatever is asked)');
    assert.equal(s.lastError, undefined, 'nothing parked, nothing failed');
    const metricsPort = workers.collectors[0].metricsPort;
    assert.ok((await scrapeCounter(metricsPort, 'gnmi_capabilities_unanswered_total')) >= 1, 'the missing RPC is counted');
    await waitFor('a sync_response from the fake', async () => (await scrapeCounter(metricsPort, 'gnmi_sync_responses_total')) >= 1, 15_000, 100);
  });

  it('stores every generated kind under its path: numbers as samples, strings, booleans and string lists as states', async () => {
    await waitFor(
      'every generated value stored',
      async () => {
        const got = new Set((await series()).map((r) => r.path));
        return VALUES.every((v) => got.has(v.expect!.path)) && (await countRows('samples', `${ETH0}/counters/in-octets`)) >= 5;
      },
      30_000,
      200,
    );
    const byPath = new Map((await series()).map((r) => [r.path, r.kind]));
    for (const v of VALUES) assert.equal(byPath.get(v.expect!.path), v.expect!.kind, v.expect!.path);
    assert.equal(byPath.size, VALUES.length, `nothing else stored: ${[...byPath.keys()].join(', ')}`);

    const { rows: counters } = await db.db.raw(`SELECT t.value FROM samples t JOIN series s ON s.id = t.series_id WHERE s.device_id = ? AND s.path = ? ORDER BY t.time`, [
      deviceId,
      `${ETH0}/counters/in-octets`,
    ]);
    const values = counters.map((r: { value: number }) => Number(r.value));
    assert.equal(values[0], 1000, 'the configured start value');
    assert.ok(
      values.every((v: number, i: number) => i === 0 || v > values[i - 1]),
      `the uint counter grows: ${values.slice(0, 8)}`,
    );

    const text = async (path: string) =>
      (await db.db.raw(`SELECT t.value FROM states t JOIN series s ON s.id = t.series_id WHERE s.device_id = ? AND s.path = ? ORDER BY t.time`, [deviceId, path])).rows.map(
        (r: { value: string | null }) => r.value,
      );
    assert.ok(new Set(await text(`${ETH0}/oper-status`)).has('UP'));
    assert.ok((await text(`${ETH0}/enabled`)).every((v: string) => v === 'true' || v === 'false'));
    assert.deepEqual(JSON.parse((await text('/system/dns/state/servers'))[0]), ['10.0.0.1', '10.0.0.2'], 'leaf-list as JSON text');
    const temps = (
      await db.db.raw(`SELECT t.value FROM samples t JOIN series s ON s.id = t.series_id WHERE s.device_id = ? AND s.path = ?`, [deviceId, '/components/component[name=cpu0]/state/temperature'])
    ).rows;
    assert.ok(
      temps.slice(1).every((r: { value: number }) => r.value >= 30 && r.value <= 50),
      'doubles in the configured range',
    );
  });

  it('stores the subtree delete as one null state at the subtree path, after the value under it', async () => {
    const { rows } = await db.db.raw(
      `SELECT s.path, t.value, extract(epoch FROM t.time) * 1000 AS t FROM states t JOIN series s ON s.id = t.series_id
        WHERE s.device_id = ? AND s.path LIKE '/interfaces/interface[name=eth9]%' ORDER BY t.time`,
      [deviceId],
    );
    const del = rows.filter((r: { path: string }) => r.path === '/interfaces/interface[name=eth9]');
    assert.ok(del.length >= 1 && del.every((r: { value: unknown }) => r.value === null), 'null rows at the deleted subtree');
    const desc = rows.find((r: { path: string }) => r.path.endsWith('/description'));
    assert.equal(desc.value, 'removed soon');
    assert.ok(Number(del[0].t) > Number(desc.t), 'the delete comes after the value it removes');
  });

  it('survives the target being restarted: backs off, then streams again on a new attempt', async () => {
    const first = await status((x) => x.state === 'streaming', 'streaming');
    await fake!.stop();
    fake = undefined;
    await status((x) => x.state !== 'streaming', 'the break noticed');
    const restartedAt = Date.now();
    await startFake();
    const after = await status((x) => x.state === 'streaming' && x.attempt > first.attempt, 'streaming again on a later attempt');
    assert.equal(after.capabilities, 'unimplemented');
    await waitFor('new samples after the restart', async () => (await countRows('samples', `${ETH0}/counters/in-octets`, `AND t.time > to_timestamp(${restartedAt / 1000})`)) >= 3, 20_000, 200);
  });
});

describe('gNMI encoding fallback against a partial target (simulator without Capabilities, encodings refused)', function () {
  this.timeout(30_000);
  let target: GnmiTarget;
  beforeEach(async () => {
    target = await startGnmiTarget({ device: new SimDevice({ name: 'partial', interfaces: 2 }), port: 0 });
  });
  afterEach(() => target.close());

  const profile = (extra: object = {}) =>
    gnmiProfile({ subscriptions: [{ path: '/interfaces/interface/state/counters', mode: 'sample', sampleIntervalMs: 100, heartbeatIntervalMs: 0, suppressRedundant: false }], ...extra });

  /** Run the session until five points arrived, then end it: the encodings the target was asked for, in order, and what the session recorded. */
  async function streamUntilPoints(device: Parameters<typeof recordingContext>[0], extra: object = {}) {
    const ctx = recordingContext(device, [profile(extra)]);
    const started = Date.now();
    const running = gnmiProtocol.run(ctx);
    await ctx.waitFor(() => ctx.points.length >= 5, 10_000, 'points');
    const tookMs = Date.now() - started;
    ctx.controller.abort();
    await running;
    const warnings = ctx.events.flatMap((e) => (e.type === 'warning' ? [e.message] : []));
    return { asked: target.subscriptions.map((l) => l.encoding), negotiated: ctx.events.filter((e) => e.type === 'negotiated'), warnings, ctx, tookMs };
  }

  it('Capabilities UNIMPLEMENTED and only PROTO accepted: tries JSON_IETF, JSON, then streams PROTO', async () => {
    target.faults.capabilities('unimplemented');
    target.faults.limitEncodings(['PROTO']);
    const { asked, negotiated, warnings, ctx } = await streamUntilPoints(localGnmiDevice(target.port));
    assert.deepEqual(asked, ['JSON_IETF', 'JSON', 'PROTO']);
    assert.match(warnings[0], /does not implement the gNMI Capabilities RPC/);
    assert.ok(
      warnings.some((w) => /refused encoding JSON_IETF.*trying JSON$/.test(w)),
      warnings.join('\n'),
    );
    assert.ok(
      warnings.some((w) => /refused encoding JSON .*trying PROTO$/.test(w)),
      warnings.join('\n'),
    );
    assert.deepEqual(negotiated, [{ type: 'negotiated', encoding: 'PROTO', capabilities: 'unimplemented' }]);
    assert.equal(ctx.counters.get('gnmi_capabilities_unanswered_total{"reason":"unimplemented"}'), 1);
  });

  it('Capabilities never answered: subscribes after the device deadline with the named encoding', async () => {
    target.faults.capabilities('silent');
    const { asked, negotiated, warnings, ctx, tookMs } = await streamUntilPoints(localGnmiDevice(target.port, { capabilitiesTimeoutMs: 300, encoding: 'json' }));
    assert.ok(tookMs >= 300, 'waited for the deadline');
    assert.deepEqual(asked, ['JSON']);
    assert.deepEqual(negotiated, [{ type: 'negotiated', encoding: 'JSON', capabilities: 'timeout' }]);
    assert.ok(
      warnings.some((w) => /Capabilities not answered within 300 ms/.test(w)),
      warnings.join('\n'),
    );
    assert.ok(!ctx.events.some((e) => e.type === 'connected'), 'a silent device proves no connection until data arrives');
  });

  it("Capabilities UNIMPLEMENTED, the profile and the device both name one: the profile's is asked first", async () => {
    target.faults.capabilities('unimplemented');
    const { asked, negotiated } = await streamUntilPoints(localGnmiDevice(target.port, { encoding: 'json' }), { encoding: 'proto' });
    assert.deepEqual(asked, ['PROTO']);
    assert.deepEqual(negotiated, [{ type: 'negotiated', encoding: 'PROTO', capabilities: 'unimplemented' }]);
  });

  it('every encoding refused: CONFIG_INVALID naming what was tried (the session parks)', async () => {
    target.faults.capabilities('unimplemented');
    target.faults.limitEncodings([]);
    const ctx = recordingContext(localGnmiDevice(target.port), [profile()]);
    await assert.rejects(gnmiProtocol.run(ctx), (e: Error & { code?: string }) => e.code === 'CONFIG_INVALID' && /refused every encoding tried \(JSON_IETF, JSON, PROTO\)/.test(e.message));
  });

  it('Capabilities answered: the listed encoding is used, no fallback needed, recorded as answered', async () => {
    target.faults.limitEncodings(['JSON_IETF']);
    const { asked, negotiated } = await streamUntilPoints(localGnmiDevice(target.port));
    assert.deepEqual(asked, ['JSON_IETF']);
    assert.deepEqual(negotiated, [{ type: 'negotiated', encoding: 'JSON_IETF', capabilities: 'answered' }]);
  });
});
