/**
 * `npm run rotate-secrets-key`: re-encrypt every stored secret (device credentials and
 * alert contact points' signing secrets) under the newest key version, safely while the stack runs (docs/decisions/044-key-rotation-without-loss.md).
 *
 * With the key file (default), `--new-version` first adds a fresh key version to
 * the file — written and fsynced (file, then directory) before a single row is
 * re-encrypted, so no secret is ever sealed under a key that is not durably stored.
 * Running processes pick the new version up from the file by themselves. Old
 * versions stay in the file (they decrypt nothing once rotation finished and can
 * be removed by hand). Rows are re-encrypted one by one under their row lock.
 *
 * With SECRETS_KEY in the environment, add the new version there ("1:<old>,2:<new>"),
 * restart every process with it, then run this to move every secret to it.
 */
import { loadConfig } from '../core/config';
import { createKnex } from '../storage/pool';
import { addKeyVersion, keyFilePath, openKeyring, refreshKeyring, writeKeyFile } from '../storage/secrets';
import { reencryptAllSecrets, secretsUnderOtherKeys } from '../storage/devices';
import { contactPointSecretsUnderOtherKeys, reencryptContactPointSecrets } from '../storage/alerts';

const HELP = `usage: npm run rotate-secrets-key [-- --new-version]

  --new-version   add a new key version to the key file first (key-file mode only)

Re-encrypts every device secret and alert contact point secret under the newest key
version and reports how many.`;

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
  if (args.includes('--new-version') && config.SECRETS_KEY) {
    console.error('SECRETS_KEY is set in the environment: add the new version there ("1:<old>,2:<new>") and run without --new-version.');
    process.exit(2);
  }
  const db = createKnex(config.DATABASE_URL);
  try {
    const opts = { key: config.SECRETS_KEY, keyFile: config.SECRETS_KEY_FILE, dataDir: config.DATA_DIR };
    // Refuses to start from a fresh key or a ring lacking a version the rows use.
    const ring = await openKeyring(db, opts);
    if (args.includes('--new-version')) {
      const next = addKeyVersion(ring);
      const file = keyFilePath(opts);
      writeKeyFile(file, next);
      refreshKeyring(ring, true);
      if (ring.current !== next.current) throw new Error(`the key file ${file} does not hold version ${next.current} after writing it`);
      console.error(`added key version ${ring.current} to ${file} (written and fsynced)`);
    }
    const n = await reencryptAllSecrets(db, ring);
    const left = await secretsUnderOtherKeys(db, ring.current);
    console.log(`re-encrypted ${n} device secrets under key version ${ring.current}; ${left} left under older versions`);
    const c = await reencryptContactPointSecrets(db, ring);
    const cLeft = await contactPointSecretsUnderOtherKeys(db, ring.current);
    console.log(`re-encrypted ${c} alert contact point secrets under key version ${ring.current}; ${cLeft} left under older versions`);
    if (left > 0 || cLeft > 0) process.exit(1);
  } finally {
    await db.destroy();
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
