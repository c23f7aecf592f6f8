/** Scratch databases for the storage benchmarks, on the server DATABASE_URL points at. */
import crypto from 'node:crypto';
import pg from 'pg';
import { loadConfig } from '../../core/config';

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

