/** Scratch databases for the storage benchmarks, on the server DATABASE_URL points at. */
import crypto from 'node:crypto';
import pg from 'pg';
import { loadConfig } from '../../core/config';
import { createKnex, createPool } from '../../storage/pool';

/** A scratch database on the server DATABASE_URL points at. */
export async function scratchDatabase(prefix: string) {
  const base = new URL(loadConfig().DATABASE_URL);
  const name = `${prefix}_${crypto.randomBytes(3).toString('hex')}`;
  const admin = new URL(base);
  admin.pathname = '/postgres';
  const c = new pg.Client({ connectionString: admin.toString() });
  await c.connect();
  await c.query(`CREATE DATABASE ${name}`);
  await c.end();
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const d = new pg.Client({ connectionString: admin.toString() });
      await d.connect();
      await d.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await d.end();
    },
  };
}

/** A scratch database with a knex and a pg pool on it; close() ends both and drops it. */
export async function openScratch(prefix: string, knexSize: number, poolSize: number) {
  const scratch = await scratchDatabase(prefix);
  const db = createKnex(scratch.url, knexSize);
  const pool = createPool(scratch.url, poolSize);
  return {
    url: scratch.url,
    db,
    pool,
    async close() {
      await pool.end();
      await db.destroy();
      await scratch.drop();
    },
  };
}

/** Run a standalone benchmark's main: an error is printed and exits 1. */
export function runBench(main: () => Promise<void>): void {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
