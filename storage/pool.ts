/**
 * PostgreSQL connections: one `pg` pool and one knex instance per process,
 * with error handlers so a dropped connection never crashes the process.
 */
import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import { createLogger } from '../core/log';

// Return int8 (bigint ids) as numbers: series and device ids stay far below 2^53.
pg.types.setTypeParser(20, (v) => Number(v));

const log = createLogger('db');

/** A pg pool whose idle-client errors are logged, not thrown. */
export function createPool(connectionString: string, max = 10): pg.Pool {
  const pool = new pg.Pool({ connectionString, max, idleTimeoutMillis: 30_000, connectionTimeoutMillis: 10_000 });
  pool.on('error', (err) => log.warn('idle database connection failed', { error: err.message }));
  return pool;
}

/** A knex instance for migrations and CRUD. */
export function createKnex(connectionString: string, max = 5): Knex {
  const db = knexFactory({
    client: 'pg',
    connection: connectionString,
    pool: {
      min: 0,
      max,
      afterCreate: (conn: pg.Client, done: (err: Error | null, conn: pg.Client) => void) => {
        conn.on('error', (err) => log.warn('database connection failed', { error: err.message }));
        done(null, conn);
      },
    },
  });
  return db;
}

/** Whether the database answers a trivial statement (health checks); throws its error when not. */
export async function pingDatabase(pool: pg.Pool): Promise<void> {
  await pool.query('SELECT 1');
}
