/**
 * PostgreSQL for the start and test scripts: DATABASE_URL when set; otherwise a
 * cluster this project manages (Debian's PostgreSQL installed when absent),
 * listening on 127.0.0.1 only, with the database created.
 */
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import pg from 'pg';
import { aptInstall, isRoot } from './apt';
import { run } from './proc';

/** A database the caller can use. */
export interface ManagedPostgres {
  url: string;
  /** Stops the cluster if we started it. */
  stop(): Promise<void>;
}

/** Newest installed PostgreSQL bin folder, or undefined. */
export function findPostgresBin(): string | undefined {
  const base = '/usr/lib/postgresql';
  if (fs.existsSync(base)) {
    const versions = fs
      .readdirSync(base)
      .filter((v) => fs.existsSync(path.join(base, v, 'bin', 'pg_ctl')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions.length) return path.join(base, versions[0], 'bin');
  }
  return undefined;
}

/** Install Debian's PostgreSQL when no server binaries exist (root only). */
export async function installPostgres(): Promise<string> {
  const existing = findPostgresBin();
  if (existing) return existing;
  if (!isRoot()) throw new Error('PostgreSQL is not installed. Install it (apt-get install postgresql) or set DATABASE_URL.');
  await aptInstall('PostgreSQL', ['postgresql', 'postgresql-contrib']);
  // Debian's package starts its own cluster on 5432; we leave it alone and run ours.
  const bin = findPostgresBin();
  if (!bin) throw new Error('apt-get installed postgresql but no server binaries were found');
  return bin;
}

/** Run a PostgreSQL tool: as the postgres user when we are root (the server refuses root). */
function pgTool(bin: string, tool: string, args: string[]) {
  const exe = path.join(bin, tool);
  return isRoot() ? run('runuser', ['-u', 'postgres', '--', exe, ...args], { quiet: true, cwd: '/' }) : run(exe, args, { quiet: true });
}

/** A folder the postgres user can reach: `preferred` when it can, else one under /var/lib. */
function clusterDir(preferred: string): string {
  if (!isRoot()) return preferred;
  // Every parent must be traversable by the postgres user.
  let dir = path.resolve(preferred);
  for (;;) {
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
    if (fs.existsSync(dir) && (fs.statSync(dir).mode & 0o001) === 0) {
      const fallback = path.join('/var/lib/switch-telemetry', Buffer.from(path.resolve(preferred)).toString('base64url').slice(-40));
      return fallback;
    }
  }
  return preferred;
}

/** Options of the managed cluster. */
export interface ClusterOptions {
  dir: string;
  port: number;
  database: string;
  /** Faster, not crash-safe: for throwaway test clusters. */
  ephemeral?: boolean;
  /** More `name=value` server settings. */
  extraSettings?: string[];
}

/** Start (creating if needed) the managed cluster and database. */
export async function startManagedPostgres(opts: ClusterOptions): Promise<ManagedPostgres> {
  const bin = await installPostgres();
  const dir = clusterDir(opts.dir);
  const socketDir = os.tmpdir();
  fs.mkdirSync(path.dirname(dir), { recursive: true, mode: 0o755 });
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (isRoot()) await run('chown', ['-R', 'postgres:postgres', dir], { quiet: true });
  if (!fs.existsSync(path.join(dir, 'PG_VERSION'))) {
    process.stderr.write(`PostgreSQL: creating a cluster in ${dir}\n`);
    await pgTool(bin, 'initdb', ['-D', dir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8']);
  }
  const url = `postgres://postgres@127.0.0.1:${opts.port}/${opts.database}`;
  let startedHere = false;
  const running = await pgTool(bin, 'pg_ctl', ['-D', dir, 'status']).then(
    () => true,
    () => false,
  );
  if (!running) {
    const settings = [
      `-p ${opts.port}`,
      `-k ${socketDir}`,
      `-c listen_addresses=127.0.0.1`,
      `-c max_connections=200`,
      `-c shared_buffers=256MB`,
      ...(opts.ephemeral ? ['-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off'] : []),
      ...(opts.extraSettings ?? []).map((s) => `-c ${s}`),
    ].join(' ');
    await pgTool(bin, 'pg_ctl', ['-D', dir, '-o', settings, '-l', path.join(dir, 'server.log'), '-w', '-t', '60', 'start']);
    startedHere = true;
    process.stderr.write(`PostgreSQL: started on 127.0.0.1:${opts.port} (data ${dir})\n`);
  }
  await ensureDatabase(`postgres://postgres@127.0.0.1:${opts.port}/postgres`, opts.database);
  return {
    url,
    stop: async () => {
      if (!startedHere) return;
      await pgTool(bin, 'pg_ctl', ['-D', dir, '-m', 'fast', '-w', 'stop']).catch(() => undefined);
      if (opts.ephemeral) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Create the database if it does not exist. */
export async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const res = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (res.rowCount === 0) await client.query(`CREATE DATABASE "${database.replace(/"/g, '""')}"`);
  } finally {
    await client.end();
  }
}

/** Use DATABASE_URL when given, else the managed cluster. */
export async function ensurePostgres(opts: ClusterOptions & { databaseUrl?: string }): Promise<ManagedPostgres> {
  if (opts.databaseUrl) {
    const client = new pg.Client({ connectionString: opts.databaseUrl });
    await client.connect().catch((err: Error) => {
      throw new Error(`Cannot connect to DATABASE_URL: ${err.message}`);
    });
    await client.end();
    return { url: opts.databaseUrl, stop: async () => undefined };
  }
  return startManagedPostgres(opts);
}
