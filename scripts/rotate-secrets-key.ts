/**
 * `npm run rotate-secrets-key`: re-encrypt every stored device secret under the
 * newest key version. With the key file (default), `--new-version` first adds a
 * fresh key version to the file; old versions stay in it (they decrypt nothing
 * once rotation finished and can be removed by hand). With SECRETS_KEY in the
 * environment, add the new version there yourself ("1:<old>,2:<new>") and run
 * this to move every secret to it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../core/config';
import { createKnex } from '../activities/db/pool';
import { addKeyVersion, formatKeyring, loadKeyring } from '../activities/db/secrets';
import { reencryptAllSecrets } from '../activities/db/devices';

const HELP = `usage: npm run rotate-secrets-key [-- --new-version]

  --new-version   add a new key version to the key file first (key-file mode only)

Re-encrypts every device secret under the newest key version and reports how many.`;

async function main() {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    console.log(HELP);
    return;
  }
  const unknown = args.filter((a) => a !== '--new-version');
  if (unknown.length) {
    console.error(`unknown argument ${unknown[0]}\n\n${HELP}`);
    process.exit(2);
  }
  const config = loadConfig();
  const oldRing = loadKeyring({ key: config.SECRETS_KEY, keyFile: config.SECRETS_KEY_FILE, dataDir: config.DATA_DIR });
  let ring = oldRing;
  if (args.includes('--new-version')) {
    if (config.SECRETS_KEY) {
      console.error('SECRETS_KEY is set in the environment: add the new version there ("1:<old>,2:<new>") and run without --new-version.');
      process.exit(2);
    }
    ring = addKeyVersion(oldRing);
    const file = config.SECRETS_KEY_FILE ?? path.join(config.DATA_DIR, 'secrets.key');
    const tmp = `${file}.new`;
    fs.writeFileSync(tmp, formatKeyring(ring) + '\n', { mode: 0o600 });
    fs.renameSync(tmp, file);
    console.error(`added key version ${ring.current} to ${file}`);
  }
  const db = createKnex(config.DATABASE_URL);
  try {
    const n = await reencryptAllSecrets(db, oldRing, ring);
    const left = await db('device_credentials').whereNot({ key_version: ring.current }).count<{ count: string }[]>('* as count');
    console.log(`re-encrypted ${n} device secrets under key version ${ring.current}; ${left[0].count} left under older versions`);
    if (Number(left[0].count) > 0) process.exit(1);
  } finally {
    await db.destroy();
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
