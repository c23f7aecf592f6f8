/**
 * The devices repository's fleet queries (storage/device-list.ts) on real PostgreSQL:
 * natural order from the ICU collation, filters AND-ed, counts per state without the
 * state condition, and the session-state mirror keeping states written after a listing
 * began (ADR 095).
 */
import assert from 'node:assert/strict';
import {
  databaseNow,
  deviceStateCounts,
  listDevices,
  recordSessionStates,
  refreshDeviceActivity,
  replaceSessionStates,
  selectFilteredDevices,
  siteSummaries,
} from '../../storage/device-list';
import { viewFromParams } from '../../core/device-filter';
import { createTestDatabase, type TestDatabase } from '../support/db';

describe('storage: device list and session-state mirror', () => {
  let tdb: TestDatabase;
  const ids: Record<string, number> = {};
  const view = (q = '') => viewFromParams(new URLSearchParams(q));

  before(async () => {
    tdb = await createTestDatabase('device_list');
    const rows = await tdb.db('devices')
      .insert(
        ['sw-10', 'sw-2', 'sw-1', 'SW-3', 'core-1'].map((name, i) => ({ name, protocol: i === 4 ? 'netconf' : 'gnmi', host: `10.0.${i}.1`, port: 57400, site: i < 3 ? 'hall-10' : 'hall-9', enabled: i !== 1 })),
      )
      .returning(['id', 'name']);
    for (const r of rows) ids[r.name] = r.id;
  });
  after(async () => tdb?.drop());

  it('sorts names and sites in natural order (sw-2 before sw-10), both directions, with the total', async () => {
    const { rows, total } = await listDevices(tdb.db, {}, view());
    assert.equal(total, 5);
    assert.deepEqual(
      rows.map((r) => r.name),
      ['core-1', 'sw-1', 'sw-2', 'SW-3', 'sw-10'],
    );
    const bySite = await listDevices(tdb.db, {}, view('sort=site&dir=desc'));
    assert.deepEqual(
      bySite.rows.map((r) => r.site),
      ['hall-10', 'hall-10', 'hall-10', 'hall-9', 'hall-9'],
    );
    const page2 = await listDevices(tdb.db, {}, view('size=25&page=2'));
    assert.deepEqual(page2, { rows: [], total: 5 });
  });

  it('filters by prefix (case-insensitive, LIKE characters taken literally), site, protocol, enabled and state', async () => {
    const names = async (f: Parameters<typeof listDevices>[1]) => (await listDevices(tdb.db, f, view())).rows.map((r) => r.name);
    assert.deepEqual(await names({ q: 'SW-' }), ['sw-1', 'sw-2', 'SW-3', 'sw-10']);
    assert.deepEqual(await names({ q: 'sw_' }), []);
    assert.deepEqual(await names({ q: '10.0.4' }), ['core-1']);
    assert.deepEqual(await names({ site: 'hall-9', protocol: 'gnmi' }), ['SW-3']);
    assert.deepEqual(await names({ enabled: 'no' }), ['sw-2']);
    assert.deepEqual(await names({ state: 'disabled' }), ['sw-2']);
    assert.deepEqual(await names({ state: 'not started' }), ['core-1', 'sw-1', 'SW-3', 'sw-10']);
  });

  it('mirrors states from a listing, keeps states recorded after the listing began, and counts per state', async () => {
    const listedAt = await databaseNow(tdb.db);
    // A page records an acknowledged pause while the listing (which still says streaming) is under way.
    await recordSessionStates(tdb.db, [{ deviceId: ids['sw-1'], state: 'paused' }]);
    await replaceSessionStates(
      tdb.db,
      [
        { deviceId: ids['sw-1'], state: 'streaming' },
        { deviceId: ids['sw-10'], state: 'backoff' },
        { deviceId: ids['sw-2'], state: 'disabled' },
        { deviceId: 999_999, state: 'streaming' }, // a workflow whose device is gone: ignored
      ],
      listedAt,
    );
    const states = Object.fromEntries((await listDevices(tdb.db, {}, view())).rows.map((r) => [r.name, [r.state, r.hasWorkflow]]));
    assert.deepEqual(states, {
      'core-1': ['not started', false],
      'sw-1': ['paused', true],
      'sw-2': ['disabled', true],
      'SW-3': ['not started', false],
      'sw-10': ['backoff', true],
    });
    // The strip's counts ignore the filter's own state condition.
    assert.deepEqual(await deviceStateCounts(tdb.db, { state: 'paused', site: 'hall-10' }), { paused: 1, disabled: 1, backoff: 1 });
    // The next listing without sw-10's workflow removes its row.
    await replaceSessionStates(tdb.db, [{ deviceId: ids['sw-1'], state: 'paused' }], await databaseNow(tdb.db));
    assert.deepEqual(
      (await selectFilteredDevices(tdb.db, { q: 'sw-1' })).map((d) => [d.name, d.state, d.hasWorkflow]),
      [
        ['sw-1', 'paused', true],
        ['sw-10', 'not started', false],
      ],
    );
  });
});

describe('storage: device traffic mirror and sorting by points/s and last seen', () => {
  let tdb: TestDatabase;
  const ids: Record<string, number> = {};
  const view = (q = '') => viewFromParams(new URLSearchParams(q));
  const names = async (q: string) => (await listDevices(tdb.db, {}, view(q))).rows.map((r) => r.name);
  /** A window ending 2 s ago (as every pass's does) that began `seconds` before now. */
  const since = async (seconds: number) => {
    const { rows } = await tdb.db.raw(`SELECT now() - make_interval(secs => ?) AS t`, [seconds]);
    return { from: rows[0].t as Date, to: rows[0].t as Date };
  };

  before(async () => {
    tdb = await createTestDatabase('device_activity');
    const rows = await tdb.db('devices')
      .insert(['rtr-10', 'rtr-2', 'rtr-1', 'rtr-3'].map((name, i) => ({ name, protocol: 'gnmi', host: `10.1.${i}.1`, port: 57400, site: i < 2 ? 'east' : 'west' })))
      .returning(['id', 'name']);
    for (const r of rows) ids[r.name] = r.id;
  });
  after(async () => tdb?.drop());

  it('counts each device’s samples of the window into points/s and last seen, zeroes devices gone quiet, keeps last seen', async () => {
    const series = await tdb.db('series')
      .insert([
        { device_id: ids['rtr-2'], path: '/a', kind: 'number' },
        { device_id: ids['rtr-2'], path: '/b', kind: 'number' },
        { device_id: ids['rtr-10'], path: '/a', kind: 'number' },
      ])
      .returning('id');
    // rtr-2: 4 points 20 s ago and 19 s ago; rtr-10: 1 point 20 s ago; rtr-1 and rtr-3: none.
    await tdb.db.raw(
      `INSERT INTO samples (time, series_id, value)
       SELECT now() - make_interval(secs => t), s, 1 FROM unnest(?::bigint[], ?::float8[]) AS u(s, t)`,
      [[series[0].id, series[1].id, series[0].id, series[1].id, series[2].id], [20, 20, 19, 19, 20]],
    );
    const window = await refreshDeviceActivity(tdb.db, await since(30));
    const seconds = (window.to.getTime() - window.from.getTime()) / 1000;
    assert.ok(seconds > 27 && seconds < 29, `window ${seconds} s`);
    const all = await listDevices(tdb.db, {}, view());
    const byName = Object.fromEntries(all.rows.map((r) => [r.name, r]));
    assert.ok(Math.abs(byName['rtr-2'].pointsPerSecond - 4 / seconds) < 1e-4);
    assert.ok(Math.abs(byName['rtr-10'].pointsPerSecond - 1 / seconds) < 1e-4);
    assert.equal(byName['rtr-1'].pointsPerSecond, 0);
    assert.equal(byName['rtr-1'].lastSeen, null);
    const newest2 = byName['rtr-2'].lastSeen!;
    assert.ok(Math.abs(Date.now() - 19_000 - newest2) < 5000, 'last seen is the newest sample’s time');
    assert.ok(newest2 > byName['rtr-10'].lastSeen!);
    // Sites sum their devices' points/s.
    const sites = Object.fromEntries((await siteSummaries(tdb.db)).map((s) => [s.site, s.pointsPerSecond]));
    assert.ok(Math.abs(sites.east - 5 / seconds) < 1e-4);
    assert.equal(sites.west, 0);

    // The next window holds no sample: both devices drop to 0 points/s and keep when they were last seen.
    const next = await refreshDeviceActivity(tdb.db, await since(10));
    assert.ok(next.to > window.to);
    const after = Object.fromEntries((await listDevices(tdb.db, {}, view())).rows.map((r) => [r.name, r]));
    assert.equal(after['rtr-2'].pointsPerSecond, 0);
    assert.equal(after['rtr-2'].lastSeen, newest2);
  });

  it('sorts by points/s and by last seen in both directions, ties in natural name order', async () => {
    await tdb.db.raw(`DELETE FROM device_activity`);
    // One clock reading: rtr-2 and rtr-3 must tie on last seen (two readings a millisecond apart broke the tie in CI).
    const now = Date.now();
    await tdb.db('device_activity').insert([
      { device_id: ids['rtr-10'], points_per_second: 5, last_seen: new Date(now - 1000) },
      { device_id: ids['rtr-2'], points_per_second: 5, last_seen: new Date(now - 60_000) },
      { device_id: ids['rtr-3'], points_per_second: 0.5, last_seen: new Date(now - 60_000) },
    ]);
    assert.deepEqual(await names('sort=points&dir=desc'), ['rtr-2', 'rtr-10', 'rtr-3', 'rtr-1']);
    assert.deepEqual(await names('sort=points'), ['rtr-1', 'rtr-3', 'rtr-2', 'rtr-10']);
    // Newest first, never seen last; oldest first puts never seen first.
    assert.deepEqual(await names('sort=seen&dir=desc'), ['rtr-10', 'rtr-2', 'rtr-3', 'rtr-1']);
    assert.deepEqual(await names('sort=seen'), ['rtr-1', 'rtr-2', 'rtr-3', 'rtr-10']);
    // Stable across pages: the same order cut in two.
    const [p1, p2] = [await names('sort=points&dir=desc&size=25'), await names('sort=points&dir=desc&size=25&page=2')];
    assert.deepEqual([...p1, ...p2], ['rtr-2', 'rtr-10', 'rtr-3', 'rtr-1']);
  });
});
