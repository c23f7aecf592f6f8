/**
 * Hostile path filters (issue 9): SQL-injection strings and regular-expression
 * bombs handed to the query router (query/router.ts) as path patterns. Each is
 * refused with a clear error or treated as a literal that matches nothing —
 * within a second — and afterwards the tables are intact and an honest query
 * still answers. The router reaches PostgreSQL with parameters only; the
 * pattern becomes a regular expression the database evaluates, so regex
 * metacharacters must be escaped too.
 */
import assert from 'node:assert/strict';
import { querySeries } from '../../query/router';
import { createTestDatabase, type TestDatabase } from '../support/db';

const HOSTILE_PATTERNS = [
  `'; DROP TABLE samples; --`,
  `/interfaces/interface[name=' OR '1'='1]/state/counters/in-octets`,
  `/interfaces/interface[name=Ethernet1]/state/counters/in-octets' OR 1=1 --`,
  `/interfaces/interface[name=x'); DELETE FROM series; --]/state`,
  `/interfaces/interface[name=$$]/state/$$; DROP TABLE gaps; $$`,
  `/interfaces/interface[name=Ethernet1]/state/counters/in-octets\\'; SELECT pg_sleep(10); --`,
  `/interfaces/.*`,
  `/interfaces/interface[name=.*]/state/counters/in-octets`,
  `/interfaces/interface[name=(a+)+$]/state`,
  `/interfaces/(((((((((((a*)*)*)*)*)*)*)*)*)*)*)*`,
  `/${'a'.repeat(2000)}`,
  `/interfaces/interface[name=Ethernet1\u0000]/state`,
  `/interfaces/interface[name=Ethernet1]/state/counters/in-octets\n; DROP TABLE samples`,
];

describe('hostile path filters: SQL injection and regex strings in the query router', function () {
  this.timeout(60_000);
  let tdb: TestDatabase;
  let devices: number[];
  const now = Date.now();

  before(async () => {
    tdb = await createTestDatabase('hostile_query');
    devices = [];
    for (const name of ['victim-a', 'victim-b']) {
      const [row] = await tdb.db('devices').insert({ name, protocol: 'gnmi', host: '127.0.0.1', port: 1, settings: '{}' }).returning('id');
      devices.push(row.id);
    }
    for (const deviceId of devices) {
      for (const itf of ['Ethernet1', 'Ethernet2']) {
        const [s] = await tdb.db('series').insert({ device_id: deviceId, path: `/interfaces/interface[name=${itf}]/state/counters/in-octets`, kind: 'number' }).returning('id');
        await tdb.pool.query(
          `INSERT INTO samples (time, series_id, value) SELECT to_timestamp(($1::float8 - g * 1000) / 1000), $2, g FROM generate_series(1, 30) g`,
          [now, s.id],
        );
      }
    }
  });

  after(async () => {
    await tdb?.drop();
  });

  async function counts() {
    const { rows } = await tdb.pool.query<{ s: number; se: number; d: number }>(
      `SELECT (SELECT count(*) FROM samples)::int AS s, (SELECT count(*) FROM series)::int AS se, (SELECT count(*) FROM devices)::int AS d`,
    );
    return rows[0];
  }

  for (const pattern of HOSTILE_PATTERNS) {
    it(`${JSON.stringify(pattern.length > 80 ? pattern.slice(0, 60) + '…' : pattern)} → refused or matches nothing, within a second`, async () => {
      const before = await counts();
      const started = Date.now();
      let outcome: string;
      try {
        const res = await querySeries(tdb.pool, { deviceIds: devices, path: pattern, from: now - 3600_000, to: now, widthPx: 600 });
        // Accepted as a literal pattern: it must not select anything it does not literally name.
        assert.equal(res.series.length, 0, `matched ${res.series.map((s) => s.path).join(', ')}`);
        outcome = 'no match';
      } catch (err) {
        const msg = (err as Error).message;
        assert.ok(!/syntax error at or near|unterminated|invalid regular expression/i.test(msg) || /INVALID_PATH|pattern/i.test(msg), `a clear validation error, not a database error: ${msg}`);
        assert.match(msg, /INVALID_PATH|invalid|too long|expected|pattern|path/i, msg);
        outcome = 'refused';
      }
      const ms = Date.now() - started;
      assert.ok(ms < 1000, `answered within a second (${ms} ms, ${outcome})`);
      assert.deepEqual(await counts(), before, 'tables intact');
    });
  }

  it('an honest pattern still answers afterwards', async () => {
    const res = await querySeries(tdb.pool, { deviceIds: devices, path: '/interfaces/interface[name=*]/state/counters/in-octets', from: now - 3600_000, to: now, widthPx: 600 });
    assert.equal(res.series.length, 4);
  });
});
