/**
 * Throwaway services for test and benchmark runs: a PostgreSQL cluster in a
 * temporary folder (TimescaleDB preloaded when asked and available) and an in-memory, headless Temporal dev server, each on a
 * free loopback port.
 */
import path from 'node:path';
import { startDevServer } from './temporal-dev-server';
import { installPostgres, startManagedPostgres } from './postgres';
import { freePort } from './proc';
import { ensureTimescaleDb, type TimescaleDbStatus } from './timescaledb';

/** Running throwaway services. */
export interface ThrowawayServices {
  databaseUrl: string;
  adminDatabaseUrl: string;
  temporalAddress: string;
  temporalNamespace: string;
  /** Whether the cluster preloads TimescaleDB (asked for with `timescaledb`), and if not, why. */
  timescaledb: TimescaleDbStatus;
  stop(): Promise<void>;
}

/**
 * Start PostgreSQL (database `database`; scram-sha-256, password under `tmpDir`) and Temporal
 * under `tmpDir`. With `timescaledb`, TimescaleDB is built or reused (TIMESCALEDB_SOURCE) and
 * preloaded when it can be had; the result says whether it was.
 */
export async function startThrowawayServices(
  tmpDir: string,
  database: string,
  opts: { pgSettings?: string[]; timescaledb?: boolean; timescaledbSource?: string; temporalMetricsPort?: number } = {},
): Promise<ThrowawayServices> {
  const pgPort = await freePort();
  // A bad checksum or a failed build makes TimescaleDB unavailable, with the reason, not the whole run fail.
  const timescaledb: TimescaleDbStatus = opts.timescaledb
    ? await ensureTimescaleDb(await installPostgres(), { source: opts.timescaledbSource }).catch((err: Error) => ({ available: false, reason: err.message }))
    : { available: false, reason: 'not asked for' };
  const pg = await startManagedPostgres({
    dir: path.join(tmpDir, 'postgres'),
    port: pgPort,
    database,
    ephemeral: true,
    extraSettings: opts.pgSettings,
    timescaledb: timescaledb.available,
  });
  try {
    const temporal = await startDevServer({ port: await freePort(), uiPort: await freePort(), headless: true, quiet: true, metricsPort: opts.temporalMetricsPort });
    return {
      databaseUrl: pg.url,
      adminDatabaseUrl: pg.adminUrl,
      temporalAddress: temporal.address,
      temporalNamespace: temporal.namespace,
      timescaledb,
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
