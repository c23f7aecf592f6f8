/**
 * POST /api/query (issue 17) called in-process against a test database: the fleet query
 * model over JSON, its errors (401, 405, 415, 400 naming the field, 422 naming what to
 * change) and an answer that matches the query layer's for the same query; and
 * `ctl query` (scripts/ctl-query.ts) on the same data, as a table and as JSON.
 */
import assert from 'node:assert/strict';
import { ctx, resetContext } from '../../web/app/lib/context.server';
import { queryFleet } from '../../query/fleet-query';
import { runQueryCommand } from '../../scripts/ctl-query';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { TEST_SECRETS_KEY } from '../support/system';
import { TEST_ORIGIN, call, cookieFrom, createTestUser, routeRequest } from '../../testkit/web-auth';
import { overrideEnv } from '../../testkit/process-env';

const ENV = { WEB_QUERY_MAX_POINTS: '20000', TEMPORAL_ADDRESS: '127.0.0.1:1' };
const IN = (d: string) => `/interfaces/interface[name=${d}]/state/counters/in-octets`;
const NOW = Math.floor(Date.now() / 60_000) * 60_000;

describe('web: POST /api/query (fleet queries)', function () {
  this.timeout(60_000);
  let tdb: TestDatabase;
  let restoreEnv: (() => void) | undefined;
  let api: typeof import('../../web/app/routes/api.query');
  let cookie: string;

  const post = (body: unknown, opts: { type?: string; raw?: string; cookie?: string | null } = {}) =>
    call(
      api.action,
      new Request(`${TEST_ORIGIN}/api/query`, {
        method: 'POST',
        headers: { 'content-type': opts.type ?? 'application/json', ...(opts.cookie === null ? {} : { cookie: opts.cookie ?? cookie }) },
        body: opts.raw ?? JSON.stringify(body),
      }),
    );

  before(async () => {
    tdb = await createTestDatabase('web_query_api');
    restoreEnv = overrideEnv({ ...ENV, DATABASE_URL: tdb.url, SECRETS_KEY: TEST_SECRETS_KEY, SESSION_SECRET: 'web-query-api-test-secret' });
    await resetContext();
    api = await import('../../web/app/routes/api.query');
    const login = await import('../../web/app/routes/login');
    const user = await createTestUser(tdb.db, 'viewer');
    const res = await call(login.action, routeRequest('/login', { form: { email: user.email, password: user.password } }), {}, { clientAddress: 'query-api' });
    cookie = cookieFrom(new Response(null, { headers: res.headers }));
    for (const [name, site] of [
      ['qa-sw1', 'ams'],
      ['qa-sw2', 'fra'],
    ]) {
      const [d] = await tdb.db('devices').insert({ name, site, protocol: 'gnmi', host: '127.0.0.1', port: 1 }).returning('id');
      for (const itf of ['Ethernet1', 'Ethernet2']) {
        const [s] = await tdb.db('series').insert({ device_id: d.id, path: IN(itf), kind: 'number' }).returning('id');
        // 30 min of 10 s samples, 1 kB/s per series.
        await tdb.pool.query(`INSERT INTO samples (time, series_id, value) SELECT to_timestamp(($1::float8 - g * 10000) / 1000), $2, (180 - g) * 10000 FROM generate_series(0, 180) g`, [NOW, s.id]);
      }
    }
  });

  after(async () => {
    await resetContext();
    restoreEnv?.();
    await tdb?.drop();
  });

  it('answers a per-site total of rates as the query layer computes it', async () => {
    const q = { path: IN('*'), from: NOW - 20 * 60_000, to: NOW - 60_000, widthPx: 200, rate: true, agg: 'sum', groupBy: 'site' };
    const res = await post(q);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const body = res.body as Awaited<ReturnType<typeof queryFleet>>;
    assert.deepEqual(
      body.groups.map((g) => [g.key, g.series]),
      [
        ['ams', 2],
        ['fra', 2],
      ],
    );
    assert.deepEqual(body, await queryFleet(ctx().pool, q as never));
    const values = body.groups.flatMap((g) => g.points.map((p) => p.v));
    assert.ok(values.length > 100 && values.every((v) => v !== null && Math.abs(v - 2000) < 1e-6), `2 kB/s per site: ${values.slice(0, 5)}`);
  });

  it('says what is wrong: signed out, wrong method or type, bad JSON, bad fields, over budget', async () => {
    assert.equal((await post({}, { cookie: null })).status, 401);
    assert.equal((await call(api.loader, routeRequest('/api/query', { cookie }))).status, 405);
    const form = await post(null, { type: 'application/x-www-form-urlencoded', raw: 'path=/a' });
    assert.equal(form.status, 415);
    const badJson = await post(null, { raw: '{"path": ' });
    assert.equal(badJson.status, 400);
    assert.match((badJson.body as { error: string }).error, /invalid JSON/);
    const bad = await post({ path: IN('*'), from: NOW - 60_000, to: NOW, agg: 'median', groupBy: 'interface' });
    assert.equal(bad.status, 400);
    assert.match((bad.body as { error: string }).error, /agg: .*groupBy: /s);
    const badPath = await post({ path: 'interfaces[', from: NOW - 60_000, to: NOW });
    assert.equal(badPath.status, 400);
    assert.match((badPath.body as { error: string }).error, /^path: INVALID_PATH/);
    // 4 series × 2 h of raw samples at 1 per second assumed = 28 800 points > 20 000.
    const big = await post({ path: IN('*'), from: NOW - 2 * 3_600_000, to: NOW, widthPx: 4000 });
    assert.equal(big.status, 422);
    assert.match((big.body as { error: string }).error, /limit is 20,000.*Ask for a range of at most 1 h 23 min/);
    const forced = await post({ path: IN('*'), from: NOW - 60_000, to: NOW, resolution: 'raw' });
    assert.equal(forced.status, 400);
  });

  it('ctl query prints one row per group, or the answer as JSON; bad arguments exit 2 with usage', async () => {
    const run = async (argv: string[]) => {
      const out: string[] = [];
      const err: string[] = [];
      const code = await runQueryCommand(ctx().pool, argv, (s) => out.push(s), (s) => err.push(s));
      return { code, out: out.join('\n'), err: err.join('\n') };
    };
    const to = String(NOW - 60_000);
    const table = await run([IN('*'), '--rate', '--by', 'device', '--from', String(NOW - 20 * 60_000), '--to', to, '--width', '200']);
    assert.equal(table.code, 0, table.err);
    const lines = table.out.split('\n');
    assert.match(lines[0], /^DEVICE\s+SERIES\s+MEAN\s+MIN\s+MAX\s+NEWEST$/);
    assert.match(lines[1], /^qa-sw1\s+2\s+2000\s+2000\s+2000\s+2000$/);
    assert.match(lines[2], /^qa-sw2\s+2\s+2000/);
    assert.match(lines[3], /^sum of per-second rates over 4 series, raw data in 6 s steps$/);
    const top = await run([IN('*'), '--rate', '--by', 'series', '--top', '1', '--last', '30m', '--json']);
    assert.equal(top.code, 0, top.err);
    const parsed = JSON.parse(top.out) as { groups: unknown[]; groupCount: number };
    assert.equal(parsed.groups.length, 1);
    assert.equal(parsed.groupCount, 4);
    const usage = await run([IN('*'), '--agg', 'median']);
    assert.equal(usage.code, 2);
    assert.match(usage.err, /agg: .*Usage: npm run ctl -- query/s);
    assert.equal((await run(['/nothing/here'])).code, 3);
  });
});
