/**
 * The placement monitor holds a lost collector's warm sessions' signals until their new streams are
 * up (ADR 297), on a real database: the claim places them on the live collector and announces them
 * (warm hand-over), the monitor hears `session_up` on its own LISTEN connection and tells the whole
 * claim once every session streams there. A session the new collector will not dial (warm hand-over
 * off there, or not reported running by the lost one) is told at once; a claim nobody brings up is
 * told after the quiet time; a stopping monitor tells what it holds.
 */
import assert from 'node:assert/strict';
import type { Client } from '@temporalio/client';
import { createLogger } from '../../core/log';
import { MetricsRegistry } from '../../core/metrics';
import { announceUp, placeSession, registerCollector, renewLease } from '../../storage/collectors';
import { startPlacementMonitor } from '../../workers/placement-monitor';
import { until } from '../../testkit/until';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { addBareDevices, testCollector } from '../support/placement';

describe('placement monitor: a lost collector’s sessions are told once their new streams are up (ADR 297)', function () {
  this.timeout(60_000);
  const log = createLogger('lost-hold-test', {}, { level: process.env.TEST_VERBOSE ? 'debug' : 'error' });
  let tdb: TestDatabase;
  /** collectorLost signals sent: device id and the queue named as its new placement. */
  let signalled: Array<{ deviceId: number; placedQueue?: string }> = [];
  const recordingClient = {
    workflow: {
      getHandle: (workflowId: string) => ({
        signal: async (_def: unknown, arg: { placed?: { taskQueue: string } }) => {
          signalled.push({ deviceId: Number(workflowId.slice(workflowId.lastIndexOf('/') + 1)), placedQueue: arg?.placed?.taskQueue });
        },
      }),
    },
  } as unknown as Client;
  let monitor: ReturnType<typeof startPlacementMonitor> | undefined;
  let metrics: MetricsRegistry;

  before(async () => {
    tdb = await createTestDatabase('lost_hold');
  });
  /** No collectors and no placements: each loss below is the only one. */
  const clear = async () => {
    await tdb.db.raw(`DELETE FROM session_placements`);
    await tdb.db.raw(`DELETE FROM collectors`);
  };
  beforeEach(async () => {
    await monitor?.stop();
    monitor = undefined;
    signalled = [];
    metrics = new MetricsRegistry();
    await clear();
  });
  after(async () => {
    await monitor?.stop();
    await tdb?.drop();
  });

  /** `n` sessions placed on collector `lost`, which reported `running` of them and then lapsed; collector `live` takes them. */
  async function aLoss(name: string, n: number, o: { warmThere?: boolean; running?: boolean } = {}) {
    const lost = testCollector(`${name}-lost`, 100);
    await registerCollector(tdb.db, lost);
    const devices = await addBareDevices(tdb.db, name, n);
    for (const d of devices) assert.equal((await placeSession(tdb.db, d))?.collectorId, lost.id);
    await renewLease(tdb.db, lost, { sessions: n }, o.running === false ? [] : devices);
    const live = { ...testCollector(`${name}-live`, 100), warmHandOver: o.warmThere ?? true };
    await registerCollector(tdb.db, live);
    await tdb.db.raw(`UPDATE collectors SET lease_until = now() - interval '1 second' WHERE id = ?`, [lost.id]);
    return { devices, liveQueue: live.taskQueue };
  }
  const start = (quietMs = 20_000) => {
    monitor = startPlacementMonitor({
      db: tdb.db,
      client: recordingClient,
      log,
      everyMs: 100,
      maxMoves: 0,
      leaseMs: 100,
      lostSignalHoldMs: 30_000,
      lostSignalQuietMs: quietMs,
      databaseUrl: tdb.url,
      metrics,
    });
  };
  const told = (when: string) => metrics.get('placement_lost_told_total', { when });
  const held = (stream?: 'up' | 'coming') => {
    const text = metrics.render();
    const read = (s: string) => Number(new RegExp(`^placement_lost_held\\{stream="${s}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? NaN);
    return stream ? read(stream) : read('up') + read('coming');
  };
  const placedOn = async (devices: number[], queue: string) =>
    Number((await tdb.db.raw(`SELECT count(*) AS n FROM session_placements WHERE device_id = ANY(?::int[]) AND task_queue = ?`, [devices, queue])).rows[0].n);

  it('holds the claim while its new streams come up, and tells every session once the last one is up', async () => {
    const { devices, liveQueue } = await aLoss('up', 3);
    start();
    await until('the claim held', () => held() === 3, 10_000);
    assert.equal(await placedOn(devices, liveQueue), 3, 'claimed and placed on the live collector');
    assert.equal(signalled.length, 0, 'nobody told while the streams are not up');
    // An up from another queue (a collector that does not hold the placement) counts nothing; then two of the three come up.
    await announceUp(tdb.db, 'q-elsewhere', [devices[2]]);
    await announceUp(tdb.db, liveQueue, devices.slice(0, 2));
    await until('the two ups heard (and the one before them)', () => held('up') === 2, 10_000);
    assert.equal(held('coming'), 1);
    assert.equal(signalled.length, 0, 'one session of the claim is not up yet');
    await announceUp(tdb.db, liveQueue, [devices[2]]);
    await until('every session told', () => signalled.length === 3, 10_000);
    assert.deepEqual(
      signalled.map((s) => s.deviceId).sort((a, b) => a - b),
      devices,
    );
    assert.ok(
      signalled.every((s) => s.placedQueue === liveQueue),
      'each told where it was placed',
    );
    assert.equal(told('up'), 3);
    assert.equal(told('at-once'), 0);
    assert.equal(held(), 0);
  });

  it('tells at once where the new collector does not dial warm, or the lost one did not report the session running', async () => {
    await aLoss('cold', 2, { warmThere: false });
    start();
    await until('the sessions placed on a collector with warm hand-over off told', () => signalled.length === 2, 10_000);
    assert.equal(told('at-once'), 2);
    await monitor!.stop();
    monitor = undefined;
    signalled = [];
    await clear();
    await aLoss('notrunning', 2, { running: false });
    start();
    await until('the sessions not reported running told', () => signalled.length === 2, 10_000);
    assert.equal(told('at-once'), 4);
    assert.equal(told('up') + told('quiet') + told('bound'), 0);
  });

  it('tells a claim nobody brings up after the quiet time, and a stopping monitor tells what it holds', async () => {
    const quiet = await aLoss('quiet', 2);
    start(500);
    await until('the claim held', () => held() === 2, 10_000);
    const heldAt = Date.now();
    await until('told after the quiet time', () => signalled.length === 2, 10_000);
    assert.ok(Date.now() - heldAt >= 400, `told ${Date.now() - heldAt} ms after the hold, before the quiet time`);
    assert.equal(told('quiet'), 2);
    assert.deepEqual(
      signalled.map((s) => s.deviceId).sort((a, b) => a - b),
      quiet.devices,
    );
    await monitor!.stop();
    monitor = undefined;
    signalled = [];
    await clear();
    const stopping = await aLoss('stopping', 2);
    start();
    await until('the claim held', () => held() === 2, 10_000);
    await monitor!.stop();
    monitor = undefined;
    assert.deepEqual(
      signalled.map((s) => s.deviceId).sort((a, b) => a - b),
      stopping.devices,
      'told before stop() returned',
    );
    assert.equal(told('stop'), 2);
  });
});
