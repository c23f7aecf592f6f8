/**
 * The devices repository's fleet queries (storage/device-list.ts) on real PostgreSQL:
 * natural order from the ICU collation, filters AND-ed, counts per state without the
 * state condition, and the session-state mirror keeping states written after a listing
 * began (ADR 095).
 */
import assert from 'node:assert/strict';
import { databaseNow, deviceStateCounts, listDevices, recordSessionStates, replaceSessionStates, selectFilteredDevices } from '../../storage/device-list';
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
