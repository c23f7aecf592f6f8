/**
 * The load placement reads per live collector (storage/collectors.ts liveLoads, ADR 110):
 * a placement counts where its session runs (as the collector last reported) or while it
 * is new enough to be starting; a paused device's placement, a session running elsewhere,
 * and a dead collector count nothing; a move in flight counts as moving. Computed by one
 * join since the per-row array test grew quadratically with the fleet.
 */
import assert from 'node:assert/strict';
import { liveLoads, registerCollector, renewLease, type CollectorRegistration } from '../../storage/collectors';
import { createTestDatabase, type TestDatabase } from '../support/db';

describe('storage: collector loads for placement', function () {
  this.timeout(60_000);
  let tdb: TestDatabase;
  before(async () => {
    tdb = await createTestDatabase('collector_loads');
  });
  after(async () => tdb?.drop());

  const reg = (id: string, leaseMs = 60_000): CollectorRegistration => ({ id, incarnation: '1', taskQueue: `q-${id}`, version: 'test', capacity: 100, leaseMs });

  it('counts running and starting placements per live collector, and the moves in flight', async () => {
    const ids: number[] = (
      await tdb.db('devices')
        .insert(Array.from({ length: 12 }, (_, i) => ({ name: `load-${i + 1}`, protocol: 'gnmi', host: '127.0.0.1', port: 1 })))
        .returning('id')
    ).map((r: { id: number }) => Number(r.id));
    const [d1, d2, d3, paused, starting, d6, d7, moving, runsOnA, deadOne, d11, d12] = ids;
    for (const r of [reg('a'), reg('b'), reg('dead')]) await registerCollector(tdb.db, r);
    const place = (deviceId: number, id: string, o: { old?: boolean; moving?: boolean } = {}) =>
      tdb.db.raw(
        `INSERT INTO session_placements (device_id, collector_id, task_queue, placed_at, move_requested_at)
         VALUES (?, ?, ?, now() - make_interval(secs => ?), CASE WHEN ? THEN now() END)`,
        [deviceId, id, `q-${id}`, o.old === false ? 0 : 3600, Boolean(o.moving)],
      );
    // a: three running, one paused (placed an hour ago, not running), one placed just now (not running yet).
    for (const d of [d1, d2, d3]) await place(d, 'a');
    await place(paused, 'a');
    await place(starting, 'a', { old: false });
    // b: two running, one running and asked to move, one placed on b but still running on a (moving over).
    for (const d of [d6, d7]) await place(d, 'b');
    await place(moving, 'b', { moving: true });
    await place(runsOnA, 'b');
    // dead: its lease has lapsed; its placements count nowhere.
    await place(deadOne, 'dead');
    await renewLease(tdb.db, reg('a'), { sessions: 4 }, [d1, d2, d3, runsOnA]);
    await renewLease(tdb.db, reg('b'), { sessions: 3 }, [d6, d7, moving, d11]);
    await renewLease(tdb.db, reg('dead', -1000), { sessions: 1 }, [deadOne, d12]);

    const byId = (loads: Awaited<ReturnType<typeof liveLoads>>) => Object.fromEntries(loads.map((l) => [l.id, { sessions: l.sessions, moving: l.moving, taskQueue: l.taskQueue }]));
    assert.deepEqual(byId(await liveLoads(tdb.db)), {
      a: { sessions: 4, moving: 0, taskQueue: 'q-a' },
      b: { sessions: 3, moving: 1, taskQueue: 'q-b' },
    });
    // Placing a device again does not count its own placement.
    assert.deepEqual(byId(await liveLoads(tdb.db, d1)).a, { sessions: 3, moving: 0, taskQueue: 'q-a' });
    assert.deepEqual(byId(await liveLoads(tdb.db, moving)).b, { sessions: 2, moving: 1, taskQueue: 'q-b' });
    // A live collector without placements is there with no load.
    await registerCollector(tdb.db, reg('empty'));
    assert.deepEqual(byId(await liveLoads(tdb.db)).empty, { sessions: 0, moving: 0, taskQueue: 'q-empty' });
  });
});
