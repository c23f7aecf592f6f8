/** Secrets at rest: encryption, tamper detection, and key rotation by the operator command. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createDevice, loadSecrets } from '../../storage/devices';
import { createContactPoint, loadContactPoint } from '../../storage/alerts';
import { addKeyVersion, isSecretsUnreadable, loadKeyring, openKeyring, parseKeyring, refreshKeyring, seal, SecretsUnreadableError, unseal } from '../../storage/secrets';
import { GnmiDeviceSettings, NetconfDeviceSettings } from '../../core/device';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { spawnCaptured } from '../support/faults-proc';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '..', '..');

describe('device secrets', () => {
  let tdb: TestDatabase;
  let dataDir: string;
  before(async () => {
    tdb = await createTestDatabase('secrets');
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'st-secrets-'));
  });
  after(async () => {
    await tdb.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('creates the key file with mode 0600 and stores no plaintext', async () => {
    const ring = loadKeyring({ dataDir });
    assert.equal(fs.statSync(path.join(dataDir, 'secrets.key')).mode & 0o777, 0o600);
    const canary = 'canary-Pa55word-9f3c';
    const d = await createDevice(tdb.db, ring, { name: 'r1', protocol: 'gnmi', host: '127.0.0.1', port: 1, secrets: { password: canary } });
    const raw = await tdb.pool.query('SELECT * FROM device_credentials WHERE device_id = $1', [d.id]);
    assert.equal(raw.rowCount, 1);
    assert.ok(!JSON.stringify(raw.rows[0]).includes(canary));
    assert.ok(!raw.rows[0].ciphertext.toString('latin1').includes(canary));
    assert.deepEqual(await loadSecrets(tdb.db, ring, d.id), { password: canary });
  });

  it('refuses tampered ciphertext and ciphertext moved to another device', () => {
    const ring = parseKeyring(`1:${Buffer.alloc(32, 1).toString('base64')}`);
    const sealed = seal(ring, { password: 'x' }, 'device:1');
    assert.throws(() => unseal(ring, sealed, 'device:2'), /failed authentication/);
    sealed.ciphertext[0] ^= 1;
    assert.throws(() => unseal(ring, sealed, 'device:1'), /failed authentication/);
    assert.throws(() => unseal(addKeyVersion(ring), { ...sealed, keyVersion: 9 }, 'device:1'), /key version 9/);
  });

  it('rotates every secret to a new key version with the operator command', async () => {
    const hook = await createContactPoint(tdb.db, loadKeyring({ dataDir }), { name: 'hook', url: 'http://127.0.0.1:9/', secret: 'hmac-canary-71' });
    const { SECRETS_KEY: _ignored, ...inherited } = process.env;
    const env = { ...inherited, DATABASE_URL: tdb.url, DATA_DIR: dataDir };
    const { stdout } = await run(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts/rotate-secrets-key.ts'), '--new-version'], { env, cwd: ROOT });
    assert.match(stdout, /re-encrypted 1 device secrets under key version 2; 0 left/);
    assert.match(stdout, /re-encrypted 1 alert contact point secrets under key version 2; 0 left/);
    const ring = loadKeyring({ dataDir });
    assert.equal(ring.current, 2);
    const rows = await tdb.pool.query('SELECT key_version FROM device_credentials');
    assert.deepEqual(rows.rows.map((r) => r.key_version), [2]);
    // Version 2 alone decrypts everything now.
    const onlyNew = { current: 2, keys: new Map([[2, ring.keys.get(2)!]]) };
    const [{ id }] = await tdb.db('devices').select('id');
    assert.deepEqual(await loadSecrets(tdb.db, onlyNew, id), { password: 'canary-Pa55word-9f3c' });
    assert.equal((await loadContactPoint(tdb.db, onlyNew, hook.id))?.secret, 'hmac-canary-71');
    // Start-up checks contact points too: a ring without version 2 is refused, naming them.
    await assert.rejects(openKeyring(tdb.db, { dataDir, key: `1:${ring.keys.get(1)!.toString('base64')}` }), /lacks key version 2 \(1 device, 1 alert contact point\)/);
  });

  it('rejects a malformed SECRETS_KEY with a clear error', () => {
    assert.throws(() => parseKeyring('nonsense'), /SECRETS_KEY must look like/);
    assert.throws(() => parseKeyring(`1:${Buffer.alloc(16).toString('base64')}`), /16 bytes; AES-256 needs 32/);
  });
});

describe('device secrets: key rotation while processes run (issue 14 item 9)', () => {
  let tdb: TestDatabase;
  let dataDir: string;
  const rotate = async () => {
    const { SECRETS_KEY: _ignored, ...inherited } = process.env;
    return run(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts/rotate-secrets-key.ts'), '--new-version'], {
      env: { ...inherited, DATABASE_URL: tdb.url, DATA_DIR: dataDir },
      cwd: ROOT,
    });
  };
  beforeEach(async () => {
    tdb = await createTestDatabase('secrets_rot');
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'st-secrets-rot-'));
  });
  afterEach(async () => {
    await tdb.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('a ring loaded before the rotation decrypts rows sealed under the new version, and seals under it', async () => {
    const running = loadKeyring({ dataDir }); // what a collector or the web app holds
    const d = await createDevice(tdb.db, running, { name: 'r1', protocol: 'gnmi', host: 'h', port: 1, secrets: { password: 'pw-1' } });
    await rotate();
    assert.equal((await tdb.pool.query('SELECT key_version FROM device_credentials')).rows[0].key_version, 2);
    assert.deepEqual(await loadSecrets(tdb.db, running, d.id), { password: 'pw-1' }, 'reloaded the key file on meeting version 2');
    assert.equal(running.current, 2);
    const e = await createDevice(tdb.db, running, { name: 'r2', protocol: 'gnmi', host: 'h', port: 1, secrets: { password: 'pw-2' } });
    assert.equal((await tdb.db('device_credentials').where({ device_id: e.id }).first()).key_version, 2);
  });

  it('a key version nobody has is an error, never an empty secret set; saving the device keeps the stored secrets', async () => {
    const { updateDevice } = await import('../../web/app/lib/devices.server');
    const ring = loadKeyring({ dataDir });
    const d = await createDevice(tdb.db, ring, { name: 'r1', protocol: 'gnmi', host: 'h', port: 1, secrets: { password: 'keep-me', clientKey: 'k' } });
    const stranger = parseKeyring(`1:${Buffer.alloc(32, 9).toString('base64')},3:${Buffer.alloc(32, 3).toString('base64')}`);
    await assert.rejects(loadSecrets(tdb.db, stranger, d.id), (e: unknown) => e instanceof SecretsUnreadableError && /key version 1/.test(e.message));
    const before = await tdb.db('device_credentials').where({ device_id: d.id }).first();
    const form = {
      name: 'r1', protocol: 'gnmi' as const, host: 'h', port: 1, enabled: true, profileIds: [], clearSecrets: false,
      gnmi: GnmiDeviceSettings.parse({}), netconf: NetconfDeviceSettings.parse({}), secrets: { password: 'new-pw' },
    };
    await assert.rejects(updateDevice(tdb.db, stranger, d.id, form), isSecretsUnreadable);
    const after = await tdb.db('device_credentials').where({ device_id: d.id }).first();
    assert.ok(after.ciphertext.equals(before.ciphertext), 'the stored secrets were not overwritten');
    assert.deepEqual(await loadSecrets(tdb.db, ring, d.id), { password: 'keep-me', clientKey: 'k' });
  });

  it('start-up refuses a fresh key while the database holds secrets sealed under keys it lacks, naming the version', async () => {
    const ring = loadKeyring({ dataDir });
    await createDevice(tdb.db, ring, { name: 'r1', protocol: 'gnmi', host: 'h', port: 1, secrets: { password: 'x' } });
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'st-secrets-lost-'));
    try {
      await assert.rejects(openKeyring(tdb.db, { dataDir: elsewhere }), /refusing to create a new secrets key: .*key version 1 \(1 device\)/);
      assert.equal(fs.existsSync(path.join(elsewhere, 'secrets.key')), false, 'no key file was created');
      await assert.rejects(openKeyring(tdb.db, { dataDir, key: `2:${Buffer.alloc(32, 2).toString('base64')}` }), /lacks key version 1/);
      assert.equal((await openKeyring(tdb.db, { dataDir })).current, 1);
    } finally {
      fs.rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it('the web process refuses to start with a fresh key while stored secrets need key 1, and says why', async () => {
    const ring = loadKeyring({ dataDir });
    await createDevice(tdb.db, ring, { name: 'w1', protocol: 'gnmi', host: 'h', port: 1, secrets: { password: 'x' } });
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'st-secrets-web-'));
    try {
      const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: tdb.url, DATA_DIR: elsewhere, WEB_PORT: '0', LOG_LEVEL: 'warn' };
      delete env.SECRETS_KEY;
      delete env.SECRETS_KEY_FILE;
      const web = spawnCaptured('web-no-key', 'web/server.ts', env);
      const { code } = await web.exited;
      assert.equal(code, 1);
      assert.match(web.output(), /refusing to create a new secrets key: .*key version 1 \(1 device\)/);
      assert.equal(fs.existsSync(path.join(elsewhere, 'secrets.key')), false, 'no key file was created');
    } finally {
      fs.rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it('rotation under concurrent saves loses no secret and leaves every row under the new version', async () => {
    const { updateDevice } = await import('../../web/app/lib/devices.server');
    const web = loadKeyring({ dataDir });
    const ids: number[] = [];
    for (let i = 0; i < 20; i++) ids.push((await createDevice(tdb.db, web, { name: `d${i}`, protocol: 'gnmi', host: 'h', port: 1, secrets: { password: `p${i}-0`, clientKey: `k${i}` } })).id);
    const expected = new Map(ids.map((id, i) => [id, { password: `p${i}-0`, clientKey: `k${i}` }]));
    let editing = true;
    const edits = (async () => {
      for (let round = 1; editing; round++) {
        for (const [i, id] of ids.entries()) {
          const password = `p${i}-${round}`;
          await updateDevice(tdb.db, web, id, {
            name: `d${i}`, protocol: 'gnmi', host: 'h', port: 1, enabled: true, profileIds: [], clearSecrets: false,
            gnmi: GnmiDeviceSettings.parse({}), netconf: NetconfDeviceSettings.parse({}), secrets: { password },
          });
          expected.set(id, { password, clientKey: `k${i}` });
        }
      }
    })();
    const { stdout } = await rotate();
    editing = false;
    await edits;
    assert.match(stdout, /under key version 2; 0 left/);
    const versions = await tdb.db('device_credentials').distinct('key_version').pluck('key_version');
    assert.deepEqual(versions, [2]);
    const fresh = loadKeyring({ dataDir });
    for (const id of ids) assert.deepEqual(await loadSecrets(tdb.db, fresh, id), expected.get(id), `device ${id}`);
  });
});

describe('device secrets: key files', () => {
  it('a key file that changes the key of a version it already had is refused, and versions are never taken away', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'st-keyfile-'));
    try {
      const ring = loadKeyring({ dataDir: dir });
      const file = path.join(dir, 'secrets.key');
      const v1 = ring.keys.get(1)!;
      // A file listing only a new version 2: version 1 stays usable in this process.
      fs.writeFileSync(file, `2:${Buffer.alloc(32, 2).toString('base64')}\n`);
      assert.equal(refreshKeyring(ring, true), true);
      assert.deepEqual([...ring.keys.keys()].sort(), [1, 2]);
      assert.equal(ring.current, 2);
      assert.ok(ring.keys.get(1)!.equals(v1));
      fs.writeFileSync(file, `1:${Buffer.alloc(32, 9).toString('base64')}\n`);
      assert.throws(() => refreshKeyring(ring, true), /different key for version 1/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
