/**
 * Key rotation under a running stack (issue 14 item 9, part of `npm test`): the
 * collector, control worker and web app read the key from a key file; devices
 * stream with passwords the simulated switches check; an admin keeps editing a
 * device in the web app (each save merges new secrets into the stored ones and
 * reconfigures the session, so the collector decrypts again) while
 * `rotate-secrets-key --new-version` runs. Afterwards every row is under the new
 * version, every secret decrypts to what was last saved, no save failed, no
 * session is parked and every device keeps storing points.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { loadSecrets } from '../../storage/devices';
import { loadKeyring } from '../../storage/secrets';
import { startRig, RIG_ROOT, type Rig } from '../support/faults-rig';
import { webClient, type WebClient } from '../support/faults-web';
import { TEST_SECRETS_KEY } from '../support/system';

const run = promisify(execFile);
const PASSWORD = `rot-${Math.random().toString(36).slice(2, 8)}`;

describe('secrets key rotation under a running stack: nothing lost, nothing parked', function () {
  this.timeout(240_000);
  let rig: Rig;
  let web: WebClient;
  const keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'st-keyrot-'));
  const keyFile = path.join(keyDir, 'secrets.key');

  before(async () => {
    // The rig seeds its devices under TEST_SECRETS_KEY: the key file starts with that ring.
    fs.writeFileSync(keyFile, TEST_SECRETS_KEY + '\n', { mode: 0o600 });
    rig = await startRig({
      label: 'rel_keyrot',
      devices: 3,
      interfaces: 2,
      sampleMs: 500,
      password: PASSWORD,
      web: true,
      env: { SECRETS_KEY: '', SECRETS_KEY_FILE: keyFile },
      sessionOptions: { initialBackoffMs: 500, maxBackoffMs: 2000 },
    });
    web = await webClient(rig.web!.url);
  });

  after(async () => {
    await rig?.stop();
    fs.rmSync(keyDir, { recursive: true, force: true });
  });

  /** Save device `i` in the web app with a new passphrase (merged into its stored secrets); returns the status. */
  const save = async (i: number, passphrase: string): Promise<number> => {
    const d = rig.devices[i];
    const form = new URLSearchParams({
      name: d.name,
      protocol: 'gnmi',
      host: '127.0.0.1',
      port: String(d.member.port),
      username: 'admin',
      enabled: 'on',
      'gnmi.tls': 'insecure',
      'gnmi.allowPlaintextCredentials': 'on',
      'secrets.passphrase': passphrase,
    });
    for (const id of await rig.tdb.db('device_profiles').where({ device_id: d.id }).pluck('profile_id')) form.append('profileIds', String(id));
    const res = await web.fetch(`/devices/${d.id}/edit`, { method: 'POST', body: form, headers: { origin: web.base, 'content-type': 'application/x-www-form-urlencoded' } });
    await res.arrayBuffer();
    return res.status;
  };

  it('rotates while device 0 is being edited and every session streams', async () => {
    const statuses: number[] = [];
    let last = '';
    let editing = true;
    const edits = (async () => {
      for (let n = 1; editing || n < 4; n++) {
        last = `edit-${n}`;
        statuses.push(await save(0, last));
      }
    })();
    const { SECRETS_KEY: _ignored, ...inherited } = process.env;
    const { stdout } = await run(process.execPath, ['--import', 'tsx', path.join(RIG_ROOT, 'scripts/rotate-secrets-key.ts'), '--new-version'], {
      env: { ...inherited, DATABASE_URL: rig.tdb.url, DATA_DIR: path.join(rig.tmp, 'data'), SECRETS_KEY_FILE: keyFile },
      cwd: RIG_ROOT,
    });
    editing = false;
    await edits;
    assert.match(stdout, /under key version 2; 0 left under older versions/);
    assert.ok(statuses.length >= 4, `saved ${statuses.length} times`);
    assert.deepEqual([...new Set(statuses)], [302], `every save succeeded: ${statuses.join(',')}`);

    // Every other device is saved once after the rotation too: its session restarts and the
    // collector (which loaded version 1 only) must decrypt a version-2 row.
    const restartedAt = Date.now();
    for (let i = 1; i < rig.devices.length; i++) assert.equal(await save(i, 'after-rotation'), 302);

    const ring = loadKeyring({ dataDir: keyDir });
    assert.equal(ring.current, 2);
    assert.deepEqual(await rig.tdb.db('device_credentials').distinct('key_version').pluck('key_version'), [2]);
    for (const [i, d] of rig.devices.entries()) {
      assert.deepEqual(await loadSecrets(rig.tdb.db, ring, d.id), { password: PASSWORD, passphrase: i === 0 ? last : 'after-rotation' }, d.name);
    }
    await rig.waitAllFlowing(restartedAt + 1000, 60_000);
    await rig.waitAllStreaming(30_000); // throws naming every session's state unless all stream
    const logs = rig.processes.map((p) => p.output()).join('\n');
    assert.doesNotMatch(logs, /key version 2, which this keyring lacks/);
  });
});
