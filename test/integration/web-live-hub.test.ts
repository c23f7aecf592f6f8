/**
 * The SSE live hub against PostgreSQL: one doorbell fans out to every
 * subscriber of a series; a reconnect from the Last-Event-ID receives exactly
 * what was missed; a client that stops reading is cut off at a bound instead
 * of being buffered forever.
 */
import assert from 'node:assert/strict';
import { SAMPLES_CHANNEL } from '../../core/names';
import { LiveHub, type LivePoint } from '../../web/app/lib/live-hub.server';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { TEST_SECRETS_KEY } from '../support/system';
import { createTestUser, routeRequest, cookieFrom } from '../../testkit/web-auth';
import { resetContext, ctx } from '../../web/app/lib/context.server';
import { until } from '../../testkit/until';

describe('web: live hub and /api/live', function () {
  this.timeout(60_000);
  let tdb: TestDatabase;
  let hub: LiveHub;
  let s1: number;
  let s2: number;

  async function ring(seriesId: number, times: number[], base = 100) {
    for (const t of times) await tdb.pool.query('INSERT INTO samples (time, series_id, value) VALUES (to_timestamp($1::float8 / 1000), $2, $3)', [t, seriesId, base + t / 1000]);
    await tdb.pool.query(`SELECT pg_notify($1, $2)`, [SAMPLES_CHANNEL, String(seriesId)]);
  }

  before(async () => {
    tdb = await createTestDatabase('web_live');
    const [d] = await tdb.db('devices').insert({ name: 'hub-dev', protocol: 'gnmi', host: '127.0.0.1', port: 1, settings: '{}' }).returning('id');
    [s1, s2] = (await tdb.db('series').insert([
      { device_id: d.id, path: '/a', kind: 'number' },
      { device_id: d.id, path: '/b', kind: 'number' },
    ]).returning('id')).map((r: { id: number }) => r.id);
    hub = new LiveHub({ pool: tdb.pool, connectionString: tdb.url });
  });

  after(async () => {
    await hub?.close();
    await resetContext();
    await tdb?.drop();
  });

  it('fans one doorbell out to every subscriber of the series, each only its own series', async () => {
    const t0 = Date.now();
    const got: Record<string, LivePoint[]> = { a: [], b: [], c: [] };
    const subs = await Promise.all([
      hub.subscribe({ seriesIds: [s1], since: t0, deliver: (p) => (got.a.push(...p), true) }),
      hub.subscribe({ seriesIds: [s1, s2], since: t0, deliver: (p) => (got.b.push(...p), true) }),
      hub.subscribe({ seriesIds: [s2], since: t0, deliver: (p) => (got.c.push(...p), true) }),
    ]);
    const before = hub.doorbells;
    await ring(s1, [t0 + 1000, t0 + 2000]);
    await ring(s2, [t0 + 1500]);
    // The subscribers' own backfill reads may already deliver the points before the
    // doorbells arrive; wait for both the points and the two notifications.
    await until('every subscriber\'s points and both doorbells', () => got.a.length >= 2 && got.b.length >= 3 && got.c.length >= 1 && hub.doorbells >= before + 2);
    assert.ok(hub.doorbells >= before + 2, `doorbells heard: ${hub.doorbells - before}`);
    assert.deepEqual(got.a.map((p) => p.t), [t0 + 1000, t0 + 2000]);
    assert.deepEqual(got.b.map((p) => [p.s, p.t]).sort((x, y) => x[1] - y[1]), [[s1, t0 + 1000], [s2, t0 + 1500], [s1, t0 + 2000]]);
    assert.deepEqual(got.c.map((p) => p.t), [t0 + 1500]);
    subs.forEach((u) => u());
    assert.equal(hub.size, 0);
  });

  it('a quiet series does not hold the shared read back: past the row limit each series is read from its own cursor until caught up', async () => {
    const small = new LiveHub({ pool: tdb.pool, connectionString: tdb.url, maxRows: 100 });
    // Series of its own: its 240 points must not show in the other tests' reads.
    const { id: device } = await tdb.db('devices').first('id');
    const [quiet, busy] = (await tdb.db('series').insert([
      { device_id: device, path: '/quiet', kind: 'number' },
      { device_id: device, path: '/busy', kind: 'number' },
    ]).returning('id')).map((r: { id: number }) => r.id);
    try {
      const t0 = Date.now() + 60_000;
      const got: LivePoint[] = [];
      // One series stays quiet (its cursor stays at t0); the other gets 240 points at once.
      const reads = small.sharedReads;
      const unsub = await small.subscribe({ seriesIds: [quiet, busy], since: t0, deliver: (p) => (got.push(...p), true) });
      // Its backfill done, a subscriber joins the shared read, which then reads for it once.
      await until('the subscriber in the shared read', () => small.sharedReads > reads);
      await tdb.pool.query(
        `INSERT INTO samples (time, series_id, value) SELECT to_timestamp(($1::float8 + i * 1000) / 1000), $2, i FROM generate_series(1, 240) AS i`,
        [t0, busy],
      );
      await tdb.pool.query(`SELECT pg_notify($1, $2)`, [SAMPLES_CHANNEL, String(busy)]);
      await until('all 240 points delivered', () => got.length >= 240, 20_000);
      unsub();
      assert.deepEqual(got.map((p) => p.t), Array.from({ length: 240 }, (_, i) => t0 + (i + 1) * 1000), 'every point once, in order');
      assert.ok(small.truncatedReads >= 1, 'the read hit the row limit and was read per series');
    } finally {
      await small.close();
    }
  });

  it('a reconnect from the last event id gets exactly the points it missed, none twice', async () => {
    const t0 = Date.now() + 10_000;
    const first: LivePoint[] = [];
    let lastId = 0;
    const unsub = await hub.subscribe({ seriesIds: [s1, s2], since: t0, deliver: (p, resume) => (first.push(...p), (lastId = resume), true) });
    await ring(s1, [t0 + 1000]);
    await ring(s2, [t0 + 1000]);
    await until('both points before the break', () => first.length >= 2);
    unsub(); // the connection breaks
    await ring(s1, [t0 + 2000, t0 + 3000]); // stored while disconnected
    await ring(s2, [t0 + 2500]);
    const second: LivePoint[] = [];
    const unsub2 = await hub.subscribe({ seriesIds: [s1, s2], since: lastId, deliver: (p) => (second.push(...p), true) });
    await until('the three missed points after the reconnect', () => second.length >= 3);
    unsub2();
    const key = (p: LivePoint) => `${p.s}@${p.t}`;
    assert.deepEqual(first.map(key).sort(), [`${s1}@${t0 + 1000}`, `${s2}@${t0 + 1000}`].sort());
    assert.deepEqual(second.map(key).sort(), [`${s1}@${t0 + 2000}`, `${s1}@${t0 + 3000}`, `${s2}@${t0 + 2500}`].sort());
  });

  it('/api/live requires a session, streams events with resume ids, and cuts off a client that stops reading', async () => {
    process.env.DATABASE_URL = tdb.url;
    process.env.SECRETS_KEY = TEST_SECRETS_KEY;
    process.env.SESSION_SECRET = 'web-live-test-session-secret';
    await resetContext();
    const { loader, liveLimits } = await import('../../web/app/routes/api.live');
    const login = await import('../../web/app/routes/login');
    const user = await createTestUser(tdb.db, 'viewer');
    const res = (await login.action({ request: routeRequest('/login', { form: { email: user.email, password: user.password } }), params: {}, context: {} } as never)) as Response;
    const cookie = cookieFrom(res);
    const t0 = Date.now() + 100_000;

    // A reading client gets `id:` (resume point) and `data:` lines.
    const joined = ctx().hub.size;
    const ok = (await loader({ request: routeRequest(`/api/live?series=${s1}&since=${t0}`, { cookie }), params: {}, context: {} } as never)) as Response;
    assert.equal(ok.status, 200);
    const reader = ok.body!.getReader();
    // Subscribed (the hub listens before it counts a subscriber): only then is the doorbell heard.
    await until('the client to join the hub', () => ctx().hub.size > joined);
    await ring(s1, [t0 + 1000]);
    let text = '';
    while (!text.includes('data: ')) text += new TextDecoder().decode((await reader.read()).value);
    assert.match(text, new RegExp(`id: ${t0 + 1000}\\ndata: `));
    await reader.cancel();

    // A client that never reads: its backlog passes the bound and it is dropped from the hub.
    const saved = liveLimits.maxBacklogBytes;
    liveLimits.maxBacklogBytes = 2000;
    try {
      const hubSize = ctx().hub.size;
      const slow = (await loader({ request: routeRequest(`/api/live?series=${s1}&since=${t0 + 1000}`, { cookie }), params: {}, context: {} } as never)) as Response;
      assert.equal(slow.status, 200);
      await until('the slow client to join the hub', () => ctx().hub.size === hubSize + 1);
      for (let round = 0; round < 40 && ctx().hub.size > hubSize; round++) {
        const heard = ctx().hub.doorbells;
        await ring(s1, Array.from({ length: 20 }, (_, i) => t0 + 2000 + round * 100 + i + 1));
        await until('the doorbell heard', () => ctx().hub.doorbells > heard);
      }
      // The last round's points may still be on their way to the client when the loop ends.
      await until('the slow client cut off', () => ctx().hub.size === hubSize);
      assert.equal(ctx().hub.size, hubSize, 'the slow client was cut off');
      await slow.body?.cancel().catch(() => undefined);
    } finally {
      liveLimits.maxBacklogBytes = saved;
    }
  });
});
