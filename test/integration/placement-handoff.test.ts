/**
 * Warm hand-over notifications on real PostgreSQL (ADR 235): when the monitor places a lost
 * collector's sessions, the collectors it placed them on hear (LISTEN) exactly the sessions the
 * lost one said it was running, not its paused ones; a leaving collector's placement tells them
 * too; a large hand-over arrives complete in several notifications under NOTIFY's size limit;
 * a placement that rolls back tells nobody.
 */
import assert from 'node:assert/strict';
import { claimAndPlaceLost, handoffRoute, placeSessions, registerCollector, renewLease } from '../../storage/collectors';
import { listenReconnecting } from '../../storage/listen';
import { until } from '../../testkit/until';
import { createDevice, loadDeviceConfig, loadDeviceConfigs } from '../../storage/devices';
import { ensureProfile } from '../../storage/profiles';
import { parseKeyring } from '../../storage/secrets';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { addBareDevices, testCollector } from '../support/placement';

describe('warm hand-over: collectors hear the running sessions placed on them', function () {
  this.timeout(60_000);
  let tdb: TestDatabase;
  const heard = new Map<string, number[]>();
  const listeners: Array<{ close(): Promise<void> }> = [];
  before(async () => {
    tdb = await createTestDatabase('placement_handoff');
  });
  after(async () => {
    await Promise.all(listeners.map((l) => l.close()));
    await tdb?.drop();
  });

  const reg = testCollector;
  const addDevices = (prefix: string, n: number) => addBareDevices(tdb.db, prefix, n);
  /** Listen as collector `id` would; resolves once its LISTEN is in place (a notification sent by the probe arrives). */
  const listen = async (id: string) => {
    heard.set(`q-${id}`, []);
    let probed = false;
    const onDevices = (ids: number[]) => {
      if (ids.includes(PROBE)) probed = true;
      else heard.get(`q-${id}`)!.push(...ids);
    };
    listeners.push(listenReconnecting({ databaseUrl: tdb.url, ...handoffRoute(`q-${id}`, { handedOver: onDevices }), onError: (err) => assert.fail(err) }));
    await until(
      `collector ${id} listening`,
      async () => {
        await tdb.db.raw(`SELECT pg_notify('session_handoff', ?)`, [`q-${id}|${PROBE}`]);
        return probed;
      },
      10_000,
      100,
    );
  };
  /** A device id no test uses: the listening probe's. */
  const PROBE = 999_999_999;
  const sorted = (ids: number[]) => [...ids].sort((a, b) => a - b);

  it('a lost collector\'s running sessions, not its paused ones, are announced to the collectors that took them', async () => {
    for (const r of [reg('a', 100), reg('b', 100)]) await registerCollector(tdb.db, r);
    await Promise.all([listen('a'), listen('b')]);
    const ids = await addDevices('lost', 20);
    const running = ids.slice(0, 16);
    // Collector x held all 20 (4 of them paused: placed, not running) and its lease lapsed.
    await registerCollector(tdb.db, reg('x', 100));
    await tdb.db('session_placements').insert(ids.map((d) => ({ device_id: d, collector_id: 'x', task_queue: 'q-x' })));
    await renewLease(tdb.db, reg('x', 100, -1000), { sessions: running.length }, running);
    const lost = await claimAndPlaceLost(tdb.db);
    assert.equal(lost.length, 20, 'every placement of x was claimed');
    const expected = new Map<string, number[]>([
      ['q-a', []],
      ['q-b', []],
    ]);
    for (const l of lost) if (running.includes(l.deviceId)) expected.get(l.placed!.taskQueue)!.push(l.deviceId);
    assert.ok(expected.get('q-a')!.length > 0 && expected.get('q-b')!.length > 0, 'both live collectors took some');
    await until('both collectors to hear their sessions', () => heard.get('q-a')!.length + heard.get('q-b')!.length >= running.length, 10_000, 20);
    assert.deepEqual(sorted(heard.get('q-a')!), sorted(expected.get('q-a')!));
    assert.deepEqual(sorted(heard.get('q-b')!), sorted(expected.get('q-b')!));
  });

  it('a hand-over\'s devices load in three statements exactly as one by one (secrets, profiles of their protocol, gone, unreadable)', async () => {
    const ring = parseKeyring(`1:${Buffer.alloc(32, 7).toString('base64')}`);
    const gnmi = await ensureProfile(tdb.db, 'gnmi', { name: 'warm-gnmi', description: '', spec: { subscriptions: [{ path: '/interfaces', mode: 'sample', sampleIntervalMs: 1000 }] } });
    const netconf = await ensureProfile(tdb.db, 'netconf', { name: 'warm-netconf', description: '', spec: { filter: '<interfaces xmlns="urn:ietf:params:xml:ns:yang:ietf-interfaces"/>' } });
    const a = await createDevice(tdb.db, ring, { name: 'warm-a', protocol: 'gnmi', host: '127.0.0.1', port: 9339, username: 'u', secrets: { password: 'p-a' }, profileIds: [gnmi, netconf] });
    const b = await createDevice(tdb.db, ring, { name: 'warm-b', protocol: 'netconf', host: '127.0.0.2', port: 830, enabled: false, profileIds: [netconf] });
    const c = await createDevice(tdb.db, ring, { name: 'warm-c', protocol: 'gnmi', host: '127.0.0.3', port: 9339, secrets: { password: 'p-c' } });
    // Sealed under another key: unreadable here, and only that device fails.
    const other = await createDevice(tdb.db, parseKeyring(`1:${Buffer.alloc(32, 8).toString('base64')}`), { name: 'warm-x', protocol: 'gnmi', host: '127.0.0.4', port: 1, secrets: { password: 'x' } });
    const a2 = await createDevice(tdb.db, ring, { name: 'warm-a2', protocol: 'gnmi', host: '127.0.0.5', port: 9339, profileIds: [gnmi] });
    const { devices, failed } = await loadDeviceConfigs(tdb.db, ring, [a.id, a2.id, b.id, c.id, other.id, 999_999]);
    for (const d of [a, a2, b, c]) assert.deepEqual(devices.get(d.id), await loadDeviceConfig(tdb.db, ring, d.id), `device ${d.name}`);
    assert.deepEqual(devices.get(a.id)!.profiles.map((p) => p.id), [gnmi], 'only profiles of the device\'s protocol');
    assert.equal(devices.get(a2.id)!.profiles[0], devices.get(a.id)!.profiles[0], 'a profile of several devices is validated once and shared');
    assert.equal(devices.has(999_999), false, 'a device gone is missing');
    assert.deepEqual([...failed.keys()], [other.id]);
    await assert.rejects(loadDeviceConfig(tdb.db, ring, other.id), (e: Error) => e.message === failed.get(other.id)!.message);
  });

  it('a leaving collector\'s placement is announced, thousands of ids in several notifications; a rolled-back one is not', async () => {
    await tdb.db.raw(`DELETE FROM collectors`);
    await tdb.db.raw(`DELETE FROM session_placements`);
    heard.set('q-a', []);
    heard.set('q-b', []);
    await registerCollector(tdb.db, reg('a', 10_000));
    const ids = await addDevices('many', 3000);
    const placed = await placeSessions(tdb.db, ids, { handoff: true });
    assert.ok([...placed.values()].every((p) => p?.taskQueue === 'q-a'));
    await until('all 3,000 announced', () => heard.get('q-a')!.length >= ids.length, 10_000, 20);
    assert.deepEqual(sorted(heard.get('q-a')!), sorted(ids), 'each once, none lost to the payload limit');
    // Without `handoff` (an attempt asking placement) nothing is announced; a failed transaction announces nothing either.
    heard.set('q-a', []);
    await placeSessions(tdb.db, ids.slice(0, 10));
    await assert.rejects(
      tdb.db.transaction(async (trx) => {
        await trx.raw(`SELECT pg_notify('session_handoff', 'q-a|' || ?)`, [String(ids[0])]);
        throw new Error('rolled back');
      }),
      /rolled back/,
    );
    // A later announcement arrives: the earlier ones, had they been sent, would have arrived first.
    await tdb.db.raw(`SELECT pg_notify('session_handoff', ?)`, [`q-a|${ids[1]}`]);
    await until('the marker announcement', () => heard.get('q-a')!.length > 0, 10_000, 20);
    assert.deepEqual(heard.get('q-a'), [ids[1]]);
  });
});
