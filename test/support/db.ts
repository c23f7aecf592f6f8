/**
 * A fresh, migrated database per test file on the test cluster, dropped afterwards,
 * so suites never see each other's rows.
 */
import crypto from 'node:crypto';
import type { Knex } from 'knex';
import pg from 'pg';
import { createKnex, createPool } from '../../storage/pool';
import { loadConfig } from '../../core/config';
import { migrateLatest } from '../../migrations/index';
import { TIMESCALEDB_RELEASE_URL, TIMESCALEDB_VERSION } from '../../scripts/infra/timescaledb';
import { adminDatabaseUrl } from './env';

/** The two storage modes the migrations can create. */
export type StorageMode = 'timescaledb' | 'native';

/** The storage modes the storage suites run in: both, unless TEST_STORAGE_MODES opts out (e.g. `native`). */
export function storageModesUnderTest(): StorageMode[] {
  return [...new Set(loadConfig().TEST_STORAGE_MODES.split(','))] as StorageMode[];
}

/** Why a TimescaleDB-mode test cannot run, naming the setting that fixes it. */
export function timescaleDbMissingMessage(detail: string): string {
  return (
    `TimescaleDB mode: ${detail}${process.env.TEST_TIMESCALEDB_UNAVAILABLE ? ` (${process.env.TEST_TIMESCALEDB_UNAVAILABLE})` : ''}. ` +
    `Set TIMESCALEDB_SOURCE to the TimescaleDB ${TIMESCALEDB_VERSION} source tarball (${TIMESCALEDB_RELEASE_URL}) so npm test builds it, ` +
    'or opt out of TimescaleDB-mode tests with TEST_STORAGE_MODES=native.'
  );
}

/** Throws (a test failure, never a skip) unless the server at `url` preloads TimescaleDB. */
export async function assertTimescaleDbServer(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const res = await client.query(
      `SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb') AS available,
              'timescaledb' = ANY (string_to_array(replace(current_setting('shared_preload_libraries'), ' ', ''), ',')) AS preloaded`,
    );
    const { available, preloaded } = res.rows[0] as { available: boolean; preloaded: boolean };
    if (!available || !preloaded) {
      throw new Error(timescaleDbMissingMessage(available ? 'the test PostgreSQL does not preload TimescaleDB' : 'TimescaleDB is not installed for the test PostgreSQL'));
    }
  } finally {
    await client.end();
  }
}

/** A test database. */
export interface TestDatabase {
  name: string;
  url: string;
  db: Knex;
  pool: pg.Pool;
  drop(): Promise<void>;
}

/**
 * Create and migrate a database named after the suite. The storage mode is explicit (default
 * native, what every suite but the storage ones was written against); `timescaledb` fails
 * with a message naming TIMESCALEDB_SOURCE when the test server does not preload it.
 */
export async function createTestDatabase(label: string, opts: { migrate?: boolean; storage?: StorageMode } = {}): Promise<TestDatabase> {
  const storage = opts.storage ?? 'native';
  if (storage === 'timescaledb') await assertTimescaleDbServer(adminDatabaseUrl());
  const name = `t_${label.replace(/[^a-z0-9]/gi, '_').toLowerCase().slice(0, 30)}_${crypto.randomBytes(3).toString('hex')}`;
  const admin = adminDatabaseUrl();
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  const url = admin.replace(/\/postgres$/, `/${name}`);
  const db = createKnex(url, 5);
  const pool = createPool(url, 5);
  if (opts.migrate !== false) {
    await migrateLatest(db, { storageTimescaledb: storage === 'timescaledb' ? 'on' : 'off' });
    // Device ids (and so workflow ids device-session/<id>) must not collide between
    // test databases that share one Temporal server.
    await db.raw(`SELECT setval('devices_id_seq', ?)`, [crypto.randomInt(1_000, 2_000_000_000)]);
  }
  return {
    name,
    url,
    db,
    pool,
    async drop() {
      await db.destroy();
      await pool.end();
      const c = new pg.Client({ connectionString: admin });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/**
 * Start the suite's alert rule ids at a random point, so its workflow ids `alert-rule/<id>`
 * never meet another suite's rules on a Temporal server the suites share.
 */
export async function spreadAlertRuleIds(db: Knex): Promise<void> {
  await db.raw(`SELECT setval('alert_rules_id_seq', ?)`, [crypto.randomInt(100_000, 2_000_000_000)]);
}

/** Terminate every backend connected to `database` except our own; returns how many. */
export async function terminateBackends(database: string): Promise<number> {
  const admin = new pg.Client({ connectionString: adminDatabaseUrl() });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ n: number }>(
      `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`,
      [database],
    );
    return rows[0].n;
  } finally {
    await admin.end();
  }
}
