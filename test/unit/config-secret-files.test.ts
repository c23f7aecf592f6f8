/**
 * Secret settings from files (Compose and Kubernetes secrets are mounted files):
 * DATABASE_URL_FILE, DATABASE_PASSWORD_FILE, SESSION_SECRET_FILE, TEMPORAL_API_KEY_FILE.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../core/config';

describe('secret settings from files', () => {
  let dir: string;
  const file = (name: string, text: string) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, text, { mode: 0o600 });
    return p;
  };
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'config-files-'))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads each *_FILE once, dropping the trailing newline a secret file usually ends with', () => {
    const c = loadConfig({
      DATABASE_URL_FILE: file('url', 'postgres://app:pw@db.example:5432/telemetry\n'),
      SESSION_SECRET_FILE: file('session', 'a-session-secret-of-32-characters\n'),
      TEMPORAL_API_KEY_FILE: file('apikey', 'key-123\n'),
    });
    assert.equal(c.DATABASE_URL, 'postgres://app:pw@db.example:5432/telemetry');
    assert.equal(c.SESSION_SECRET, 'a-session-secret-of-32-characters');
    assert.equal(c.TEMPORAL_API_KEY, 'key-123');
  });

  it('says which services the environment names instead of the embedded ones npm start runs (scripts/up.ts reads only this)', () => {
    assert.deepEqual(loadConfig({}).external, { database: false, temporal: false });
    assert.deepEqual(loadConfig({ DATABASE_URL_FILE: file('url2', 'postgres://app:pw@db:5432/t\n'), TEMPORAL_ADDRESS: 'temporal:7233' }).external, { database: true, temporal: true });
    assert.deepEqual(loadConfig({ DATABASE_URL: 'postgres://app@db:5432/t', TEMPORAL_ADDRESS: '' }).external, { database: true, temporal: false });
  });

  it('puts DATABASE_PASSWORD_FILE into DATABASE_URL, escaped', () => {
    const c = loadConfig({ DATABASE_URL: 'postgres://app@db:5432/telemetry', DATABASE_PASSWORD_FILE: file('pw', 'p@ss:w/rd%\n') });
    const url = new URL(c.DATABASE_URL);
    assert.equal(decodeURIComponent(url.password), 'p@ss:w/rd%');
    assert.equal(url.username, 'app');
    assert.equal(url.host, 'db:5432');
  });

  it('validates file contents like the variable, and names the file but never its contents', () => {
    assert.throws(() => loadConfig({ SESSION_SECRET_FILE: file('short', 'tooshort\n') }), /SESSION_SECRET/);
    assert.throws(() => loadConfig({ SESSION_SECRET_FILE: path.join(dir, 'missing') }), /SESSION_SECRET_FILE: cannot read .*missing \(ENOENT\)/);
    assert.throws(() => loadConfig({ SESSION_SECRET: 'x'.repeat(20), SESSION_SECRET_FILE: file('s2', 'y'.repeat(20)) }), /not both/);
    assert.throws(() => loadConfig({ DATABASE_URL: 'postgres://app:old@db/t', DATABASE_PASSWORD_FILE: file('pw2', 'new') }), /already carries a password/);
    try {
      loadConfig({ DATABASE_URL: 'postgres://app:old@db/t', DATABASE_PASSWORD_FILE: file('pw3', 'hunter2-secret') });
      assert.fail('expected an error');
    } catch (err) {
      assert.doesNotMatch((err as Error).message, /hunter2-secret|old/);
    }
  });
});
