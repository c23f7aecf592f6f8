/**
 * A fresh, migrated database per test file on the test cluster, dropped afterwards,
 * so suites never see each other's rows.
 */
import crypto from 'node:crypto';
import type { Knex } from 'knex';
import pg from 'pg';
import { createKnex, createPool } from '../../activities/db/pool';
import { migrateLatest } from '../../migrations/index';
import { adminDatabaseUrl } from './env';

/** A test database. */
export interface TestDatabase {
  name: string;
  url: string;
  db: Knex;
  pool: pg.Pool;
  drop(): Promise<void>;
}

/** Create and migrate a database named after the suite. */
export async function createTestDatabase(label: string, opts: { migrate?: boolean } = {}): Promise<TestDatabase> {
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
    await migrateLatest(db);
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
