/**
 * Route loaders and actions called in-process against a real PostgreSQL test
 * database and the test Temporal server: authorisation, cross-site refusal,
 * validation with field errors, and CRUD of devices, profiles, users and dashboards.
 */
import assert from 'node:assert/strict';
import type { Client } from '@temporalio/client';
import { deviceSessionWorkflowId } from '../../core/names';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { TEST_SECRETS_KEY, testClient } from '../support/system';
import { call, cookieFrom, createTestUser, routeRequest, type TestUser } from '../../testkit/web-auth';
import { resetContext } from '../../web/app/lib/context.server';
import { DEFAULT_GNMI_PROFILE, DEFAULT_NETCONF_PROFILE } from '../../core/default-profiles';
import { ensureProfile } from '../../storage/profiles';

describe('web: loaders and actions', function () {
  this.timeout(60_000);
  let tdb: TestDatabase;
  let client: Client;
  let admin: TestUser;
  let viewer: TestUser;
  let adminCookie: string;
  let viewerCookie: string;
  const started: number[] = [];
  let routes: {
    login: typeof import('../../web/app/routes/login');
    devices: typeof import('../../web/app/routes/devices');
    deviceEdit: typeof import('../../web/app/routes/device-edit');
    device: typeof import('../../web/app/routes/device');
    profileEdit: typeof import('../../web/app/routes/profile-edit');
    users: typeof import('../../web/app/routes/users');
    dashboards: typeof import('../../web/app/routes/dashboards');
    dashboard: typeof import('../../web/app/routes/dashboard');
    widgetEdit: typeof import('../../web/app/routes/widget-edit');
    apiLive: typeof import('../../web/app/routes/api.live');
    apiSeries: typeof import('../../web/app/routes/api.series');
    setup: typeof import('../../web/app/routes/setup');
  };

  before(async () => {
    tdb = await createTestDatabase('web_routes');
    process.env.DATABASE_URL = tdb.url;
    process.env.SECRETS_KEY = TEST_SECRETS_KEY;
    process.env.SESSION_SECRET = 'web-routes-test-session-secret';
    await resetContext();
    routes = {
      login: await import('../../web/app/routes/login'),
      devices: await import('../../web/app/routes/devices'),
      deviceEdit: await import('../../web/app/routes/device-edit'),
      device: await import('../../web/app/routes/device'),
      profileEdit: await import('../../web/app/routes/profile-edit'),
      users: await import('../../web/app/routes/users'),
      dashboards: await import('../../web/app/routes/dashboards'),
      dashboard: await import('../../web/app/routes/dashboard'),
      widgetEdit: await import('../../web/app/routes/widget-edit'),
      apiLive: await import('../../web/app/routes/api.live'),
      apiSeries: await import('../../web/app/routes/api.series'),
      setup: await import('../../web/app/routes/setup'),
    };
    client = await testClient();
  });

  after(async () => {
    for (const id of started) await client.workflow.getHandle(deviceSessionWorkflowId(id)).terminate('test over').catch(() => undefined);
    await client?.connection.close();
    await resetContext();
    await tdb?.drop();
  });

  it('first run: /login sends to /setup, which creates the admin and signs in; then setup closes', async () => {
    const login = await call(routes.login.loader, routeRequest('/login'));
    assert.equal(login.status, 302);
    assert.equal(login.headers.get('location'), '/setup');
    const weak = await call(routes.setup.action, routeRequest('/setup', { form: { email: 'first@example.test', password: 'short', confirm: 'short' } }));
    assert.equal(weak.status, 400);
    assert.ok((weak.body as { errors: Record<string, string> }).errors.password);
    const res = await call(routes.setup.action, routeRequest('/setup', { form: { email: 'first@example.test', password: 'first-admin-pw', confirm: 'first-admin-pw' } }));
    assert.equal(res.status, 302);
    assert.match(res.headers.get('set-cookie') ?? '', /HttpOnly/i);
    assert.match(res.headers.get('set-cookie') ?? '', /SameSite=Lax/i);
    const again = await call(routes.setup.action, routeRequest('/setup', { form: { email: 'second@example.test', password: 'second-admin-pw', confirm: 'second-admin-pw' } }));
    assert.equal(again.status, 404, '/setup is gone once an admin exists');
    assert.equal((await tdb.db('users')).length, 1);
  });

  it('sign-in: wrong password refused, right one sets a signed session cookie; a cross-site sign-in is refused', async () => {
    admin = await createTestUser(tdb.db, 'admin');
    viewer = await createTestUser(tdb.db, 'viewer');
    const wrong = await call(routes.login.action, routeRequest('/login', { form: { email: admin.email, password: 'nope' } }));
    assert.equal(wrong.status, 401);
    const cross = await call(routes.login.action, routeRequest('/login', { form: { email: admin.email, password: admin.password }, headers: { origin: 'http://evil.example' } }));
    assert.equal(cross.status, 403);
    const ok = await call(routes.login.action, routeRequest('/login', { form: { email: admin.email.toUpperCase(), password: admin.password, redirectTo: '//evil.example/x' } }));
    assert.equal(ok.status, 302);
    assert.equal(ok.headers.get('location'), '/dashboards', 'an off-site redirectTo is ignored');
    adminCookie = cookieFrom(new Response(null, { headers: ok.headers }));
    const v = await call(routes.login.action, routeRequest('/login', { form: { email: viewer.email, password: viewer.password } }));
    viewerCookie = cookieFrom(new Response(null, { headers: v.headers }));
    // The database holds only a hash of the token.
    const token = decodeURIComponent(adminCookie.split('=')[1]);
    const rows = await tdb.db('sessions').select('id');
    assert.ok(rows.every((r) => !token.includes(r.id)));
  });

  it('every page loader requires a session; resource routes answer 401; a forged cookie is nobody', async () => {
    const page = await call(routes.devices.loader, routeRequest('/devices'));
    assert.equal(page.status, 302);
    assert.match(page.headers.get('location') ?? '', /^\/login\?redirectTo=%2Fdevices/);
    for (const [fn, url] of [
      [routes.apiLive.loader, '/api/live?series=1'],
      [routes.apiSeries.loader, '/api/series?series=1&from=0&to=1'],
    ] as const) {
      assert.equal((await call(fn, routeRequest(url))).status, 401, url);
      assert.equal((await call(fn, routeRequest(url, { cookie: 'st_session=forged.signature' }))).status, 401, `${url} forged`);
    }
    const signed = await call(routes.devices.loader, routeRequest('/devices', { cookie: viewerCookie }));
    assert.equal(signed.status, 200);
    assert.equal((signed.body as { canEdit: boolean }).canEdit, false);
  });

  let deviceId: number;

  it('device create: field errors with status 400; secrets never echoed', async () => {
    const res = await call(
      routes.deviceEdit.action,
      routeRequest('/devices/new', { cookie: adminCookie, form: { name: '', protocol: 'gnmi', host: 'bad host', port: '0', 'gnmi.tls': 'tls', 'secrets.password': 'hunter2' } }),
    );
    assert.equal(res.status, 400);
    const body = res.body as { errors: Record<string, string>; values: Record<string, string> };
    assert.deepEqual(Object.keys(body.errors).sort(), ['host', 'name', 'port']);
    assert.equal(body.values['secrets.password'], undefined);
    assert.equal((await tdb.db('devices')).length, 0);
  });

  it('a viewer cannot create, change or delete; a cross-site POST with an admin session is refused', async () => {
    const form = { name: 'by-viewer', protocol: 'gnmi', host: '127.0.0.1', port: '57400', 'gnmi.tls': 'insecure' };
    assert.equal((await call(routes.deviceEdit.action, routeRequest('/devices/new', { cookie: viewerCookie, form }))).status, 403);
    assert.equal((await call(routes.deviceEdit.loader, routeRequest('/devices/new', { cookie: viewerCookie }))).status, 403);
    assert.equal((await call(routes.users.action, routeRequest('/users', { cookie: viewerCookie, form: { intent: 'create', email: 'x@example.test', password: 'long-enough-1', role: 'admin' } }))).status, 403);
    assert.equal((await call(routes.dashboards.action, routeRequest('/dashboards', { cookie: viewerCookie, form: { name: 'mine', timeRange: '1h' } }))).status, 403);
    const cross = await call(routes.deviceEdit.action, routeRequest('/devices/new', { cookie: adminCookie, form, headers: { origin: 'http://evil.example' } }));
    assert.equal(cross.status, 403);
    const fetchSite = await call(routes.deviceEdit.action, routeRequest('/devices/new', { cookie: adminCookie, form, headers: { 'sec-fetch-site': 'cross-site' } }));
    assert.equal(fetchSite.status, 403);
    assert.equal((await tdb.db('devices')).length, 0);
  });

  it('admin creates a device: row, encrypted secrets, profiles, and its session workflow started', async () => {
    const profileId = await ensureProfile(tdb.db, 'gnmi', DEFAULT_GNMI_PROFILE);
    const res = await call(
      routes.deviceEdit.action,
      routeRequest('/devices/new', {
        cookie: adminCookie,
        form: { name: 'leaf-1', protocol: 'gnmi', host: '127.0.0.1', port: '9', enabled: 'on', username: 'admin', 'gnmi.tls': 'insecure', 'gnmi.allowPlaintextCredentials': 'on', 'secrets.password': 'hunter2-secret', profileIds: String(profileId) },
      }),
    );
    assert.equal(res.status, 302, JSON.stringify(res.body));
    const row = await tdb.db('devices').where({ name: 'leaf-1' }).first();
    deviceId = row.id;
    started.push(deviceId);
    assert.equal(res.headers.get('location'), `/devices/${deviceId}`);
    assert.equal(row.settings.gnmi.tls, 'insecure');
    const cred = await tdb.db('device_credentials').where({ device_id: deviceId }).first();
    assert.ok(cred && !cred.ciphertext.toString('latin1').includes('hunter2'), 'stored encrypted');
    assert.deepEqual(await tdb.db('device_profiles').where({ device_id: deviceId }).pluck('profile_id'), [profileId]);
    const desc = await client.workflow.getHandle(deviceSessionWorkflowId(deviceId)).describe();
    assert.equal(desc.status.name, 'RUNNING');
    // The edit form shows that a password is stored, never the password.
    const edit = await call(routes.deviceEdit.loader, routeRequest(`/devices/${deviceId}/edit`, { cookie: adminCookie }), { deviceId: String(deviceId) });
    assert.ok(!JSON.stringify(edit.body).includes('hunter2'));
    assert.deepEqual((edit.body as { secrets: string[] }).secrets, ['password']);
  });

  it('a profile of the other protocol is refused with a message naming it, never dropped silently', async () => {
    const gnmi = await ensureProfile(tdb.db, 'gnmi', DEFAULT_GNMI_PROFILE);
    const netconf = await ensureProfile(tdb.db, 'netconf', DEFAULT_NETCONF_PROFILE);
    const form = { name: 'leaf-mixed', protocol: 'gnmi', host: '127.0.0.1', port: '9', enabled: 'on', username: 'admin', 'gnmi.tls': 'insecure', 'gnmi.allowPlaintextCredentials': 'on', 'secrets.password': 'hunter2-secret', profileIds: [String(gnmi), String(netconf)] };
    const res = await call(routes.deviceEdit.action, routeRequest('/devices/new', { cookie: adminCookie, form }));
    assert.equal(res.status, 400);
    assert.match((res.body as { errors: Record<string, string> }).errors.profileIds, new RegExp(`Not attached: ${DEFAULT_NETCONF_PROFILE.name} \\(NETCONF\\) is a profile of the other protocol; a gNMI device can only use gNMI profiles`));
    assert.equal(await tdb.db('devices').where({ name: 'leaf-mixed' }).first(), undefined, 'nothing saved');
  });

  it('edit with a blank password keeps the stored one; a duplicate name is a field error; the workflow is signalled', async () => {
    const before = await tdb.db('device_credentials').where({ device_id: deviceId }).first();
    const form = { name: 'leaf-1b', protocol: 'gnmi', host: '127.0.0.2', port: '10', enabled: 'on', 'gnmi.tls': 'insecure', 'secrets.password': '' };
    const res = await call(routes.deviceEdit.action, routeRequest(`/devices/${deviceId}/edit`, { cookie: adminCookie, form }), { deviceId: String(deviceId) });
    assert.equal(res.status, 302);
    const after = await tdb.db('device_credentials').where({ device_id: deviceId }).first();
    assert.deepEqual(after.ciphertext, before.ciphertext);
    const row = await tdb.db('devices').where({ id: deviceId }).first();
    assert.equal(row.host, '127.0.0.2');
    assert.deepEqual(await tdb.db('device_profiles').where({ device_id: deviceId }), [], 'profiles follow the form');
    // A second device cannot take the name.
    const dup = await call(routes.deviceEdit.action, routeRequest('/devices/new', { cookie: adminCookie, form: { ...form, name: 'leaf-1b' } }));
    assert.equal(dup.status, 400);
    assert.match((dup.body as { errors: Record<string, string> }).errors.name, /Another device/);
    const history = client.workflow.getHandle(deviceSessionWorkflowId(deviceId)).fetchHistory();
    const signals = (await history).events?.filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'reconfigureSignal') ?? [];
    assert.ok(signals.length >= 1, 'reconfigure signalled');
  });

  it('disable and approve-host-key change the row and tell the workflow; unknown intents are 400', async () => {
    // Unconfirmed, disable leads to the confirmation step and changes nothing (ADR 090).
    const ask = await call(routes.device.action, routeRequest(`/devices/${deviceId}`, { cookie: adminCookie, form: { intent: 'disable' } }), { deviceId: String(deviceId) });
    assert.equal(ask.status, 302);
    assert.equal(ask.headers.get('location'), `/devices/${deviceId}?confirm=disable`);
    assert.equal((await tdb.db('devices').where({ id: deviceId }).first()).enabled, true);
    const res = await call(routes.device.action, routeRequest(`/devices/${deviceId}`, { cookie: adminCookie, form: { intent: 'disable', confirmed: 'yes' } }), { deviceId: String(deviceId) });
    assert.equal(res.status, 302);
    assert.equal((await tdb.db('devices').where({ id: deviceId }).first()).enabled, false);
    await call(routes.device.action, routeRequest(`/devices/${deviceId}`, { cookie: adminCookie, form: { intent: 'approve-host-key' } }), { deviceId: String(deviceId) });
    assert.equal((await tdb.db('devices').where({ id: deviceId }).first()).settings.netconf.acceptNewHostKey, true);
    const bad = await call(routes.device.action, routeRequest(`/devices/${deviceId}`, { cookie: adminCookie, form: { intent: 'explode' } }), { deviceId: String(deviceId) });
    assert.equal(bad.status, 400);
    const missing = await call(routes.device.loader, routeRequest('/devices/999999999', { cookie: viewerCookie }), { deviceId: '999999999' });
    assert.equal(missing.status, 404);
  });

  it('profiles: invalid lines are field errors; a valid profile attaches to devices', async () => {
    const bad = await call(routes.profileEdit.action, routeRequest('/profiles/new', { cookie: adminCookie, form: { name: 'p', protocol: 'gnmi', 'gnmi.mode': 'stream', 'gnmi.subscriptions': '/ok sample 1s\n/x warp' } }));
    assert.equal(bad.status, 400);
    assert.match((bad.body as { errors: Record<string, string> }).errors['gnmi.subscriptions'], /Line 2/);
    // A device of the other protocol (ticked before the protocol changed without JavaScript) is refused, naming it, never dropped silently.
    const foreign = await call(
      routes.profileEdit.action,
      routeRequest('/profiles/new', { cookie: adminCookie, form: { name: 'nc-for-gnmi', protocol: 'netconf', 'netconf.method': 'get', 'netconf.period': '10s', 'netconf.filterType': 'subtree', 'netconf.filter': '<interfaces xmlns="urn:ietf:params:xml:ns:yang:ietf-interfaces"/>', deviceIds: String(deviceId) } }),
    );
    assert.equal(foreign.status, 400, JSON.stringify(foreign.body));
    const { name } = await tdb.db('devices').where({ id: deviceId }).first('name');
    assert.equal((foreign.body as { errors: Record<string, string> }).errors.deviceIds, `Not attached: ${name} (gNMI) is a device of the other protocol; a NETCONF profile can only be attached to NETCONF devices.`);
    assert.equal(await tdb.db('subscription_profiles').where({ name: 'nc-for-gnmi' }).first(), undefined, 'nothing saved');
    const ok = await call(
      routes.profileEdit.action,
      routeRequest('/profiles/new', { cookie: adminCookie, form: { name: 'counters-fast', protocol: 'gnmi', 'gnmi.mode': 'stream', 'gnmi.subscriptions': '/interfaces/interface/state/counters sample 500ms', deviceIds: String(deviceId) } }),
    );
    assert.equal(ok.status, 302);
    const p = await tdb.db('subscription_profiles').where({ name: 'counters-fast' }).first();
    assert.equal(p.spec.subscriptions[0].sampleIntervalMs, 500);
    assert.deepEqual(await tdb.db('device_profiles').where({ profile_id: p.id }).pluck('device_id'), [deviceId]);
  });

  it('users: admins add users; the last admin cannot be demoted; viewers cannot list users', async () => {
    const add = await call(routes.users.action, routeRequest('/users', { cookie: adminCookie, form: { intent: 'create', email: 'new@example.test', password: 'new-user-password', role: 'viewer' } }));
    assert.equal(add.status, 200);
    const dupe = await call(routes.users.action, routeRequest('/users', { cookie: adminCookie, form: { intent: 'create', email: 'NEW@example.test', password: 'new-user-password', role: 'viewer' } }));
    assert.equal(dupe.status, 400);
    assert.equal((await call(routes.users.loader, routeRequest('/users', { cookie: viewerCookie }))).status, 403);
    // Demote every admin but one, then the last one refuses.
    const admins = await tdb.db('users').where({ role: 'admin' }).select('id', 'email');
    const me = admins.find((a) => a.email === admin.email)!;
    for (const a of admins) if (a.id !== me.id) await tdb.db('users').where({ id: a.id }).update({ role: 'viewer' });
    const last = await call(routes.users.action, routeRequest('/users', { cookie: adminCookie, form: { intent: 'role', id: String(me.id), role: 'viewer' } }));
    assert.equal(last.status, 400);
  });

  it('dashboards: create, add a widget, and the view resolves its pattern against the series dictionary', async () => {
    const created = await call(routes.dashboards.action, routeRequest('/dashboards', { cookie: adminCookie, form: { name: 'Core', timeRange: '15m', live: 'on' } }));
    assert.equal(created.status, 302);
    const dash = await tdb.db('dashboards').where({ name: 'Core' }).first();
    for (const name of ['Ethernet1', 'Ethernet2']) {
      await tdb.db('series').insert({ device_id: deviceId, path: `/interfaces/interface[name=${name}]/state/counters/in-octets`, kind: 'number' });
    }
    await tdb.db('series').insert({ device_id: deviceId, path: '/interfaces/interface[name=Ethernet1]/state/counters/out-octets', kind: 'number' });
    const badWidget = await call(routes.widgetEdit.action, routeRequest(`/dashboards/${dash.id}/widgets/new`, { cookie: adminCookie, form: { title: 'x', path: '/interfaces/interface[name', chart: 'line', unit: '', width: '6' } }), { dashboardId: String(dash.id) });
    assert.equal(badWidget.status, 400);
    assert.ok((badWidget.body as { errors: Record<string, string> }).errors.path);
    const w = await call(
      routes.widgetEdit.action,
      routeRequest(`/dashboards/${dash.id}/widgets/new`, {
        cookie: adminCookie,
        form: { title: 'In', deviceId: String(deviceId), path: '/interfaces/interface[name=*]/state/counters/in-octets', aggregate: 'none', groupBy: 'series', rate: 'on', chart: 'line', unit: 'bits/s', width: '12' },
      }),
      { dashboardId: String(dash.id) },
    );
    assert.equal(w.status, 302);
    const view = await call(routes.dashboard.loader, routeRequest(`/dashboards/${dash.id}?range=1h`, { cookie: viewerCookie }), { dashboardId: String(dash.id) });
    assert.equal(view.status, 200);
    const body = view.body as { widgets: Array<{ series: Array<{ label: string }>; scale: number }>; window: { live: boolean; key: string }; canEdit: boolean };
    assert.deepEqual(body.widgets[0].series.map((s) => s.label), ['Ethernet1', 'Ethernet2']);
    assert.equal(body.widgets[0].scale, 8);
    assert.deepEqual([body.window.key, body.window.live, body.canEdit], ['1h', true, false]);
    const still = await call(routes.dashboard.loader, routeRequest(`/dashboards/${dash.id}?range=6h&live=0`, { cookie: viewerCookie }), { dashboardId: String(dash.id) });
    assert.equal((still.body as { window: { live: boolean } }).window.live, false);
  });

  it('api/series returns history of many series in one request, with each series’ newest raw sample', async () => {
    const ids = (await tdb.db('series').where({ device_id: deviceId }).orderBy('id').pluck('id')) as number[];
    const now = Date.now();
    for (const id of ids) {
      await tdb.pool.query(`INSERT INTO samples (time, series_id, value) SELECT to_timestamp(($2::float8 - g * 1000) / 1000), $1, 1000 - g FROM generate_series(1, 30) g`, [id, now]);
    }
    const res = await call(routes.apiSeries.loader, routeRequest(`/api/series?series=${ids.join(',')}&from=${now - 60_000}&to=${now}&rate=1`, { cookie: viewerCookie }));
    assert.equal(res.status, 200);
    const body = res.body as { series: Record<string, { points: Array<{ v: number | null }>; last: { v: number } }> };
    assert.deepEqual(Object.keys(body.series).map(Number).sort(), [...ids].sort());
    for (const id of ids) {
      assert.ok(body.series[id].points.length >= 25);
      assert.ok(body.series[id].points.every((p) => p.v === null || Math.abs(p.v - 1) < 1e-6), 'a rate of 1/s');
      assert.equal(body.series[id].last.v, 999);
    }
    const bad = await call(routes.apiSeries.loader, routeRequest(`/api/series?series=1;DROP&from=0&to=1`, { cookie: viewerCookie }));
    assert.equal(bad.status, 400);
  });

  it('delete: the workflow is told to stop and the device is gone', async () => {
    const res = await call(routes.device.action, routeRequest(`/devices/${deviceId}`, { cookie: adminCookie, form: { intent: 'delete', confirmed: 'yes' } }), { deviceId: String(deviceId) });
    assert.equal(res.status, 302);
    assert.equal(await tdb.db('devices').where({ id: deviceId }).first(), undefined);
    const history = await client.workflow.getHandle(deviceSessionWorkflowId(deviceId)).fetchHistory();
    assert.ok(history.events?.some((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'stopSignal'));
  });
});
