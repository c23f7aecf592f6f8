/**
 * The collector lease renewed from its own thread (ADR 165), against real PostgreSQL:
 * a process holding the real lease (test/support/lease-holder.ts) has its main event
 * loop blocked by a busy loop, while this process runs the real placement monitor
 * (its Temporal client replaced by one that records the collectorLost signals it
 * would send). A main loop blocked for well over the lease keeps the lease — every
 * renewal came before the previous lease ran out — and no session is told to move;
 * a main loop silent past COLLECTOR_STALL_MS is hung: the lease lapses and its
 * session fails over; once it answers again the lease is renewed again.
 *
 * The liveness lock (ADR 296): a collector killed with SIGKILL loses the lock with its database
 * connection, and the monitor fails its session over before its lease could have run out; without
 * the lock, only when the lease has run out. A collector whose lock connection alone is cut (the
 * backend terminated) keeps renewing, takes its lock again, and nothing moves.
 *
 * ADR 299: a killed collector whose next renewal is seconds away is still told within a second (its
 * lock and the backend it renews on are both gone); a live one whose every connection is cut takes
 * its lock again before that counts, and nothing moves. The statement itself, driven step by step.
 */
import assert from 'node:assert/strict';
import type { Client } from '@temporalio/client';
import pg from 'pg';
import { createLogger } from '../../core/log';
import { endLeasesOfGoneCollectors, LIVENESS_CONFIRM_MS, LIVENESS_LOCK, placeSession, registerCollector, renewLease, takeLivenessLock } from '../../storage/collectors';
import { createKnex } from '../../storage/pool';
import { newRegistration } from '../../workers/collector-lease';
import { startPlacementMonitor } from '../../workers/placement-monitor';
import { until } from '../../testkit/until';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { spawnCaptured, type CapturedChild } from '../support/faults-proc';

/** A renewal as PostgreSQL saw it: when, and when the lease it renewed would have run out. */
interface RenewalRow {
  at: Date;
  lease_until_before: Date;
  loop_p99_ms: number | null;
}

describe('collector lease thread: a busy main loop keeps the lease, a hung one fails over, a dead one at once', function () {
  this.timeout(120_000);
  const log = createLogger('lease-thread-test', {}, { level: process.env.TEST_VERBOSE ? 'debug' : 'error' });
  let tdb: TestDatabase;
  let monitor: ReturnType<typeof startPlacementMonitor> | undefined;
  const children: CapturedChild[] = [];
  /** collectorLost signals the monitor sent: device ids. */
  const signalled: number[] = [];
  const recordingClient = {
    workflow: {
      getHandle: (workflowId: string) => ({
        signal: async () => {
          signalled.push(Number(workflowId.slice(workflowId.lastIndexOf('/') + 1)));
        },
      }),
    },
  } as unknown as Client;

  before(async function () {
    this.timeout(180_000);
    tdb = await createTestDatabase('lease_thread');
    // Every renewal, recorded by the database itself (the blocked process cannot report anything meanwhile).
    await tdb.db.raw(`
      CREATE TABLE lease_renewals (collector_id text, at timestamptz, lease_until_before timestamptz, loop_p99_ms float8);
      CREATE FUNCTION record_lease_renewal() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN INSERT INTO lease_renewals VALUES (NEW.id, NEW.renewed_at, OLD.lease_until, NEW.loop_p99_ms); RETURN NEW; END $$;
      CREATE TRIGGER record_lease_renewal AFTER UPDATE OF lease_until ON collectors FOR EACH ROW EXECUTE FUNCTION record_lease_renewal();`);
    // Ticks far apart enough that a loaded machine does not make the monitor think itself blind (it then waits a lease).
    monitor = startPlacementMonitor({ db: tdb.db, client: recordingClient, log, everyMs: 250, maxMoves: 0, leaseMs: 1000 });
  });

  after(async () => {
    await monitor?.stop();
    await Promise.allSettled(children.map((c) => c.stop(5000)));
    await tdb?.drop();
  });

  /** A lease holder for one new device whose session is placed on it. */
  async function leaseHolder(name: string, o: { leaseMs: number; renewMs: number; stallMs: number; blockMs: number; liveness?: boolean }) {
    // The earlier cases' collectors leave first: the new session is placed on this one alone.
    await Promise.allSettled(children.splice(0).map((c) => c.stop(5000)));
    const [{ id: deviceId }] = await tdb.db('devices').insert({ name, protocol: 'gnmi', host: '127.0.0.1', port: 1 }).returning('id');
    const child = spawnCaptured(name, 'test/support/lease-holder.ts', {
      ...process.env,
      // The thread's info lines are part of what is checked.
      LOG_LEVEL: 'info',
      DATABASE_URL: tdb.url,
      LEASE_COLLECTOR_ID: name,
      LEASE_MS: String(o.leaseMs),
      LEASE_RENEW_MS: String(o.renewMs),
      LEASE_STALL_MS: String(o.stallMs),
      LEASE_BLOCK_MS: String(o.blockMs),
      LEASE_DEVICES: String(deviceId),
      LEASE_LIVENESS: String(o.liveness ?? true),
    });
    children.push(child);
    await until(`${name} holding its lease`, () => child.output().includes('ready ') || !child.alive(), 60_000, 50);
    assert.ok(child.alive(), `${name} exited:\n${child.output()}`);
    const placed = await placeSession(tdb.db, deviceId);
    assert.equal(placed?.collectorId, name, 'the session is placed on the only live collector');
    return { child, deviceId: Number(deviceId) };
  }

  const renewals = async (collectorId: string, from: Date, to: Date): Promise<RenewalRow[]> =>
    (await tdb.db.raw(`SELECT at, lease_until_before, loop_p99_ms FROM lease_renewals WHERE collector_id = ? AND at BETWEEN ? AND ? ORDER BY at`, [collectorId, from, to])).rows;
  const dbNow = async (): Promise<Date> => (await tdb.db.raw(`SELECT clock_timestamp() AS t`)).rows[0].t;
  const liveness = async (collectorId: string): Promise<{ liveness_key: number | null; liveness_at: Date | null }> =>
    (await tdb.db.raw(`SELECT liveness_key, liveness_at FROM collectors WHERE id = ?`, [collectorId])).rows[0];
  /** The backends holding a collector's liveness lock and renewing its lease, as PostgreSQL lists them. */
  const backendsOf = async (collectorId: string): Promise<{ lock: number[]; renewal: number[] }> => {
    const { rows } = await tdb.db.raw(
      `SELECT (SELECT coalesce(array_agg(l.pid), '{}') FROM pg_locks l
                WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 AND l.classid = ?::oid AND l.objid = c.liveness_key::oid
                  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())) AS lock,
              (SELECT coalesce(array_agg(a.pid), '{}') FROM pg_stat_activity a WHERE a.pid = c.renewal_pid) AS renewal
         FROM collectors c WHERE c.id = ?`,
      [LIVENESS_LOCK, collectorId],
    );
    return { lock: rows[0].lock.map(Number), renewal: rows[0].renewal.map(Number) };
  };
  /** End these backends; whether each was ended, in order. */
  const terminate = async (pids: number[]): Promise<boolean[]> =>
    (await tdb.db.raw(`SELECT pg_terminate_backend(pid) AS ended FROM unnest(?::int[]) WITH ORDINALITY AS t(pid, n) ORDER BY n`, [pids])).rows.map((x: { ended: boolean }) => x.ended);
  /** A lease holder (below) once it holds its liveness lock, with the lock as its row first said so. */
  const leaseHolderWithLock = async (name: string, o: Parameters<typeof leaseHolder>[1]) => {
    const holder = await leaseHolder(name, o);
    await until('the liveness lock held', async () => (await liveness(name)).liveness_at !== null, 30_000, 50);
    return { ...holder, lockedAs: await liveness(name) };
  };
  /** When the collector's lease would have run out: its last renewal (as recorded) and the lease. */
  const leaseEnd = async (collectorId: string, leaseMs: number): Promise<number> => {
    const { rows } = await tdb.db.raw(`SELECT max(at) AS at FROM lease_renewals WHERE collector_id = ?`, [collectorId]);
    return new Date(rows[0].at).getTime() + leaseMs;
  };
  /** Kill a lease holder with SIGKILL; returns how long after the kill the monitor told its session, and whether that came before its lease ran out. */
  async function killAndWaitForFailover(child: CapturedChild, deviceId: number, collectorId: string, leaseMs: number) {
    const killedAt = await dbNow();
    await child.kill9();
    await until('the monitor telling the session its collector is lost', () => signalled.includes(deviceId), 60_000, 20);
    const toldAt = await dbNow();
    const end = await leaseEnd(collectorId, leaseMs);
    return { afterMs: toldAt.getTime() - killedAt.getTime(), beforeLeaseEndMs: end - toldAt.getTime() };
  }

  it('a main loop blocked for over twice the lease keeps it: renewed on time throughout, no session told to move', async () => {
    const leaseMs = 4000;
    const blockMs = 10_000;
    const { child, deviceId } = await leaseHolder('busy-collector', { leaseMs, renewMs: 500, stallMs: 30_000, blockMs });
    const from = await dbNow();
    child.child.kill('SIGUSR2');
    await until('the main loop blocked', () => child.output().includes('blocking'), 30_000, 20);
    await until('the main loop free again', () => child.output().includes('unblocked'), 60_000, 50);
    // The monitor ticks after the block too, over a whole lease: still nothing lost.
    const seen = Date.now();
    await until('a lease and more of monitoring after the block', async () => Date.now() - seen > leaseMs, 30_000, 100);
    const to = await dbNow();
    const rows = await renewals('busy-collector', from, to);
    const late = rows.filter((r) => r.at.getTime() > r.lease_until_before.getTime());
    const advertisedMs = Math.max(...rows.map((r) => r.loop_p99_ms ?? 0));
    console.log(
      `      main loop blocked ${blockMs / 1000} s: ${rows.length} renewals meanwhile and after (lease ${leaseMs / 1000} s), ${late.length} after a lapse; advertised event-loop p99 up to ${(advertisedMs / 1000).toFixed(1)} s`,
    );
    assert.ok(rows.length >= blockMs / leaseMs, `renewed ${rows.length} times while blocked for ${blockMs} ms`);
    assert.deepEqual(late, [], 'no renewal came after its lease had run out');
    assert.ok(!signalled.includes(deviceId), 'the monitor never told the session to move');
    // The thread advertises a late main loop as saturated, so placement puts new sessions elsewhere first.
    assert.ok(advertisedMs >= 2000, `advertised event-loop p99 ${advertisedMs} ms while the main loop was ${blockMs} ms late`);
  });

  it('a main loop silent past COLLECTOR_STALL_MS lets the lease lapse: its session fails over; renewals resume when it answers', async () => {
    const stallMs = 2000;
    const blockMs = 15_000;
    const { child, deviceId } = await leaseHolder('hung-collector', { leaseMs: 1500, renewMs: 250, stallMs, blockMs });
    child.child.kill('SIGUSR2');
    await until('the main loop blocked', () => child.output().includes('blocking'), 30_000, 20);
    const blockedAt = Date.now();
    await until('the monitor telling the session its collector is lost', () => signalled.includes(deviceId), 60_000, 50);
    const failedOverMs = Date.now() - blockedAt;
    const stillBlocked = !child.output().includes('unblocked');
    await until('the main loop free again', () => child.output().includes('unblocked'), 60_000, 50);
    await until('the thread saying why it stopped and that it renews again', () => child.output().includes('answers again'), 30_000, 50);
    const from = await dbNow();
    await until('a renewal after the stall', async () => (await renewals('hung-collector', from, await dbNow())).length > 0, 30_000, 100);
    console.log(`      main loop silent past the ${stallMs / 1000} s stall bound: session failed over ${(failedOverMs / 1000).toFixed(2)} s after the main loop stopped (lease 1.5 s)`);
    assert.ok(stillBlocked, 'the failover came while the main loop was still hung');
    assert.ok(failedOverMs >= stallMs, `failed over after ${failedOverMs} ms, before the stall bound`);
    assert.match(child.output(), /silent past COLLECTOR_STALL_MS/);
  });

  it('a collector killed with SIGKILL loses its liveness lock with its connection: its session fails over before its lease could run out (ADR 296)', async () => {
    const leaseMs = 10_000;
    const { child, deviceId } = await leaseHolderWithLock('killed-collector', { leaseMs, renewMs: 250, stallMs: 30_000, blockMs: 0 });
    const r = await killAndWaitForFailover(child, deviceId, 'killed-collector', leaseMs);
    console.log(
      `      kill -9 with the liveness lock: session told ${(r.afterMs / 1000).toFixed(2)} s after the kill, ${(r.beforeLeaseEndMs / 1000).toFixed(2)} s before its ${leaseMs / 1000} s lease would have run out`,
    );
    assert.ok(r.beforeLeaseEndMs > 0, `told ${r.beforeLeaseEndMs} ms before the lease's end: it waited for the lease`);
  });

  it('without the liveness lock a killed collector fails over only when its lease has run out', async () => {
    const leaseMs = 3000;
    const { child, deviceId } = await leaseHolder('killed-without-lock', { leaseMs, renewMs: 250, stallMs: 30_000, blockMs: 0, liveness: false });
    assert.equal((await liveness('killed-without-lock')).liveness_key, null, 'no liveness lock advertised');
    const r = await killAndWaitForFailover(child, deviceId, 'killed-without-lock', leaseMs);
    console.log(`      kill -9 without the liveness lock: session told ${(r.afterMs / 1000).toFixed(2)} s after the kill (lease ${leaseMs / 1000} s)`);
    assert.ok(r.beforeLeaseEndMs <= 0, `told ${r.beforeLeaseEndMs} ms before the lease's end`);
  });

  it('a collector whose liveness connection alone is cut keeps its lease, takes its lock again, and nothing moves', async () => {
    const leaseMs = 3000;
    const renewMs = 250;
    const { child, deviceId, lockedAs: before } = await leaseHolderWithLock('cut-collector', { leaseMs, renewMs, stallMs: 30_000, blockMs: 0 });
    assert.deepEqual(await terminate((await backendsOf('cut-collector')).lock), [true], 'the one backend holding the lock was ended');
    const cutAt = await dbNow();
    await until('the lock taken again', async () => ((await liveness('cut-collector')).liveness_at?.getTime() ?? 0) > before.liveness_at!.getTime(), 30_000, 50);
    // A lease's worth of renewals after the cut, the monitor ticking every 250 ms meanwhile.
    await until('a lease of renewals after the cut', async () => (await renewals('cut-collector', cutAt, await dbNow())).length >= leaseMs / renewMs, 60_000, 100);
    assert.ok(!signalled.includes(deviceId), 'the monitor never told the session to move');
    assert.match(child.output(), /liveness connection lost or refused/);
    assert.match(child.output(), /liveness lock held again/);
  });

  it('a collector killed seconds before its next renewal is told within a second: its lock and its renewal backend are gone (ADR 299)', async () => {
    const leaseMs = 20_000;
    const renewMs = 5000;
    const { child, deviceId } = await leaseHolderWithLock('killed-between-renewals', { leaseMs, renewMs, stallMs: 60_000, blockMs: 0 });
    // Kill just after a renewal: the missed-renewal rule (ADR 296) could not speak for renewMs + 0.5 s.
    const from = await dbNow();
    await until('a renewal', async () => (await renewals('killed-between-renewals', from, await dbNow())).length > 0, 30_000, 20);
    assert.equal((await backendsOf('killed-between-renewals')).renewal.length, 1, 'the backend the renewals go through is known');
    const r = await killAndWaitForFailover(child, deviceId, 'killed-between-renewals', leaseMs);
    console.log(`      kill -9 ${renewMs / 1000} s before the next renewal: session told ${(r.afterMs / 1000).toFixed(2)} s after the kill`);
    assert.ok(r.afterMs < renewMs, `told ${r.afterMs} ms after the kill: it waited for a missed renewal`);
    assert.ok(r.afterMs >= LIVENESS_CONFIRM_MS - 100, `told ${r.afterMs} ms after the kill, before the lock could have been missing for ${LIVENESS_CONFIRM_MS} ms`);
  });

  it('a collector whose every connection is cut takes its lock again before that counts: nothing moves (ADR 299)', async () => {
    const leaseMs = 20_000;
    const renewMs = 5000;
    const { child, deviceId, lockedAs: before } = await leaseHolderWithLock('all-cut-collector', { leaseMs, renewMs, stallMs: 60_000, blockMs: 0 });
    const b = await backendsOf('all-cut-collector');
    assert.equal(b.lock.length + b.renewal.length, 2, 'one backend holds the lock, one renews');
    const cutAt = await dbNow();
    assert.deepEqual(await terminate([...b.lock, ...b.renewal]), [true, true]);
    await until('the lock taken again', async () => ((await liveness('all-cut-collector')).liveness_at?.getTime() ?? 0) > before.liveness_at!.getTime(), 30_000, 20);
    const retakenAfterMs = (await liveness('all-cut-collector')).liveness_at!.getTime() - cutAt.getTime();
    // The renewal backend comes back only at the next renewal, seconds later; the monitor checks every 250 ms meanwhile.
    await until('a renewal after the cut', async () => (await renewals('all-cut-collector', cutAt, await dbNow())).length > 0, 30_000, 100);
    console.log(`      every connection cut: lock held again ${(retakenAfterMs / 1000).toFixed(3)} s after the cut; renewed again at the next renewal; nothing moved`);
    assert.ok(!signalled.includes(deviceId), 'the monitor never told the session to move');
    assert.ok(child.alive());
  });

  it('the statement: a missing lock is marked first; gone only after the confirm time with the renewal backend gone, or after a missed renewal (ADR 299)', async () => {
    const reg = newRegistration({ id: 'statement-collector', capacity: 10, leaseMs: 60_000 });
    await registerCollector(tdb.db, reg);
    const gone = async () => (await endLeasesOfGoneCollectors(tdb.db)).filter((g) => g.id === reg.id);
    const missingAt = async (): Promise<Date | null> => (await tdb.db.raw(`SELECT liveness_missing_at FROM collectors WHERE id = ?`, [reg.id])).rows[0].liveness_missing_at;
    const connect = async () => {
      const lock = new pg.Client({ connectionString: tdb.url });
      await lock.connect();
      // A renewal interval of a minute: the missed-renewal rule cannot speak here.
      assert.equal(await takeLivenessLock(lock, reg, 515151, 60_000), 'held');
      const renewer = createKnex(tdb.url, 1);
      await renewLease(renewer, reg, { sessions: 0 }, []);
      return { lock, renewer };
    };
    let c = await connect();
    assert.deepEqual(await gone(), [], 'held and renewing: not a candidate');
    assert.equal(await missingAt(), null);

    // The lock connection alone dropped: marked missing, but the renewal backend lives, so never gone.
    await c.lock.end();
    await until('the lock gone', async () => (await backendsOf(reg.id)).lock.length === 0, 10_000, 20);
    assert.deepEqual(await gone(), []);
    const marked = await missingAt();
    assert.ok(marked, 'the missing lock is marked');
    await until('past the confirm time', async () => (await dbNow()).getTime() - marked.getTime() > LIVENESS_CONFIRM_MS + 100, 10_000, 50);
    assert.deepEqual(await gone(), [], 'the renewal backend still lives: not gone');
    assert.equal((await missingAt())?.getTime(), marked.getTime(), 'the mark is kept, not moved on');
    await c.renewer.destroy();

    // Taken again: the old mark no longer counts. Then every connection closes.
    c = await connect();
    assert.deepEqual(await gone(), []);
    await Promise.all([c.lock.end(), c.renewer.destroy()]);
    await until(
      'the lock and the renewal backend gone',
      async () => {
        const b = await backendsOf(reg.id);
        return b.lock.length === 0 && b.renewal.length === 0;
      },
      10_000,
      20,
    );
    assert.deepEqual(await gone(), [], 'first seen missing now: marked, not yet gone');
    const remarked = await missingAt();
    assert.ok(remarked && remarked.getTime() > marked.getTime(), 'a fresh mark for the fresh loss');
    assert.deepEqual(await gone(), [], 'within the confirm time: not yet gone');
    await until('past the confirm time', async () => (await dbNow()).getTime() - remarked.getTime() > LIVENESS_CONFIRM_MS, 10_000, 50);
    const ended = await gone();
    assert.deepEqual(
      ended.map((g) => g.rule),
      ['connections-gone'],
    );
    const { rows } = await tdb.db.raw(`SELECT lease_until <= now() AS ended FROM collectors WHERE id = ?`, [reg.id]);
    assert.equal(rows[0].ended, true, 'its lease ended now');
    assert.deepEqual(await gone(), [], 'told once: an ended lease is no longer a candidate');

    // An older collector that never said which backend renews: only a missed renewal counts.
    await registerCollector(tdb.db, reg);
    c = await connect();
    await tdb.db.raw(`UPDATE collectors SET renewal_pid = NULL, liveness_renew_ms = 200 WHERE id = ?`, [reg.id]);
    await Promise.all([c.lock.end(), c.renewer.destroy()]);
    let late: Awaited<ReturnType<typeof gone>> = [];
    await until('gone by a missed renewal', async () => (late = await gone()).length > 0, 10_000, 50);
    assert.equal(late[0].rule, 'missed-renewal');
    assert.ok(late[0].renewedMsAgo >= 700, `gone ${late[0].renewedMsAgo} ms after its renewal, before it was late by 0.5 s`);
  });

  it('a collector registered again under its id holds no liveness lock until it takes its own; the old incarnation can no longer take one', async () => {
    const old = newRegistration({ id: 're-registered', capacity: 10, leaseMs: 3000 });
    await registerCollector(tdb.db, old);
    const first = new pg.Client({ connectionString: tdb.url });
    await first.connect();
    assert.equal(await takeLivenessLock(first, old, 424242, 1000), 'held');
    // The old process dies (its lock goes with its connection); a new one registers under the same id.
    await first.end();
    await registerCollector(tdb.db, { ...old, incarnation: 'newer' });
    assert.deepEqual(await liveness('re-registered'), { liveness_key: null, liveness_at: null }, "the dead incarnation's lock no longer speaks for the row");
    const second = new pg.Client({ connectionString: tdb.url });
    await second.connect();
    try {
      assert.equal(await takeLivenessLock(second, old, 424243, 1000), 'not-registered');
      const { rows } = await second.query(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()`);
      assert.equal(rows[0].n, 0, 'the lock taken for a row it does not own was given back');
      assert.equal(await takeLivenessLock(second, { ...old, incarnation: 'newer' }, 424243, 1000), 'held');
    } finally {
      await second.end();
    }
  });
});
