/**
 * /devices/import against real PostgreSQL and the test Temporal server: valid rows
 * become devices with running session workflows, bad rows are reported and not
 * stored, and only admins from the same site may import.
 */
import assert from 'node:assert/strict';
import type { Client } from '@temporalio/client';
import { deviceSessionWorkflowId } from '../../core/names';
import { DEFAULT_GNMI_PROFILE, DEFAULT_NETCONF_PROFILE } from '../../core/default-profiles';
import { ensureProfile } from '../../storage/profiles';
import { resetContext } from '../../web/app/lib/context.server';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { TEST_SECRETS_KEY, testClient } from '../support/system';
import { TEST_ORIGIN, call, cookieFrom, createTestUser, routeRequest } from '../../testkit/web-auth';

type Result = {
  error: string | null;
  results: Array<{ source: string; name: string; status: string; detail: string }>;
  summary?: string;
  confirm?: { rows: Array<{ source: string; name: string; labModes: string[] }>; digest: string } | null;
};

describe('web: device import', function () {
  this.timeout(60_000);
  let tdb: TestDatabase;
  let client: Client;
  let adminCookie: string;
  let viewerCookie: string;
  let route: typeof import('../../web/app/routes/devices-import');

  before(async () => {
    tdb = await createTestDatabase('web_import');
    process.env.DATABASE_URL = tdb.url;
    process.env.SECRETS_KEY = TEST_SECRETS_KEY;
    process.env.SESSION_SECRET = 'web-import-test-session-secret';
    await resetContext();
    route = await import('../../web/app/routes/devices-import');
    const login = await import('../../web/app/routes/login');
    await ensureProfile(tdb.db, 'gnmi', DEFAULT_GNMI_PROFILE);
    await ensureProfile(tdb.db, 'netconf', DEFAULT_NETCONF_PROFILE);
    const signIn = async (role: 'admin' | 'viewer') => {
      const u = await createTestUser(tdb.db, role);
      const res = await call(login.action, routeRequest('/login', { form: { email: u.email, password: u.password } }));
      return cookieFrom(new Response(null, { headers: res.headers }));
    };
    adminCookie = await signIn('admin');
    viewerCookie = await signIn('viewer');
    client = await testClient();
  });

  after(async () => {
    const ids = await tdb.db('devices').pluck('id');
    for (const id of ids) await client.workflow.getHandle(deviceSessionWorkflowId(id)).terminate('test over').catch(() => undefined);
    await client?.connection.close();
    await resetContext();
    await tdb?.drop();
  });

  it('imports the valid rows of a CSV upload, reports the others, and starts their sessions', async () => {
    await tdb.db('devices').insert({ name: 'exists', protocol: 'gnmi', host: 'h', port: 1 });
    const csv = [
      'name,protocol,host,port,username,password,tls,profiles',
      'leaf1,gnmi,127.0.0.1,57999,admin,pw1,insecure,',
      'spine1,netconf,127.0.0.1,830,ops,pw2,,ietf-interfaces-statistics',
      'bad,gnmi,127.0.0.1,70000,,,,',
      'exists,gnmi,127.0.0.1,1,,,,',
      'leaf2,gnmi,127.0.0.1,57998,,,,no-such-profile',
    ].join('\n');
    const form = new FormData();
    form.set('file', new Blob([csv], { type: 'text/csv' }), 'devices.csv');
    form.set('format', 'auto');
    const post = () => call(route.action, new Request(`${TEST_ORIGIN}/devices/import`, { method: 'POST', body: form, headers: { cookie: adminCookie, origin: TEST_ORIGIN } }));
    // leaf1 is plaintext (a lab mode): the first post lists it for confirmation and stores nothing.
    const asked = (await post()).body as Result;
    assert.deepEqual(asked.confirm?.rows.map((r) => r.name), ['leaf1']);
    assert.equal(await tdb.db('devices').where({ name: 'spine1' }).first(), undefined, 'nothing imported before the confirmation');
    form.set('confirmLabModes', 'on');
    form.set('confirmDigest', asked.confirm!.digest);
    const res = await post();
    assert.equal(res.status, 200);
    const body = res.body as Result;
    assert.deepEqual(
      body.results.map((r) => [r.name, r.status]),
      [
        ['leaf1', 'imported'],
        ['spine1', 'imported'],
        ['bad', 'invalid'],
        ['exists', 'skipped'],
        ['leaf2', 'invalid'],
      ],
    );
    assert.match(body.results[2].detail, /port/);
    assert.match(body.results[4].detail, /no gnmi profile named no-such-profile/);
    const leaf1 = await tdb.db('devices').where({ name: 'leaf1' }).first();
    assert.equal(leaf1.settings.gnmi.tls, 'insecure');
    const profiles = await tdb.db('device_profiles as dp').join('subscription_profiles as p', 'p.id', 'dp.profile_id').where('dp.device_id', leaf1.id).pluck('p.name');
    assert.deepEqual(profiles, [DEFAULT_GNMI_PROFILE.name], 'no profiles given: the default of its protocol');
    const secrets = await tdb.db('device_credentials').where({ device_id: leaf1.id }).first();
    assert.ok(secrets && !secrets.ciphertext.toString('latin1').includes('pw1'), 'the password is stored encrypted');
    assert.equal(await tdb.db('devices').whereIn('name', ['bad', 'leaf2']).first(), undefined);
    const desc = await client.workflow.getHandle(deviceSessionWorkflowId(leaf1.id)).describe();
    assert.equal(desc.status.name, 'RUNNING');
  });

  it('imports a pasted gnmic targets file', async () => {
    const yaml = 'targets:\n  edge1:\n    address: 127.0.0.1:57997\n    username: u\n    password: p\n    insecure: true\n';
    const asked = (await call(route.action, routeRequest('/devices/import', { cookie: adminCookie, form: { content: yaml, format: 'gnmic' } }))).body as Result;
    assert.deepEqual(asked.confirm?.rows[0].labModes, ['insecure: plaintext transport', 'username and password sent in plaintext']);
    const confirm = { confirmLabModes: 'on', confirmDigest: asked.confirm!.digest };
    const res = await call(route.action, routeRequest('/devices/import', { cookie: adminCookie, form: { content: yaml, format: 'gnmic', ...confirm } }));
    assert.equal(res.status, 200);
    assert.deepEqual((res.body as Result).results.map((r) => [r.name, r.status]), [['edge1', 'imported']]);
    assert.equal((await tdb.db('devices').where({ name: 'edge1' }).first()).port, 57997);
  });

  it('turns on skip-verify and unverified credentials only after the admin confirmed them for that exact file', async () => {
    const yaml = 'skip-verify: true\npassword: pw\nusername: u\ntargets:\n  lab1:\n    address: 127.0.0.1:57996\n';
    const post = (extra: Record<string, string> = {}, text = yaml) =>
      call(route.action, routeRequest('/devices/import', { cookie: adminCookie, form: { content: text, format: 'gnmic', ...extra } }));
    const asked = (await post()).body as Result;
    assert.deepEqual(asked.confirm?.rows, [
      {
        source: 'target lab1',
        name: 'lab1',
        labModes: ['skip-verify: TLS without verifying the device certificate', 'username and password sent to an unverified peer'],
      },
    ]);
    assert.equal(await tdb.db('devices').where({ name: 'lab1' }).first(), undefined, 'the first post stores nothing');
    // Ticking the box without having seen this file's rows (no or another digest) imports nothing either.
    assert.ok(((await post({ confirmLabModes: 'on' })).body as Result).confirm);
    assert.ok(((await post({ confirmLabModes: 'on', confirmDigest: asked.confirm!.digest }, yaml.replace('57996', '57995'))).body as Result).confirm);
    assert.ok(((await post({ confirmDigest: asked.confirm!.digest })).body as Result).confirm, 'the digest alone is not a confirmation');
    assert.equal(await tdb.db('devices').where({ name: 'lab1' }).first(), undefined);
    const done = (await post({ confirmLabModes: 'on', confirmDigest: asked.confirm!.digest })).body as Result;
    assert.deepEqual(done.results.map((r) => [r.name, r.status]), [['lab1', 'imported']]);
    assert.match(done.results[0].detail, /lab mode confirmed: skip-verify/);
    const row = await tdb.db('devices').where({ name: 'lab1' }).first();
    assert.equal(row.settings.gnmi.tls, 'skip-verify');
    assert.equal(row.settings.gnmi.allowUnverifiedCredentials, true);
  });

  it('imports nothing from an unreadable file and says why', async () => {
    const before = await tdb.db('devices').count<{ count: string }[]>('* as count');
    const res = await call(route.action, routeRequest('/devices/import', { cookie: adminCookie, form: { content: 'name,colour\nx,red\n', format: 'csv' } }));
    assert.equal(res.status, 400);
    assert.match((res.body as Result).error ?? '', /Nothing imported: unknown column\(s\) colour/);
    const after = await tdb.db('devices').count<{ count: string }[]>('* as count');
    assert.equal(after[0].count, before[0].count);
  });

  it('refuses viewers and cross-site posts', async () => {
    const viewer = await call(route.action, routeRequest('/devices/import', { cookie: viewerCookie, form: { content: 'name,host\nv1,h\n' } }));
    assert.equal(viewer.status, 403);
    const cross = await call(route.action, routeRequest('/devices/import', { cookie: adminCookie, form: { content: 'name,host\nv2,h\n' }, headers: { origin: 'http://evil.example' } }));
    assert.equal(cross.status, 403);
    assert.equal(await tdb.db('devices').whereIn('name', ['v1', 'v2']).first(), undefined);
    const page = await call(route.loader, routeRequest('/devices/import', { cookie: viewerCookie }));
    assert.equal(page.status, 403);
  });
});
