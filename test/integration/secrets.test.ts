/** Secrets at rest: encryption, tamper detection, and key rotation by the operator command. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createDevice, loadSecrets } from '../../activities/db/devices';
import { addKeyVersion, loadKeyring, parseKeyring, seal, unseal } from '../../activities/db/secrets';
import { createTestDatabase, type TestDatabase } from '../support/db';

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
    const { SECRETS_KEY: _ignored, ...inherited } = process.env;
    const env = { ...inherited, DATABASE_URL: tdb.url, DATA_DIR: dataDir };
    const { stdout } = await run(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts/rotate-secrets-key.ts'), '--new-version'], { env, cwd: ROOT });
    assert.match(stdout, /re-encrypted 1 device secrets under key version 2; 0 left/);
    const ring = loadKeyring({ dataDir });
    assert.equal(ring.current, 2);
    const rows = await tdb.pool.query('SELECT key_version FROM device_credentials');
    assert.deepEqual(rows.rows.map((r) => r.key_version), [2]);
    // Version 2 alone decrypts everything now.
    const onlyNew = { current: 2, keys: new Map([[2, ring.keys.get(2)!]]) };
    const [{ id }] = await tdb.db('devices').select('id');
    assert.deepEqual(await loadSecrets(tdb.db, onlyNew, id), { password: 'canary-Pa55word-9f3c' });
  });

  it('rejects a malformed SECRETS_KEY with a clear error', () => {
    assert.throws(() => parseKeyring('nonsense'), /SECRETS_KEY must look like/);
    assert.throws(() => parseKeyring(`1:${Buffer.alloc(16).toString('base64')}`), /16 bytes; AES-256 needs 32/);
  });
});
