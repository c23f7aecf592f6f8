/**
 * The rule editor's 24 h preview of absence and session rules (query/alert-preview.ts) on real
 * PostgreSQL:
 *  - absence: a day of 1-minute CPU samples on two devices, one with a 30-minute hole, rolled up
 *    as the maintenance run does; "silent 10 min, every minute" fires 10 minutes into the hole
 *    (value: the silence, 600 s) and resolves at the first minute with samples again, through one
 *    fleet query counting samples per device and step; the steady device never leaves inactive;
 *  - session: the session-state mirror (device_session_state) written as the mirror writes it —
 *    rows inserted, states changed with their `updated_at` — is recorded by the migration's
 *    trigger (device_session_state_changes, also a deleted row as "no state"); "auth-failed or
 *    backoff longer than 15 min" fires for the device parked in auth-failed at the first
 *    evaluation after it, for the one in backoff only once 15 minutes have passed, and both
 *    resolve as no longer reported when they stream again; a device only ever streaming is quiet.
 */
import assert from 'node:assert/strict';
import { previewAlertRule } from '../../query/alert-preview';
import { runMaintenance } from '../../storage/storage-mode';
import { createTestDatabase, type TestDatabase } from '../support/db';

const MIN = 60_000;
const HOUR = 60 * MIN;
/** The preview's end: a whole minute, so steps and samples line up as written below. */
const NOW = Math.floor(Date.now() / MIN) * MIN - 2 * MIN;
const CPU = '/system/cpu/state/utilization';
/** Minutes before NOW of the steps without samples on pk-gappy. */
const HOLE = { from: 300, to: 271 };
/** Evaluation time of the step starting `k` minutes before NOW (its end). */
const evalAt = (k: number) => NOW - k * MIN + MIN;

describe('alert rule preview of absence and session rules over 24 h', function () {
  this.timeout(120_000);
  let tdb: TestDatabase;
  const ids: Record<string, number> = {};

  before(async () => {
    tdb = await createTestDatabase('alert_preview_kinds');
    const rows: Array<{ s: number; t: number }> = [];
    for (const name of ['pk-steady', 'pk-gappy', 'sx-auth', 'sx-backoff', 'sx-fine']) {
      const [dev] = await tdb.db('devices').insert({ name, protocol: 'gnmi', host: '127.0.0.1', port: 1, site: 'lab' }).returning('id');
      ids[name] = dev.id;
      if (!name.startsWith('pk-')) continue;
      const [series] = await tdb.db('series').insert({ device_id: dev.id, path: CPU, kind: 'number' }).returning('id');
      for (let k = 1445; k >= 1; k--) {
        if (name === 'pk-gappy' && k <= HOLE.from && k >= HOLE.to) continue;
        rows.push({ s: Number(series.id), t: NOW - k * MIN + 30_000 });
      }
    }
    await tdb.pool.query(
      `INSERT INTO samples (time, series_id, value) SELECT to_timestamp(t / 1000), s, 50 FROM unnest($1::float8[], $2::bigint[]) AS u(t, s)`,
      [rows.map((r) => r.t), rows.map((r) => r.s)],
    );
    await runMaintenance(tdb.db, { retentionDays: 30, rollupRetentionDays: 400, partitionsAheadDays: 2, lateSpanPerRunMs: 48 * 3_600_000 });

    // The mirror as its writers write it: a row per device, a state change with its own updated_at.
    const at = (ms: number) => new Date(ms);
    const set = (name: string, state: string, t: number) =>
      tdb.db.raw(
        `INSERT INTO device_session_state (device_id, state, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (device_id) DO UPDATE SET state = EXCLUDED.state, updated_at = EXCLUDED.updated_at`,
        [ids[name], state, at(t)],
      );
    for (const name of ['sx-auth', 'sx-backoff', 'sx-fine']) await set(name, 'streaming', NOW - 30 * HOUR);
    await set('sx-auth', 'auth-failed', NOW - 10 * HOUR + 20_000);
    await set('sx-auth', 'streaming', NOW - 9 * HOUR + 20_000);
    await set('sx-backoff', 'backoff', NOW - 5 * HOUR + 20_000);
    await set('sx-backoff', 'streaming', NOW - 4 * HOUR + 20_000);
  });
  after(async () => tdb?.drop());

  it('absence: fires silentMs into the hole, resolves at the first step with samples; one fleet query of sample counts', async () => {
    const p = await previewAlertRule(tdb.pool, { spec: { kind: 'absence', path: CPU, silentMs: 10 * MIN }, forMs: 0, intervalMs: MIN }, { now: NOW });
    assert.equal(p.kind, 'absence');
    assert.equal(p.stepMs, MIN);
    assert.equal(p.steps, 1440);
    assert.equal(p.coarser, undefined);
    assert.equal(p.caveat, undefined, '10 min is a whole number of 1-minute steps');
    assert.equal(p.seriesCount, 2);
    assert.deepEqual(
      p.instances.map((i) => i.key),
      ['pk-gappy'],
    );
    // The newest sample before the hole is in the step ending 300 min before NOW: silent 10 min at the end of step k = 291.
    assert.deepEqual(
      p.instances[0].events.map((e) => [e.to, e.at, e.value]),
      [
        ['firing', evalAt(291), 600],
        ['resolved', evalAt(HOLE.to - 1), 0],
      ],
    );
    assert.equal(p.notifications, 2);
    assert.equal(p.quietInstances, 1, 'pk-steady never went silent');
    assert.deepEqual(p, await previewAlertRule(tdb.pool, { spec: { kind: 'absence', path: CPU, silentMs: 10 * MIN }, forMs: 0, intervalMs: MIN }, { now: NOW, chunkSteps: Number.POSITIVE_INFINITY }), 'read in parts or at once: the same');

    const withFor = await previewAlertRule(tdb.pool, { spec: { kind: 'absence', path: CPU, silentMs: 25 * MIN }, forMs: 10 * MIN, intervalMs: MIN }, { now: NOW });
    assert.deepEqual(
      withFor.instances[0].events.map((e) => [e.to, e.at]),
      [
        ['pending', evalAt(276)],
        ['cleared', evalAt(HOLE.to - 1)],
      ],
      'a 30-minute hole is silent 25 min for only 6 minutes: pending, cleared before the 10 min of for',
    );
    assert.equal(withFor.notifications, 0);
  });

  it('the trigger records every change of the mirror, a deleted row as no state', async () => {
    const { rows } = await tdb.pool.query<{ name: string; state: string | null }>(
      `SELECT d.name, c.state FROM device_session_state_changes c JOIN devices d ON d.id = c.device_id WHERE d.name = 'sx-auth' ORDER BY c.at`,
    );
    assert.deepEqual(
      rows.map((r) => r.state),
      ['streaming', 'auth-failed', 'streaming'],
    );
    await tdb.db('device_session_state').where({ device_id: ids['sx-fine'] }).delete();
    const { rows: gone } = await tdb.pool.query<{ state: string | null }>(`SELECT state FROM device_session_state_changes WHERE device_id = $1 ORDER BY at`, [ids['sx-fine']]);
    assert.deepEqual(
      gone.map((r) => r.state),
      ['streaming', null],
    );
  });

  it('session: auth-failed fires at the next evaluation, backoff only past its bound; both resolve once streaming', async () => {
    const p = await previewAlertRule(
      tdb.pool,
      { spec: { kind: 'session', states: ['auth-failed', 'backoff'], backoffLongerThanMs: 15 * MIN }, forMs: 0, intervalMs: MIN },
      { now: NOW },
    );
    assert.equal(p.kind, 'session');
    assert.equal(p.steps, 1440);
    assert.equal(p.stepMs, MIN);
    assert.equal(p.caveat, undefined, 'the record reaches back past the range');
    const story = (key: string) => p.instances.find((i) => i.key === key)?.events.map((e) => [e.to, e.at, e.value]);
    assert.deepEqual(story('sx-auth'), [
      ['firing', NOW - 10 * HOUR + MIN, 40],
      ['resolved', NOW - 9 * HOUR + MIN, 3580],
    ]);
    // A resolution carries the last value seen firing (as in the workflow). In backoff since 20 s past the hour: longer than 15 min first at 16 minutes past.
    assert.deepEqual(story('sx-backoff'), [
      ['firing', NOW - 5 * HOUR + 16 * MIN, 940],
      ['resolved', NOW - 4 * HOUR + MIN, 3580],
    ]);
    assert.equal(p.notifications, 4);
    assert.equal(p.quietInstances, 1, 'sx-fine only ever streamed');
  });
});
