/**
 * Issue 14, web items, in-process against a real PostgreSQL: redirect targets,
 * sign-in throttling and scrypt rehash, first-admin setup under concurrency,
 * password changes ending other sessions, live-stream replay window and caps,
 * the live hub apart from the page pool, query budgets, /healthz detail and
 * flash messages. (Body limits and the same checks over HTTP are in
 * hostile-web.test.ts.)
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import type pg from 'pg';
import { SAMPLES_CHANNEL } from '../../core/names';
import { safeRedirect } from '../../web/app/lib/auth.server';
import { ctx, resetContext } from '../../web/app/lib/context.server';
import { LiveHub, type LivePoint } from '../../web/app/lib/live-hub.server';
import { layoutData } from '../../web/app/lib/flash.server';
import { SCRYPT_COST } from '../../core/password';
import { overBudget } from '../../web/app/lib/query-budget';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { TEST_SECRETS_KEY } from '../support/system';
import { call, cookieFrom, createTestUser, routeRequest } from '../../testkit/web-auth';
import { until as waitUntil } from '../../testkit/until';
import { overrideEnv } from '../../testkit/process-env';

const ENV = {
  WEB_SIGNIN_FREE_FAILURES: '2',
  WEB_SIGNIN_CLIENT_FAILURES: '6',
  WEB_LIVE_STREAMS_PER_USER: '2',
  WEB_LIVE_STREAMS_TOTAL: '3',
  WEB_QUERIES_PER_USER: '1',
  WEB_STATEMENT_TIMEOUT_MS: '2500',
  TEMPORAL_ADDRESS: '127.0.0.1:1', // no Temporal: device saves warn
};

/** Read an SSE Response until `until` holds or `ms` pass. */
async function readStream(res: Response, ms: number, until: (text: string) => boolean): Promise<string> {
  const reader = res.body!.getReader();
  let text = '';
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && !until(text)) {
    const chunk = await Promise.race([reader.read(), new Promise<undefined>((r) => setTimeout(() => r(undefined), Math.max(1, deadline - Date.now())))]);
    if (!chunk || chunk.done) break;
    text += new TextDecoder().decode(chunk.value);
  }
  await reader.cancel().catch(() => undefined);
  return text;
}

const pointsOf = (text: string): LivePoint[] =>
  text
    .split('\n')
    .filter((l) => l.startsWith('data: '))
    .flatMap((l) => (JSON.parse(l.slice(6)) as { points: LivePoint[] }).points);

describe('web hardening (issue 14)', function () {
  this.timeout(120_000);
  let tdb: TestDatabase;
  let restoreEnv: (() => void) | undefined;
  let routes: {
    login: typeof import('../../web/app/routes/login');
    setup: typeof import('../../web/app/routes/setup');
    users: typeof import('../../web/app/routes/users');
    apiLive: typeof import('../../web/app/routes/api.live');
    apiSeries: typeof import('../../web/app/routes/api.series');
    healthz: typeof import('../../web/app/routes/healthz');
    deviceEdit: typeof import('../../web/app/routes/device-edit');
    device: typeof import('../../web/app/routes/device');
  };
  let seriesId: number;

  const signIn = async (email: string, password: string, client = 'test-client', cookie?: string) => {
    const res = await call(routes.login.action, routeRequest('/login', { form: { email, password }, cookie }), {}, { clientAddress: client });
    return res;
  };
  const sessionCookie = (res: { headers: Headers }) => cookieFrom(new Response(null, { headers: res.headers }));
  const knownCookie = (res: { headers: Headers }) =>
    res.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .find((c) => c.startsWith('st_known='))!;

  before(async () => {
    tdb = await createTestDatabase('web_hardening');
    restoreEnv = overrideEnv({ ...ENV, DATABASE_URL: tdb.url, SECRETS_KEY: TEST_SECRETS_KEY, SESSION_SECRET: 'web-hardening-test-session-secret' });
    await resetContext();
    routes = {
      login: await import('../../web/app/routes/login'),
      setup: await import('../../web/app/routes/setup'),
      users: await import('../../web/app/routes/users'),
      apiLive: await import('../../web/app/routes/api.live'),
      apiSeries: await import('../../web/app/routes/api.series'),
      healthz: await import('../../web/app/routes/healthz'),
      deviceEdit: await import('../../web/app/routes/device-edit'),
      device: await import('../../web/app/routes/device'),
    };
    const [d] = await tdb.db('devices').insert({ name: 'hardening-dev', protocol: 'gnmi', host: '127.0.0.1', port: 1, settings: '{}' }).returning('id');
    const [s] = await tdb.db('series').insert({ device_id: d.id, path: '/a', kind: 'number' }).returning('id');
    seriesId = s.id;
  });

  after(async () => {
    await resetContext();
    restoreEnv?.();
    await tdb?.drop();
  });

  it('first-admin setup: four concurrent posts create exactly one admin; then /setup is 404 for everyone', async () => {
    const posts = await Promise.all(
      [1, 2, 3, 4].map((i) => call(routes.setup.action, routeRequest('/setup', { form: { email: `first-${i}@example.test`, password: 'first-admin-pw', confirm: 'first-admin-pw' } }))),
    );
    const statuses = posts.map((p) => p.status).sort();
    assert.deepEqual(statuses, [302, 404, 404, 404], `statuses: ${statuses}`);
    assert.equal((await tdb.db('users').where({ role: 'admin' })).length, 1, 'one admin');
    assert.equal((await call(routes.setup.loader, routeRequest('/setup'))).status, 404);
    const admin = posts.find((p) => p.status === 302)!;
    assert.equal((await call(routes.setup.loader, routeRequest('/setup', { cookie: sessionCookie(admin) }))).status, 404, 'gone for the admin too');
  });

  it('redirect targets: only same-origin paths survive, decided by parsing', () => {
    const bad = ['/\t/evil.example', '/\\evil.example', '\\\\evil.example', '/\r\n//evil.example', '/\u0000/evil', '//evil.example', 'https://evil.example', 'javascript:alert(1)', ' /x', '/x\u007f', ''];
    for (const to of bad) assert.equal(safeRedirect(to, '/home'), '/home', JSON.stringify(to));
    assert.equal(safeRedirect('/devices?x=1#y', '/home'), '/devices?x=1#y');
    assert.equal(safeRedirect('/a/../b', '/home'), '/b');
  });

  it('sign-in throttling: backoff per (account, client) with 429 and Retry-After; other clients and known browsers still get in', async () => {
    const victim = await createTestUser(tdb.db, 'admin', 'victim@example.test');
    // Earlier, the real admin signed in from their own browser (it carries the known-browser cookie).
    const earlier = await signIn(victim.email, victim.password, 'admin-laptop');
    assert.equal(earlier.status, 302);
    const known = knownCookie(earlier);
    assert.ok(known, 'the known-browser cookie is set on sign-in');

    const guesses: number[] = [];
    for (let i = 0; i < 3; i++) guesses.push((await signIn(victim.email, `guess-${i}`, 'attacker-1')).status);
    assert.deepEqual(guesses, [401, 401, 401], 'two free failures, then the third sets a wait');
    const locked = await signIn(victim.email, victim.password, 'attacker-1');
    assert.equal(locked.status, 429, 'even the right password waits on that client');
    assert.ok(Number(locked.headers.get('retry-after')) >= 1);
    assert.match((locked.body as { error: string }).error, /try again in \d+ s/);
    const elsewhere = await signIn(victim.email, victim.password, 'admin-desk');
    assert.equal(elsewhere.status, 302, 'another client with the right password is not locked out');

    // Many attacker addresses: the account-wide limit (4 × free = 8 failures) holds strangers back at most 60 s ...
    for (let i = 0; i < 9; i++) assert.equal((await signIn(victim.email, `spray-${i}`, `bot-${i}`)).status, 401);
    const stranger = await signIn(victim.email, victim.password, 'new-client');
    assert.equal(stranger.status, 429, 'an unknown browser waits while the account is under attack');
    const wait = Number(stranger.headers.get('retry-after'));
    assert.ok(wait >= 1 && wait <= 60, `account-wide wait is short: ${wait} s`);
    // ... but the admin's own browser gets in at once.
    const mine = await signIn(victim.email, victim.password, 'admin-laptop-new-address', known);
    assert.equal(mine.status, 302, 'a known browser is exempt from the account-wide limit');

    // One client spraying many accounts: at most WEB_SIGNIN_CLIENT_FAILURES (6) per 15 minutes.
    const spray: number[] = [];
    for (let i = 0; i < 7; i++) spray.push((await signIn(`nobody-${i}@example.test`, 'x', 'sprayer')).status);
    assert.deepEqual(spray, [401, 401, 401, 401, 401, 401, 429]);
  });

  it('scrypt: new hashes use N=2^17, r=8, p=1; an older hash is replaced on the next sign-in', async () => {
    assert.deepEqual(SCRYPT_COST, { N: 131072, r: 8, p: 1 });
    const salt = crypto.randomBytes(16);
    const old = crypto.scryptSync('old-cost-password', salt, 32, { N: 16384, r: 8, p: 1 });
    await tdb.db('users').insert({ email: 'legacy@example.test', role: 'viewer', password_hash: `scrypt$16384$8$1$${salt.toString('base64')}$${old.toString('base64')}` });
    assert.equal((await signIn('legacy@example.test', 'old-cost-password', 'legacy-client')).status, 302);
    const row = await tdb.db('users').where({ email: 'legacy@example.test' }).first('password_hash');
    assert.match(row.password_hash, /^scrypt\$131072\$8\$1\$/);
    assert.equal((await signIn('legacy@example.test', 'old-cost-password', 'legacy-client')).status, 302, 'the new hash verifies');
    const fresh = await createTestUser(tdb.db, 'viewer');
    assert.match((await tdb.db('users').where({ email: fresh.email }).first('password_hash')).password_hash, /^scrypt\$131072\$8\$1\$/);
  });

  it('changing a password ends the user’s other sessions (own change keeps the current one)', async () => {
    const admin = await createTestUser(tdb.db, 'admin');
    const viewer = await createTestUser(tdb.db, 'viewer');
    const a1 = sessionCookie(await signIn(admin.email, admin.password, 'pw-a1'));
    const a2 = sessionCookie(await signIn(admin.email, admin.password, 'pw-a2'));
    const v1 = sessionCookie(await signIn(viewer.email, viewer.password, 'pw-v1'));
    const me = await tdb.db('users').where({ email: admin.email }).first('id');
    const them = await tdb.db('users').where({ email: viewer.email }).first('id');
    const own = await call(routes.users.action, routeRequest('/users', { cookie: a1, form: { intent: 'password', id: String(me.id), password: 'a-brand-new-password' } }));
    assert.equal(own.status, 200);
    const signedIn = async (cookie: string) => (await call(routes.users.loader, routeRequest('/users', { cookie }))).status;
    assert.equal(await signedIn(a1), 200, 'the session that changed the password stays');
    assert.equal(await signedIn(a2), 302, 'the admin’s other session is over');
    const reset = await call(routes.users.action, routeRequest('/users', { cookie: a1, form: { intent: 'password', id: String(them.id), password: 'another-new-password' } }));
    assert.equal(reset.status, 200);
    assert.equal((await tdb.db('sessions').where({ user_id: them.id })).length, 0, 'every session of the viewer is over');
    assert.equal((await call(routes.apiSeries.loader, routeRequest(`/api/series?series=${seriesId}&from=0&to=1`, { cookie: v1 }))).status, 401);
  });

  it('live streams: since and Last-Event-ID replay at most the window; streams are capped per user and in total', async () => {
    const now = Date.now();
    await tdb.pool.query(
      `INSERT INTO samples (time, series_id, value) SELECT to_timestamp(($1::float8 - g * 1000) / 1000), $2, g FROM generate_series(1, 3600) g`,
      [now, seriesId],
    ); // the last hour, one point a second
    const u1 = await createTestUser(tdb.db, 'viewer');
    const u2 = await createTestUser(tdb.db, 'viewer');
    const c1 = sessionCookie(await signIn(u1.email, u1.password, 'live-1'));
    const c2 = sessionCookie(await signIn(u2.email, u2.password, 'live-2'));
    const window = ctx().config.WEB_LIVE_REPLAY_MS;
    // A stream is a Response; a refusal is React Router's data() (status and body in it).
    const open = async (cookie: string, query = `series=${seriesId}&since=0`, headers: Record<string, string> = {}) => {
      const out = (await routes.apiLive.loader({ request: routeRequest(`/api/live?${query}`, { cookie, headers }), params: {}, context: {} } as never)) as unknown;
      if (out instanceof Response) return out;
      const d = out as { data: unknown; init?: { status?: number; headers?: HeadersInit } };
      return new Response(JSON.stringify(d.data), { status: d.init?.status ?? 200, headers: d.init?.headers });
    };

    for (const [what, res] of [
      ['since=0', await open(c1)],
      ['Last-Event-ID: 1', await open(c1, `series=${seriesId}`, { 'last-event-id': '1' })],
    ] as const) {
      assert.equal(res.status, 200, what);
      const text = await readStream(res, 5000, (t) => pointsOf(t).length >= Math.floor(window / 1000) - 5);
      const points = pointsOf(text);
      assert.ok(points.length > 0, `${what}: the recent window is replayed`);
      const oldest = Math.min(...points.map((p) => p.t));
      assert.ok(oldest >= now - window - 2000, `${what}: oldest replayed point ${Math.round((now - oldest) / 1000)} s old (window ${window / 1000} s)`);
      assert.ok(points.length <= window / 1000 + 5, `${what}: ${points.length} points, not the hour`);
    }
    await waitUntil('streams closed', () => ctx().hub.size === 0);

    const a = await open(c1, `series=${seriesId}`);
    const b = await open(c1, `series=${seriesId}`);
    const third = await open(c1, `series=${seriesId}`);
    assert.equal(third.status, 429, 'a third stream of the same user');
    assert.ok(Number(third.headers.get('retry-after')) > 0, 'Retry-After');
    assert.match(((await third.json()) as { error: string }).error, /Too many live streams: you already have 2 open \(at most 2\)/);
    const other = await open(c2, `series=${seriesId}`);
    assert.equal(other.status, 200, 'another user is not affected by u1’s cap');
    const overTotal = await open(c2, `series=${seriesId}`);
    assert.equal(overTotal.status, 429, 'the process-wide cap (3)');
    assert.match(((await overTotal.json()) as { error: string }).error, /on this server/);
    await a.body!.cancel();
    const again = await open(c1, `series=${seriesId}`);
    assert.equal(again.status, 200, 'a closed stream frees its slot');
    for (const r of [b, other, again]) await r.body!.cancel();
  });

  it('the live hub: a backfill is read apart from the shared read, which never looks back past the window', async () => {
    const now = Date.now();
    const [d] = await tdb.db('devices').insert({ name: 'hub-apart', protocol: 'gnmi', host: '127.0.0.1', port: 1, settings: '{}' }).returning('id');
    const [x, y] = (await tdb.db('series').insert([{ device_id: d.id, path: '/x', kind: 'number' }, { device_id: d.id, path: '/y', kind: 'number' }]).returning('id')).map((r: { id: number }) => r.id);
    await tdb.pool.query(`INSERT INTO samples (time, series_id, value) SELECT to_timestamp(($1::float8 - g * 10) / 1000), $2, g FROM generate_series(1, 20000) g`, [now, x]);
    // The shared pool records every read's lower bound; the replay pool holds each backfill until released.
    const sharedSince: number[] = [];
    const shared = { query: (text: string, values: unknown[]) => (sharedSince.push(Number(values[1])), tdb.pool.query(text, values)) } as unknown as pg.Pool;
    let releaseReplay!: () => void;
    const replayGate = new Promise<void>((r) => (releaseReplay = r));
    let replays = 0;
    const replay = { query: async (text: string, values: unknown[]) => (replays++, await replayGate, tdb.pool.query(text, values)) } as unknown as pg.Pool;
    const hub = new LiveHub({ pool: shared, replayPool: replay, connectionString: tdb.url, replayWindowMs: 60_000 });
    try {
      const gotY: LivePoint[] = [];
      const gotX: LivePoint[] = [];
      const unsubY = await hub.subscribe({ seriesIds: [y], since: now, deliver: (p) => (gotY.push(...p), true) });
      const unsubX = await hub.subscribe({ seriesIds: [x], since: 0, deliver: (p) => (gotX.push(...p), true) });
      await waitUntil('both backfills asked for', () => replays >= 2);
      releaseReplay(); // Y's backfill is empty; X's stays blocked below once more
      await waitUntil('Y joined the shared read', () => sharedSince.length > 0 || gotX.length > 0);
      // A live point for Y reaches Y through the shared read, whatever X's backfill does.
      await tdb.pool.query('INSERT INTO samples (time, series_id, value) VALUES (to_timestamp($1::float8 / 1000), $2, 1)', [now + 500, y]);
      await tdb.pool.query('SELECT pg_notify($1, $2)', [SAMPLES_CHANNEL, `${x},${y}`]);
      await waitUntil('Y’s live point', () => gotY.some((p) => p.t === now + 500));
      await waitUntil('X’s backfill', () => gotX.length > 0);
      const floor = Date.now() - 60_000 - 5000;
      assert.ok(sharedSince.every((s) => s >= floor), `shared reads started at most the window back: ${sharedSince.map((s) => Math.round((now - s) / 1000))} s`);
      assert.ok(Math.min(...gotX.map((p) => p.t)) >= now - 60_000 - 1000, 'X’s backfill is clamped to the window too');
      assert.ok(gotX.length >= 5000 && gotX.length <= 6100, `X got the window's points by backfill: ${gotX.length}`);
      unsubX();
      unsubY();
    } finally {
      releaseReplay();
      await hub.close();
    }
  });

  it('query budgets: over the points budget → 422 naming a coarser range; one query at a time per user, the rest queue (429 past 16); statement timeout → 503', async () => {
    const u = await createTestUser(tdb.db, 'viewer');
    const cookie = sessionCookie(await signIn(u.email, u.password, 'budget'));
    const ids = Array.from({ length: 500 }, (_, i) => i + 1).join(',');
    const to = Date.now();
    const from = to - 16 * 3600_000;
    const big = await call(routes.apiSeries.loader, routeRequest(`/api/series?series=${ids}&from=${from}&to=${to}&width=1000`, { cookie }));
    assert.equal(big.status, 422);
    const msg = (big.body as { error: string }).error;
    assert.match(msg, /about 28,800,000 points of raw samples/);
    assert.match(msg, /at most 2 h 46 min/);
    assert.match(msg, /16 h 40 min or more \(read from 1-minute rollups\)/);
    assert.equal(overBudget(20, to - 24 * 3600_000, to, 1000, 5_000_000), undefined, 'a 24 h × 20-series panel fits');

    // Hold the samples table so the first query waits; the same user's next ones queue (16 at most), then 429.
    const locker = await tdb.pool.connect();
    const url = `/api/series?series=${seriesId}&from=${to - 3600_000}&to=${to}`;
    let queued: Array<Promise<{ status: number }>> = [];
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE samples IN ACCESS EXCLUSIVE MODE');
      const started = Date.now();
      const first = call(routes.apiSeries.loader, routeRequest(url, { cookie }));
      const { id: userId } = await tdb.db('users').where({ email: u.email }).first('id');
      // Imported the way the route modules are (dynamically), so it is the route's instance.
      const { historyQueries } = await import('../../web/app/lib/history-queries.server');
      await waitUntil('the first query running', () => historyQueries.load(userId).running === 1);
      queued = Array.from({ length: 16 }, () => call(routes.apiSeries.loader, routeRequest(url, { cookie })));
      await waitUntil('16 queries waiting', () => historyQueries.load(userId).waiting === 16);
      const refusedAt = Date.now();
      const over = await call(routes.apiSeries.loader, routeRequest(url, { cookie }));
      assert.equal(over.status, 429, 'past 16 waiting');
      assert.ok(Date.now() - refusedAt < 500, 'refused at once');
      assert.match((over.body as { error: string }).error, /already have 1 history queries running and more waiting/);
      const firstRes = await first;
      const ms = Date.now() - started;
      assert.equal(firstRes.status, 503, 'cancelled by the statement timeout');
      assert.match((firstRes.body as { error: string }).error, /longer than 2500 ms/);
      assert.ok(ms >= 2400 && ms < 6000, `cut after ${ms} ms`);
    } finally {
      await locker.query('ROLLBACK');
      locker.release();
    }
    const waited = await Promise.all(queued);
    assert.deepEqual([...new Set(waited.map((w) => w.status))], [200], 'the queued queries ran in turn once the table was free');
    const after = await call(routes.apiSeries.loader, routeRequest(`/api/series?series=${seriesId}&from=${to - 3600_000}&to=${to}`, { cookie }));
    assert.equal(after.status, 200, 'the slot was released');
  });

  it('the live hub has its own connections: with the page pool full, live points still arrive at once', async () => {
    const u = await createTestUser(tdb.db, 'viewer');
    const cookie = sessionCookie(await signIn(u.email, u.password, 'pool'));
    const res = (await routes.apiLive.loader({ request: routeRequest(`/api/live?series=${seriesId}&since=${Date.now() + 60_000}`, { cookie }), params: {}, context: {} } as never)) as Response;
    assert.equal(res.status, 200);
    await waitUntil('subscribed', () => ctx().hub.size >= 1);
    // Ten slow page queries occupy every connection of the page pool.
    const busy = Array.from({ length: 10 }, () => ctx().pool.query('SELECT pg_sleep(2)').catch(() => undefined));
    await waitUntil('the ten slow queries running', async () => {
      const { rows } = await tdb.pool.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'active' AND query = 'SELECT pg_sleep(2)'`);
      return rows[0].n >= 10;
    });
    const t = Date.now() + 120_000;
    await tdb.pool.query('INSERT INTO samples (time, series_id, value) VALUES (to_timestamp($1::float8 / 1000), $2, 7)', [t, seriesId]);
    const rang = Date.now();
    await tdb.pool.query('SELECT pg_notify($1, $2)', [SAMPLES_CHANNEL, String(seriesId)]);
    const text = await readStream(res, 3000, (s) => pointsOf(s).some((p) => p.t === t));
    const ms = Date.now() - rang;
    assert.ok(pointsOf(text).some((p) => p.t === t), 'the live point arrived');
    assert.ok(ms < 1000, `within a second while the page pool is busy (${ms} ms)`);
    await Promise.all(busy);
  });

  it('/healthz: strangers get a generic status, admins the detail; a broken database is not described to strangers', async () => {
    const admin = await createTestUser(tdb.db, 'admin');
    const cookie = sessionCookie(await signIn(admin.email, admin.password, 'health'));
    const anon = await routes.healthz.loader({ request: routeRequest('/healthz'), params: {}, context: {} } as never);
    assert.deepEqual(await anon.json(), { ok: true });
    const detail = await routes.healthz.loader({ request: routeRequest('/healthz', { cookie }), params: {}, context: {} } as never);
    assert.equal(typeof ((await detail.json()) as { liveClients: unknown }).liveClients, 'number');
    // Point the app at a closed port.
    process.env.DATABASE_URL = 'postgres://postgres:secret-pw@127.0.0.1:1/nowhere';
    await resetContext();
    try {
      const down = await routes.healthz.loader({ request: routeRequest('/healthz'), params: {}, context: {} } as never);
      assert.equal(down.status, 503);
      const body = await down.text();
      assert.deepEqual(JSON.parse(body), { ok: false, problem: 'database unavailable' });
      assert.doesNotMatch(body, /ECONNREFUSED|127\.0\.0\.1|nowhere/);
    } finally {
      process.env.DATABASE_URL = tdb.url;
      await resetContext();
    }
  });

  it('messages on a page come from the server (flash cookie), never from a query parameter', async () => {
    const admin = await createTestUser(tdb.db, 'admin');
    const cookie = sessionCookie(await signIn(admin.email, admin.password, 'flash'));
    // Temporal is unreachable here: saving a device succeeds with a warning.
    const saved = await call(
      routes.deviceEdit.action,
      routeRequest('/devices/new', { cookie, form: { name: 'flash-dev', protocol: 'gnmi', host: '127.0.0.1', port: '57400', enabled: 'on', 'gnmi.tls': 'insecure' } }),
    );
    assert.equal(saved.status, 302, JSON.stringify(saved.body));
    const location = saved.headers.get('location') ?? '';
    assert.match(location, /^\/devices\/\d+$/, `no message in the URL: ${location}`);
    const flash = saved.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .find((c) => c.startsWith('st_flash='));
    assert.ok(flash, 'the warning travels in a cookie');
    const page = await layoutData(routeRequest(location, { cookie: `${cookie}; ${flash}` }));
    assert.match(page.flash?.message ?? '', /^Saved, but the session workflow did not start/);
    assert.match(page.clear ?? '', /st_flash=;.*Max-Age=0/i, 'shown once');
    // A session action that fails (Temporal is unreachable) says so on the device page the same way.
    const paused = await call(routes.device.action, routeRequest(location, { cookie, form: { intent: 'pause' } }), { deviceId: location.split('/').pop()! });
    assert.equal(paused.status, 302);
    assert.equal(paused.headers.get('location'), location, 'no message in the URL');
    const pauseFlash = paused.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .find((c) => c.startsWith('st_flash='));
    assert.ok(pauseFlash, 'the failure travels in a cookie');
    assert.match((await layoutData(routeRequest(location, { cookie: `${cookie}; ${pauseFlash}` }))).flash?.message ?? '', /^pause did not complete: /);
    const forged = await layoutData(routeRequest('/devices?warning=Your+account+is+locked%2C+call+555', { cookie }));
    assert.equal(forged.flash, null, 'a query parameter shows nothing');
    const tampered = await layoutData(routeRequest('/devices', { cookie: `${cookie}; st_flash=${Buffer.from(JSON.stringify({ kind: 'warning', message: 'forged' })).toString('base64')}` }));
    assert.equal(tampered.flash, null, 'an unsigned flash cookie shows nothing');
  });
});

describe('web hardening: the browser backs off a refused live stream', () => {
  it('re-opens after 5 s, doubling to 2 min, with ±25 % jitter', async () => {
    const { refusedStreamDelayMs } = await import('../../web/app/components/LiveStream');
    const mid = [0, 1, 2, 3, 4, 5, 6].map((n) => refusedStreamDelayMs(n, () => 0.5));
    assert.deepEqual(mid, [5000, 10_000, 20_000, 40_000, 80_000, 120_000, 120_000]);
    assert.equal(refusedStreamDelayMs(0, () => 0), 3750);
    assert.equal(refusedStreamDelayMs(9, () => 1), 150_000, 'never more than 2 min + 25 %');
  });
});
