/**
 * Hostile requests to the web process (issue 9): SQL-injection strings and
 * out-of-range values in API parameters, oversized URLs and form fields,
 * cross-origin POSTs, a viewer calling admin actions, SSE without a session.
 * Each gets a clear 4xx within a second, and afterwards the process is still
 * alive and answers /healthz; the tables are intact.
 */
import assert from 'node:assert/strict';
import { freePort, isPortOpen, waitFor } from '../../scripts/infra/proc';
import { ensureWebBuild } from '../../scripts/infra/web-build';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { spawnCaptured, type CapturedChild } from '../support/faults-proc';
import { untilExit } from '../support/faults-rig';
import { webAuthEnv, webClient, type WebClient } from '../support/faults-web';
import { TEST_SECRETS_KEY } from '../support/system';
import { createTestUser, type TestUser } from '../support/web-auth';


describe('hostile requests to the web process', function () {
  this.timeout(180_000);
  let tdb: TestDatabase;
  let web: CapturedChild;
  let base: string;
  let admin: WebClient;
  let seriesId: number;
  let deviceId: number;
  let viewerUser: TestUser | undefined;

  before(async function () {
    await ensureWebBuild();
    tdb = await createTestDatabase('hostile_web');
    const [dev] = await tdb.db('devices').insert({ name: 'hostile-target', protocol: 'gnmi', host: '127.0.0.1', port: 1, settings: '{}' }).returning('id');
    deviceId = dev.id;
    const [s] = await tdb.db('series').insert({ device_id: deviceId, path: '/interfaces/interface[name=Ethernet1]/state/counters/in-octets', kind: 'number' }).returning('id');
    seriesId = s.id;
    await tdb.pool.query(`INSERT INTO samples (time, series_id, value) SELECT now() - g * interval '1 second', $1, g FROM generate_series(1, 50) g`, [seriesId]);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    web = spawnCaptured('web', 'web/server.ts', {
      ...process.env,
      DATABASE_URL: tdb.url,
      SECRETS_KEY: TEST_SECRETS_KEY,
      WEB_PORT: String(port),
      LOG_LEVEL: 'warn',
      ...webAuthEnv(),
    });
    await untilExit(web, waitFor('the web server', () => isPortOpen(port), 90_000));
    admin = await webClient(base);
    if (admin.authEnabled) viewerUser = await createTestUser(tdb.db, 'viewer');
  });

  after(async () => {
    await web?.stop();
    await tdb?.drop();
  });

  /** The request gets `expect` (a status or a test) within a second; the process stays up. */
  async function refused(what: string, req: () => Promise<Response>, expect: (status: number) => boolean, says?: RegExp): Promise<string> {
    const started = Date.now();
    const res = await req();
    const body = await res.text();
    const ms = Date.now() - started;
    assert.ok(expect(res.status), `${what}: unexpected status ${res.status}: ${body.slice(0, 300)}`);
    assert.ok(ms < 1000, `${what}: answered within a second (${ms} ms)`);
    if (says) assert.match(body, says, `${what}: a clear message`);
    assert.ok(web.alive(), `${what}: the web process is still running`);
    const health = await fetch(`${base}/healthz`);
    assert.equal(health.status, 200, `${what}: /healthz afterwards`);
    await health.body?.cancel();
    return body;
  }
  const is4xx = (s: number) => s >= 400 && s < 500;

  async function samplesCount(): Promise<number> {
    return (await tdb.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM samples')).rows[0].n;
  }

  it('SQL-injection strings and bad values in /api/series and /api/live parameters → 400 naming the parameter', async () => {
    const before = await samplesCount();
    const now = Date.now();
    const bad = [
      `/api/series?series=${encodeURIComponent(`${seriesId}; DROP TABLE samples; --`)}&from=0&to=${now}`,
      `/api/series?series=${encodeURIComponent(`${seriesId} OR 1=1`)}&from=0&to=${now}`,
      `/api/series?series=${seriesId}&from=${encodeURIComponent("0'); DELETE FROM samples; --")}&to=${now}`,
      `/api/series?series=${seriesId}&from=-1e309&to=NaN`,
      `/api/live?series=${encodeURIComponent(`${seriesId}); DROP TABLE samples; --`)}`,
      `/api/live?series=${encodeURIComponent(`${seriesId},2 UNION SELECT password_hash FROM users`)}`,
      `/api/live?series=${seriesId}&since=${encodeURIComponent("now(); DROP TABLE series")}`,
    ];
    for (const p of bad) await refused(p, () => admin.fetch(p), (s) => s === 400, /series|from|to|since|invalid|expected/i);
    const paths = `/api/paths?device=${deviceId}&q=${encodeURIComponent("' OR 1=1; DROP TABLE series; --")}`;
    const body = await refused(paths, () => admin.fetch(paths), (s) => s === 200 || s === 400);
    assert.doesNotMatch(body, /in-octets/, 'an injected prefix matches nothing');
    assert.equal(await samplesCount(), before, 'samples intact');
    assert.equal(Number((await tdb.db('series').count<{ count: string }[]>('* as count'))[0].count), 1, 'series intact');
  });

  it('oversized input: 201 series in one stream, a 200 kB URL, a 1 MB form field → 4xx', async () => {
    const ids = Array.from({ length: 201 }, (_, i) => i + 1).join(',');
    await refused('201 series', () => admin.fetch(`/api/live?series=${ids}`), (s) => s === 400, /series/);
    await refused('200 kB URL', () => admin.fetch(`/api/series?series=${seriesId}&from=0&to=1&x=${'a'.repeat(200_000)}`), is4xx);
    if (!admin.authEnabled) return;
    const form = new URLSearchParams({ name: 'x'.repeat(1_000_000), protocol: 'gnmi', host: '127.0.0.1', port: '57400' });
    await refused(
      '1 MB device name',
      () => admin.fetch('/devices/new', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: base, 'sec-fetch-site': 'same-origin' }, body: form.toString() }),
      (s) => s === 400 || s === 413 || s === 422,
    );
    assert.equal(Number((await tdb.db('devices').count<{ count: string }[]>('* as count'))[0].count), 1, 'no device created');
  });

  it('a cross-origin POST is refused with 403, even with an admin session', async function () {
    if (!admin.authEnabled) this.skip();
    const form = new URLSearchParams({ name: 'cross-origin', protocol: 'gnmi', host: '127.0.0.1', port: '57400' }).toString();
    const headers = { 'content-type': 'application/x-www-form-urlencoded' };
    // React Router itself answers a foreign Origin on an action with 400; the app's own check says 403.
    await refused('Origin: evil', () => admin.fetch('/devices/new', { method: 'POST', headers: { ...headers, origin: 'http://evil.example' }, body: form }), (s) => s === 403 || s === 400, /cross-site|origin|refused|bad request/i);
    await refused('Sec-Fetch-Site: cross-site', () => admin.fetch('/devices/new', { method: 'POST', headers: { ...headers, 'sec-fetch-site': 'cross-site' }, body: form }), (s) => s === 403);
    await refused(`pause from evil`, () => admin.fetch(`/devices/${deviceId}`, { method: 'POST', headers: { ...headers, origin: 'http://evil.example' }, body: 'intent=pause' }), (s) => s === 403 || s === 400);
    assert.equal((await tdb.db('devices').where({ name: 'cross-origin' })).length, 0);
  });

  it('a viewer calling admin actions gets 403', async function () {
    if (!admin.authEnabled) this.skip();
    const viewer = await webClient(base, viewerUser!);
    assert.ok(viewer.cookie, 'the viewer signed in');
    const same = { 'content-type': 'application/x-www-form-urlencoded', origin: base, 'sec-fetch-site': 'same-origin' };
    const form = new URLSearchParams({ name: 'by-viewer', protocol: 'gnmi', host: '127.0.0.1', port: '57400' }).toString();
    await refused('viewer creates a device', () => viewer.fetch('/devices/new', { method: 'POST', headers: same, body: form }), (s) => s === 403);
    await refused('viewer pauses a device', () => viewer.fetch(`/devices/${deviceId}`, { method: 'POST', headers: same, body: 'intent=pause' }), (s) => s === 403);
    await refused('viewer edits a device', () => viewer.fetch(`/devices/${deviceId}/edit`, { method: 'POST', headers: same, body: form }), (s) => s === 403);
    await refused('viewer creates a user', () => viewer.fetch('/users', { method: 'POST', headers: same, body: new URLSearchParams({ email: 'x@example.test', password: 'longenough1', role: 'admin' }).toString() }), (s) => s === 403);
    assert.equal((await tdb.db('devices').where({ name: 'by-viewer' })).length, 0);
    assert.equal((await tdb.db('users').where({ email: 'x@example.test' })).length, 0);
  });

  it('SSE and JSON APIs without a session → 401, not a stream', async function () {
    if (!admin.authEnabled) this.skip();
    const res = await refused('SSE without a session', () => fetch(`${base}/api/live?series=${seriesId}`, { headers: { accept: 'text/event-stream' } }), (s) => s === 401);
    assert.doesNotMatch(res, /^data: /m);
    await refused('series without a session', () => fetch(`${base}/api/series?series=${seriesId}&from=0&to=${Date.now()}`), (s) => s === 401);
    await refused('SSE with a forged cookie', () => fetch(`${base}/api/live?series=${seriesId}`, { headers: { cookie: `${admin.cookie?.split('=')[0] ?? 'session'}=forged.value` } }), (s) => s === 401);
  });
});
