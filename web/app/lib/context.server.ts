/**
 * Process-wide server resources of the web app (database, Temporal client,
 * live hub), created once and shared by every loader and action.
 */
import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import type pg from 'pg';
import { loadConfig, type Config } from '../../../core/config';
import { createKnex, createPool } from '../../../activities/db/pool';
import { connectClient } from '../../../temporal/client';
import { LiveHub } from './live-hub.server';

interface WebContext {
  config: Config;
  db: Knex;
  pool: pg.Pool;
  hub: LiveHub;
  temporal?: Promise<Client>;
}

const g = globalThis as typeof globalThis & { __switchTelemetry?: WebContext };

/** The shared context (created on first use). */
export function ctx(): WebContext {
  if (!g.__switchTelemetry) {
    const config = loadConfig();
    const pool = createPool(config.DATABASE_URL, 10);
    g.__switchTelemetry = {
      config,
      db: createKnex(config.DATABASE_URL, 5),
      pool,
      hub: new LiveHub({ pool, connectionString: config.DATABASE_URL }),
    };
  }
  return g.__switchTelemetry;
}

/** The Temporal client (connected on first use; a failed connect is retried next time). */
export async function temporalClient(): Promise<Client> {
  const c = ctx();
  if (!c.temporal) {
    c.temporal = connectClient(c.config);
    c.temporal.catch(() => {
      c.temporal = undefined;
    });
  }
  return c.temporal;
}

/** Close everything (server shutdown). */
export async function closeContext(): Promise<void> {
  const c = g.__switchTelemetry;
  if (!c) return;
  g.__switchTelemetry = undefined;
  await c.hub.close();
  if (c.temporal) await (await c.temporal.catch(() => undefined))?.connection.close();
  await c.db.destroy();
  await c.pool.end();
}
