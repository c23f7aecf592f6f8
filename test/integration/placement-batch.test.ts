/**
 * Placement in batches on real PostgreSQL (ADR 200): one transaction places many sessions
 * within each collector's share and capacity, as placing them one after the other would;
 * the monitor's claim of a lapsed collector's sessions places them all elsewhere at once,
 * each exactly once when two control workers claim together, and a claim whose signal
 * failed is given back; concurrent placement activity calls share transactions.
 */
import assert from 'node:assert/strict';
import type { Knex } from 'knex';
import { createPlacementActivities } from '../../activities/placement';
import { claimAndPlaceLost, claimHandedOverFromLost, placeSessions, registerCollector, renewLease, unclaimLostPlacement } from '../../storage/collectors';
import { createKnex } from '../../storage/pool';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { addBareDevices, testCollector } from '../support/placement';

describe('placement in batches: shares, capacity, one claim per loss', function () {
  this.timeout(60_000);
  let tdb: TestDatabase;
  let other: Knex;
  before(async () => {
    tdb = await createTestDatabase('placement_batch');
    // A second control worker: its own connections to the same database.
    other = createKnex(tdb.url, 5);
  });
  after(async () => {
    await other?.destroy();
    await tdb?.drop();
  });

  const reg = testCollector;
  const addDevices = (prefix: string, n: number) => addBareDevices(tdb.db, prefix, n);
  const queuesOf = async (ids: number[]): Promise<Map<number, string>> =>
    new Map(
      (await tdb.db('session_placements').whereIn('device_id', ids).select('device_id', 'task_queue')).map((r: { device_id: number; task_queue: string }) => [Number(r.device_id), r.task_queue]),
    );
  const tally = (queues: Iterable<string | undefined>) => {
    const n: Record<string, number> = {};
    for (const q of queues) n[q ?? 'none'] = (n[q ?? 'none'] ?? 0) + 1;
    return n;
  };

  it("places a batch within each collector's share and capacity; a full fleet leaves the rest to the shared queue", async () => {
    await tdb.db.raw(`DELETE FROM collectors`);
    for (const r of [reg('a', 30), reg('b', 30), reg('c', 60)]) await registerCollector(tdb.db, r);
    await registerCollector(tdb.db, { ...reg('drained', 60) });
    await tdb.db.raw(`UPDATE collectors SET draining = true WHERE id = 'drained'`);
    const first = await addDevices('batch', 100);
    const placed = await placeSessions(tdb.db, first);
    assert.deepEqual(tally([...placed.values()].map((p) => p?.taskQueue)), { 'q-a': 25, 'q-b': 25, 'q-c': 50 }, 'shares follow capacity');
    assert.deepEqual(tally((await queuesOf(first)).values()), { 'q-a': 25, 'q-b': 25, 'q-c': 50 }, 'the rows say the same');
    // 120 places in all: of 30 more, 20 fit (a and b 5 each, c 10), 10 get none.
    const more = await addDevices('over', 30);
    const second = await placeSessions(tdb.db, more);
    assert.deepEqual(tally([...second.values()].map((p) => p?.taskQueue)), { 'q-a': 5, 'q-b': 5, 'q-c': 10, none: 10 });
    assert.equal((await queuesOf(more)).size, 20, 'no placement is recorded for a session nowhere has room for');
  });

  it("restarting a collector's running sessions together keeps them there; a deleted device gets none", async () => {
    await tdb.db.raw(`DELETE FROM collectors`);
    await tdb.db.raw(`DELETE FROM session_placements`);
    for (const r of [reg('a', 100), reg('b', 100)]) await registerCollector(tdb.db, r);
    const ids = await addDevices('sticky', 20);
    const placed = await placeSessions(tdb.db, ids);
    const on = (q: string) => ids.filter((id) => placed.get(id)?.taskQueue === q);
    assert.equal(on('q-a').length, 10);
    await renewLease(tdb.db, reg('a', 100), { sessions: 10 }, on('q-a'));
    await renewLease(tdb.db, reg('b', 100), { sessions: 10 }, on('q-b'));
    const again = await placeSessions(tdb.db, on('q-a'));
    assert.deepEqual(tally([...again.values()].map((p) => p?.taskQueue)), { 'q-a': 10 });
    const [gone] = await addDevices('gone', 1);
    await tdb.db('devices').where({ id: gone }).delete();
    const withGone = await placeSessions(tdb.db, [gone, ids[0]]);
    assert.equal(withGone.get(gone), undefined);
    assert.ok(withGone.get(ids[0]), 'the other device of the batch is placed');
  });

  it('two control workers claiming a lapsed collector at once: each session claimed and placed once, shared by the live ones', async () => {
    await tdb.db.raw(`DELETE FROM collectors`);
    await tdb.db.raw(`DELETE FROM session_placements`);
    for (const r of [reg('x', 100), reg('y', 100), reg('z', 100)]) await registerCollector(tdb.db, r);
    const ids = await addDevices('lost', 40);
    await tdb.db.raw(`INSERT INTO session_placements (device_id, collector_id, task_queue) SELECT unnest(?::int[]), 'x', 'q-x'`, [ids]);
    await renewLease(tdb.db, reg('x', 100, -1000), { sessions: 40 }, ids);
    const [mine, theirs] = await Promise.all([claimAndPlaceLost(tdb.db), claimAndPlaceLost(other)]);
    const all = [...mine, ...theirs];
    assert.ok(mine.length === 0 || theirs.length === 0, `one claim takes the whole loss (${mine.length} + ${theirs.length})`);
    assert.deepEqual(
      all.map((l) => l.deviceId).sort((a, b) => a - b),
      [...ids].sort((a, b) => a - b),
      'every session once',
    );
    assert.ok(
      all.every((l) => l.taskQueue === 'q-x' && l.collectorId === 'x'),
      'the lost queue is named',
    );
    assert.deepEqual(tally(all.map((l) => l.placed?.taskQueue)), { 'q-y': 20, 'q-z': 20 });
    assert.deepEqual(tally((await queuesOf(ids)).values()), { 'q-y': 20, 'q-z': 20 }, 'recorded where the signals say');
    assert.deepEqual(await claimAndPlaceLost(tdb.db), [], 'nothing is claimed twice');
    // A signal that could not be sent gives the claim back: the next tick claims and places it again.
    const failed = all[0];
    await unclaimLostPlacement(tdb.db, { ...failed, placedQueue: failed.placed?.taskQueue });
    assert.equal((await queuesOf([failed.deviceId])).get(failed.deviceId), 'q-x');
    const retried = await claimAndPlaceLost(other);
    assert.deepEqual(
      retried.map((l) => [l.deviceId, l.taskQueue]),
      [[failed.deviceId, 'q-x']],
    );
    assert.ok(retried[0].placed && retried[0].placed.taskQueue !== 'q-x');
  });

  /**
   * ADR 262: a collector that placed its sessions elsewhere on SIGTERM, then was lost without removing its row (a forced exit:
   * its results may never have reached Temporal), still names them; once its lease has ended a while, the monitor's claim returns
   * them with where they were placed, once. Sessions the monitor itself placed after the loss (told already) and devices placed on
   * the lost queue are not among them. Before ADR 262 nothing found them: their workflows waited for the heartbeat timeout.
   */
  it('a collector lost after handing its sessions over: those sessions are claimed once, with the placement it made', async () => {
    await tdb.db.raw(`DELETE FROM collectors`);
    await tdb.db.raw(`DELETE FROM session_placements`);
    for (const r of [reg('leaving', 100), reg('taker', 100)]) await registerCollector(tdb.db, r);
    const handed = await addDevices('handed', 6);
    const notHanded = await addDevices('kept', 3);
    await tdb.db.raw(`INSERT INTO session_placements (device_id, collector_id, task_queue) SELECT unnest(?::int[]), 'leaving', 'q-leaving'`, [[...handed, ...notHanded]]);
    // SIGTERM: draining, its running sessions placed elsewhere in one transaction; it keeps reporting them until it exits.
    await tdb.db.raw(`UPDATE collectors SET draining = true WHERE id = 'leaving'`);
    const moved = await placeSessions(tdb.db, handed, { handoff: true });
    assert.ok([...moved.values()].every((p) => p?.taskQueue === 'q-taker'));
    await renewLease(tdb.db, reg('leaving', 100), { sessions: 9 }, [...handed, ...notHanded]);
    assert.deepEqual(await claimHandedOverFromLost(tdb.db, 0), [], 'nothing while its lease runs');
    // Forced exit: the row stays and its lease lapses; the monitor's own claim places the rest (and takes them off its list).
    await tdb.db.raw(`UPDATE collectors SET lease_until = now() - interval '10 seconds' WHERE id = 'leaving'`);
    const lost = await claimAndPlaceLost(tdb.db);
    assert.deepEqual(
      lost.map((l) => l.deviceId).sort((a, b) => a - b),
      notHanded,
      "the sessions still placed on it are the monitor claim's",
    );
    assert.deepEqual(await claimHandedOverFromLost(tdb.db, 60_000), [], 'not before its lease ended `afterMs` ago');
    const claimed = await claimHandedOverFromLost(tdb.db, 5_000);
    assert.deepEqual(
      claimed.map((l) => l.deviceId).sort((a, b) => a - b),
      handed,
      'the sessions it handed over, not those the monitor placed after the loss',
    );
    assert.ok(
      claimed.every((l) => l.taskQueue === 'q-leaving' && l.collectorId === 'leaving' && l.placed?.taskQueue === 'q-taker'),
      'lost queue and placement named',
    );
    assert.deepEqual(await claimHandedOverFromLost(other, 5_000), [], 'claimed once');
  });

  it('placement activity calls that arrive together are placed in one transaction, spread as one by one', async () => {
    await tdb.db.raw(`DELETE FROM collectors`);
    await tdb.db.raw(`DELETE FROM session_placements`);
    for (const r of [reg('a', 100), reg('b', 100)]) await registerCollector(tdb.db, r);
    const ids = await addDevices('together', 60);
    const { placeSession } = createPlacementActivities({ db: tdb.db });
    const placed = await Promise.all(ids.map((id) => placeSession(id)));
    assert.deepEqual(tally(placed.map((p) => p?.taskQueue)), { 'q-a': 30, 'q-b': 30 });
    // now() is a transaction's start: the first call runs alone, the 59 that waited for it share the next.
    const { rows } = await tdb.db.raw(`SELECT count(DISTINCT placed_at)::int AS n FROM session_placements WHERE device_id = ANY(?::int[])`, [ids]);
    assert.ok(rows[0].n <= 2, `${rows[0].n} transactions placed 60 sessions`);
  });
});
