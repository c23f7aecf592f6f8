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

/**
 * The connection string with server settings for every session opened on it (libpq's
 * `options`, e.g. `{ statement_timeout: '10000', jit: 'off' }`), added to any it has.
 */
export function withServerSettings(url: string, settings: Record<string, string>): string {
  const entries = Object.entries(settings);
  if (entries.length === 0) return url;
  const u = new URL(url);
  const options = [u.searchParams.get('options'), ...entries.map(([k, v]) => `-c ${k}=${v}`)].filter(Boolean).join(' ');
  u.searchParams.set('options', options);
  return u.toString();
}

/**
 * The settings of connections that run fleet and history queries (query/): PostgreSQL's JIT
 * off unless `QUERY_JIT` asks for it (ADR 175: it compiled the fleet statements' plans for
 * 0.4–0.5 s of every answer, more than it saved).
 */
export function queryConnectionSettings(config: { QUERY_JIT: boolean }): Record<string, string> {
  return config.QUERY_JIT ? {} : { jit: 'off' };
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

/** Whether the database answers a trivial statement (health checks), through a pg pool or a knex instance; throws its error when not. */
export async function pingDatabase(db: pg.Pool | Knex): Promise<void> {
  if (db instanceof pg.Pool) await db.query('SELECT 1');
  else await db.raw('SELECT 1');
}
