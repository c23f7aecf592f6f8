/**
 * Process-wide server resources of the web app (database, Temporal client,
 * live hub, secrets keyring, session cookie), created once and shared by every
 * loader and action. Tests point it at their own database with resetContext().
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import type pg from 'pg';
import { createCookie, type Cookie } from 'react-router';
import { loadConfig, resetConfig, type Config } from '../../../core/config';
import { createKnex, createPool, queryConnectionSettings, withServerSettings } from '../../../storage/pool';
import { loadKeyring, type Keyring } from '../../../storage/secrets';
import { connectClient } from '../../../temporal/client';
import { LiveHub } from './live-hub.server';
import { SignInThrottle } from './signin-throttle.server';

interface WebContext {
  config: Config;
  /** Pages and APIs (statement_timeout WEB_STATEMENT_TIMEOUT_MS). */
  db: Knex;
  pool: pg.Pool;
  /** The live hub's own connections: its shared read and subscribers' backfills never wait behind page queries. */
  livePool: pg.Pool;
  replayPool: pg.Pool;
  hub: LiveHub;
  /** Encrypts device secrets written from the UI (never decrypted for display). */
  keyring: Keyring;
  /** The signed, HttpOnly session cookie carrying a sign-in token. */
  sessionCookie: Cookie;
  /** Signed, long-lived: accounts this browser signed in to before (exempts it from the account-wide sign-in limit). */
  knownBrowserCookie: Cookie;
  /** Sign-in throttling of this process (ADR 051). */
  throttle: SignInThrottle;
  temporal?: Promise<Client>;
}

const g = globalThis as typeof globalThis & { __switchTelemetry?: WebContext };

/**
 * Secrets that sign the session cookie: SESSION_SECRET (comma-separated, the
 * first signs, all verify), else a random one kept in <DATA_DIR>/session.secret.
 */
export function sessionSecrets(config: Config): string[] {
  if (config.SESSION_SECRET) return config.SESSION_SECRET.split(',').map((s) => s.trim()).filter(Boolean);
  const file = path.join(config.DATA_DIR, 'session.secret');
  try {
    return [fs.readFileSync(file, 'utf8').trim()];
  } catch {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const secret = crypto.randomBytes(32).toString('base64url');
    try {
      fs.writeFileSync(file, secret + '\n', { mode: 0o600, flag: 'wx' });
      return [secret];
    } catch {
      return [fs.readFileSync(file, 'utf8').trim()]; // another process created it first
    }
  }
}

/** The connection string with a server-side statement timeout for every query on it. */
export function withStatementTimeout(url: string, ms: number): string {
  return ms <= 0 ? url : withServerSettings(url, { statement_timeout: String(ms) });
}

/** The shared context (created on first use). */
export function ctx(): WebContext {
  if (!g.__switchTelemetry) {
    // Read the environment afresh (not the module-level cache): tests reset the context between databases.
    const config = loadConfig({ ...process.env });
    const url = withServerSettings(withStatementTimeout(config.DATABASE_URL, config.WEB_STATEMENT_TIMEOUT_MS), queryConnectionSettings(config));
    const pool = createPool(url, 10);
    const livePool = createPool(url, 2);
    const replayPool = createPool(url, 2);
    g.__switchTelemetry = {
      config,
      db: createKnex(url, 5),
      pool,
      livePool,
      replayPool,
      hub: new LiveHub({
        pool: livePool,
        replayPool,
        connectionString: config.DATABASE_URL,
        replayWindowMs: config.WEB_LIVE_REPLAY_MS,
        maxConcurrentReplays: 2,
        maxStreamsPerUser: config.WEB_LIVE_STREAMS_PER_USER,
        maxStreams: config.WEB_LIVE_STREAMS_TOTAL,
      }),
      keyring: loadKeyring({ key: config.SECRETS_KEY, keyFile: config.SECRETS_KEY_FILE, dataDir: config.DATA_DIR }),
      sessionCookie: createCookie('st_session', {
        httpOnly: true,
        sameSite: 'lax',
        secure: config.WEB_COOKIE_SECURE,
        path: '/',
        maxAge: config.SESSION_MAX_AGE_HOURS * 3600,
        secrets: sessionSecrets(config),
      }),
      knownBrowserCookie: createCookie('st_known', {
        httpOnly: true,
        sameSite: 'lax',
        secure: config.WEB_COOKIE_SECURE,
        path: '/login',
        maxAge: 180 * 24 * 3600,
        secrets: sessionSecrets(config),
      }),
      throttle: new SignInThrottle({
        freeFailures: config.WEB_SIGNIN_FREE_FAILURES,
        maxDelayS: config.WEB_SIGNIN_MAX_DELAY_S,
        clientFailures: config.WEB_SIGNIN_CLIENT_FAILURES,
      }),
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
  await c.livePool.end();
  await c.replayPool.end();
}

/** Close the context and re-read the environment on next use (tests switch databases this way). */
export async function resetContext(): Promise<void> {
  await closeContext();
  resetConfig();
}
