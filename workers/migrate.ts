/**
 * The `migrate` role: run once before the other roles (a Job / one-shot
 * service). Brings the database schema up to date and registers the project's
 * search attributes on TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE, then exits 0.
 * Both steps are idempotent, so running it again (every deploy) is safe.
 */
import { loadConfig } from '../core/config';
import { createLogger } from '../core/log';
import { SEARCH_ATTRIBUTE_DEFINITIONS } from '../core/names';
import { createKnex } from '../storage/pool';
import { migrateLatest } from '../migrations/index';
import type { Connection } from '@temporalio/client';
import { connectClient } from '../temporal/client';
import { ensureSearchAttributes } from '../temporal/search-attributes';

const log = createLogger('migrate');

async function main() {
  const config = loadConfig();
  const db = createKnex(config.DATABASE_URL);
  try {
    const applied = await migrateLatest(db);
    log.info(applied.length ? 'migrations applied' : 'database schema is up to date', { applied });
  } finally {
    await db.destroy();
  }
  // connectClient connects with Connection.connect (TLS or API key from the settings).
  const client = await connectClient(config);
  try {
    await ensureSearchAttributes(config.TEMPORAL_ADDRESS, config.TEMPORAL_NAMESPACE, client.connection as Connection).catch((err: Error) => {
      const names = SEARCH_ATTRIBUTE_DEFINITIONS.map(([name, type]) => `${name} (${type})`).join(', ');
      // Temporal Cloud refuses the operator API to namespace keys: the attributes are created in its UI or with tcld.
      throw new Error(`could not register the search attributes ${names} on namespace ${config.TEMPORAL_NAMESPACE}: ${err.message}`);
    });
    log.info('search attributes registered', { namespace: config.TEMPORAL_NAMESPACE, names: SEARCH_ATTRIBUTE_DEFINITIONS.map(([name]) => name) });
  } finally {
    await client.connection.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
