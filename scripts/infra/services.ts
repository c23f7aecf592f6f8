/**
 * Throwaway services for test and benchmark runs: a PostgreSQL cluster in a
 * temporary folder and an in-memory, headless Temporal dev server, each on a
 * free loopback port.
 */
import path from 'node:path';
import { startDevServer } from '../../temporal/dev-server';
import { startManagedPostgres } from './postgres';
import { freePort } from './proc';

/** Running throwaway services. */
export interface ThrowawayServices {
  databaseUrl: string;
  adminDatabaseUrl: string;
  temporalAddress: string;
  temporalNamespace: string;
  stop(): Promise<void>;
}

/** Start PostgreSQL (database `database`) and Temporal under `tmpDir`. */
export async function startThrowawayServices(tmpDir: string, database: string, opts: { pgSettings?: string[] } = {}): Promise<ThrowawayServices> {
  const pgPort = await freePort();
  const pg = await startManagedPostgres({ dir: path.join(tmpDir, 'postgres'), port: pgPort, database, ephemeral: true, extraSettings: opts.pgSettings });
  try {
    const temporal = await startDevServer({ port: await freePort(), uiPort: await freePort(), headless: true, quiet: true });
    return {
      databaseUrl: pg.url,
      adminDatabaseUrl: `postgres://postgres@127.0.0.1:${pgPort}/postgres`,
      temporalAddress: temporal.address,
      temporalNamespace: temporal.namespace,
      async stop() {
        await temporal.stop().catch((err) => console.error(err));
        await pg.stop();
      },
    };
  } catch (err) {
    await pg.stop();
    throw err;
  }
}
