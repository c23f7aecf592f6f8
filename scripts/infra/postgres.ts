/**
 * PostgreSQL for the start and test scripts: DATABASE_URL when set; otherwise a
 * cluster this project manages (Debian's PostgreSQL installed when absent),
 * listening on 127.0.0.1 only, with the database created.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import pg from 'pg';
import { aptInstall, isRoot } from './apt';
import { run } from './proc';
import { installedTimescaleDbFor as timescaleDbInstalled } from './timescaledb';

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
  /**
   * Preload TimescaleDB (`shared_preload_libraries`, `timescaledb.telemetry_level=off`). The
   * extension must be installed for this PostgreSQL: call ensureTimescaleDb first.
   */
  timescaledb?: boolean;
  /** Where the generated password of user postgres is kept (0600); default `postgres.password` next to `dir`. */
  passwordFile?: string;
}

/** A managed cluster: its database URL and the admin URL (database `postgres`), both carrying the password. */
export interface ManagedCluster extends ManagedPostgres {
  adminUrl: string;
  /** Whether the server preloads TimescaleDB. */
  timescaledb: boolean;
}

/** The settings a TimescaleDB cluster needs (also for clusters started by other scripts). */
export const TIMESCALEDB_SETTINGS = ['shared_preload_libraries=timescaledb', 'timescaledb.telemetry_level=off'];

/** Server settings on the command line, merging preload lists (TimescaleDB first). */
function serverSettings(opts: ClusterOptions): string[] {
  const extra = [...(opts.timescaledb ? TIMESCALEDB_SETTINGS : []), ...(opts.extraSettings ?? [])];
  const preload = extra
    .filter((s) => s.startsWith('shared_preload_libraries='))
    .flatMap((s) => s.slice('shared_preload_libraries='.length).replace(/'/g, '').split(','))
    .map((l) => l.trim())
    .filter(Boolean);
  return [
    'listen_addresses=127.0.0.1',
    'max_connections=200',
    'shared_buffers=256MB',
    ...(opts.ephemeral ? ['fsync=off', 'synchronous_commit=off', 'full_page_writes=off'] : []),
    ...(preload.length ? [`shared_preload_libraries=${[...new Set(preload)].join(',')}`] : []),
    ...extra.filter((s) => !s.startsWith('shared_preload_libraries=')),
  ];
}

/**
 * The socket folder, private to the cluster (mode 0700, owned by the server's user):
 * `<dir>-socket`, or a fixed folder under the temporary directory when that path would
 * be too long for a Unix socket.
 */
function socketDirFor(dir: string, port: number): string {
  const beside = `${dir}-socket`;
  if (Buffer.byteLength(`${beside}/.s.PGSQL.${port}.lock`) <= 100) return beside;
  return path.join(os.tmpdir(), `switch-telemetry-pg-${crypto.createHash('sha256').update(dir).digest('hex').slice(0, 16)}`);
}

/** Create `dir` as a 0700 folder of the cluster's owner; refuse one somebody else prepared. */
function privateDir(dir: string, owner: { uid: number; gid: number }): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = fs.lstatSync(dir);
  if (!st.isDirectory()) throw new Error(`${dir} is not a folder`);
  if (st.uid !== owner.uid) {
    if (st.uid !== process.getuid?.()) throw new Error(`${dir} belongs to uid ${st.uid}, not the PostgreSQL server's user: remove it`);
    fs.chownSync(dir, owner.uid, owner.gid);
  }
  fs.chmodSync(dir, 0o700);
}

/** The password of user postgres: kept in `file` (0600), generated when absent. */
function clusterPassword(file: string): { password: string; created: boolean } {
  if (fs.existsSync(file)) {
    const password = fs.readFileSync(file, 'utf8').trim();
    if (password) {
      if ((fs.statSync(file).mode & 0o077) !== 0) fs.chmodSync(file, 0o600);
      return { password, created: false };
    }
  }
  const password = crypto.randomBytes(24).toString('base64url');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${password}\n`, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
  return { password, created: true };
}

/** Non-comment lines of pg_hba.conf that trust anyone. */
function trustLines(hbaFile: string): number {
  return fs
    .readFileSync(hbaFile, 'utf8')
    .split('\n')
    .filter((l) => !l.trim().startsWith('#') && /\strust\s*$/.test(l.replace(/#.*/, ''))).length;
}

function urlFor(password: string, port: number, database: string): string {
  return `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
}

/**
 * Start (creating if needed) the managed cluster and database. Authentication is
 * scram-sha-256 for every connection, with the password in `passwordFile`; the socket
 * lives in a folder only the server's user can enter. A cluster created by an earlier
 * version with `trust` is switched to scram-sha-256 on its next start; a running cluster
 * whose preload or socket folder differs from what is asked is restarted.
 */
export async function startManagedPostgres(opts: ClusterOptions): Promise<ManagedCluster> {
  const bin = await installPostgres();
  if (opts.timescaledb && !(await timescaleDbInstalled(bin))) {
    throw new Error('startManagedPostgres: timescaledb was asked for but the extension is not installed for this PostgreSQL (call ensureTimescaleDb first)');
  }
  const dir = clusterDir(opts.dir);
  const passwordFile = opts.passwordFile ?? path.join(path.dirname(path.resolve(opts.dir)), 'postgres.password');
  fs.mkdirSync(path.dirname(dir), { recursive: true, mode: 0o755 });
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (isRoot()) await run('chown', ['-R', 'postgres:postgres', dir], { quiet: true });
  const owner = { uid: fs.statSync(dir).uid, gid: fs.statSync(dir).gid };
  const socketDir = socketDirFor(dir, opts.port);
  privateDir(socketDir, owner);
  const { password, created } = clusterPassword(passwordFile);
  if (created && fs.existsSync(path.join(dir, 'PG_VERSION')) && trustLines(path.join(dir, 'pg_hba.conf')) === 0) {
    fs.rmSync(passwordFile, { force: true });
    throw new Error(
      `The PostgreSQL cluster in ${dir} uses a password kept in ${passwordFile}, which is missing: restore that file, ` +
        `or remove ${dir} to start afresh (its data is lost), or set DATABASE_URL.`,
    );
  }
  if (!fs.existsSync(path.join(dir, 'PG_VERSION'))) {
    process.stderr.write(`PostgreSQL: creating a cluster in ${dir} (scram-sha-256; password in ${passwordFile})\n`);
    // initdb reads the password from a file the server's user can read; it is removed at once.
    const pwDir = fs.mkdtempSync(path.join(os.tmpdir(), 'st-initdb-'));
    const pwFile = path.join(pwDir, 'pw');
    try {
      fs.writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
      fs.chownSync(pwDir, owner.uid, owner.gid);
      fs.chownSync(pwFile, owner.uid, owner.gid);
      await pgTool(bin, 'initdb', ['-D', dir, '-U', 'postgres', '--auth=scram-sha-256', `--pwfile=${pwFile}`, '-E', 'UTF8', '--locale=C.UTF-8']);
    } finally {
      fs.rmSync(pwDir, { recursive: true, force: true });
    }
  }
  const settings = serverSettings(opts);
  const optionString = [`-p ${opts.port}`, `-k ${socketDir}`, ...settings.map((s) => `-c ${s}`)].join(' ');
  const pgCtlStart = (action: 'start' | 'restart') =>
    pgTool(bin, 'pg_ctl', ['-D', dir, '-o', optionString, '-l', path.join(dir, 'server.log'), '-w', '-t', '60', action]);
  let startedHere = false;
  const running = await pgTool(bin, 'pg_ctl', ['-D', dir, 'status']).then(
    () => true,
    () => false,
  );
  if (!running) {
    await pgCtlStart('start');
    startedHere = true;
    process.stderr.write(`PostgreSQL: started on 127.0.0.1:${opts.port} (data ${dir}${opts.timescaledb ? ', TimescaleDB preloaded' : ''})\n`);
  }
  const adminUrl = urlFor(password, opts.port, 'postgres');
  await upgradeTrustCluster(dir, owner, password, opts.port);
  if (running && (await needsRestart(adminUrl, opts, socketDir))) {
    process.stderr.write(`PostgreSQL: restarting the running cluster in ${dir} (TimescaleDB preload ${opts.timescaledb ? 'on' : 'off'}, socket in ${socketDir})\n`);
    await pgCtlStart('restart');
    startedHere = true;
  }
  await ensureDatabase(adminUrl, opts.database);
  return {
    url: urlFor(password, opts.port, opts.database),
    adminUrl,
    timescaledb: Boolean(opts.timescaledb),
    stop: async () => {
      if (!startedHere) return;
      await pgTool(bin, 'pg_ctl', ['-D', dir, '-m', 'fast', '-w', 'stop']).catch(() => undefined);
      if (opts.ephemeral) {
        fs.rmSync(dir, { recursive: true, force: true });
        fs.rmSync(socketDir, { recursive: true, force: true });
      }
    },
  };
}

/**
 * A cluster created by an earlier version trusts every local connection: give user postgres
 * the generated password, switch pg_hba.conf to scram-sha-256 and reload.
 */
async function upgradeTrustCluster(dir: string, owner: { uid: number; gid: number }, password: string, port: number): Promise<void> {
  const hba = path.join(dir, 'pg_hba.conf');
  if (trustLines(hba) === 0) return;
  const client = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres` });
  await client.connect();
  try {
    await client.query(`SET password_encryption = 'scram-sha-256'`);
    await client.query(`ALTER ROLE postgres PASSWORD ${client.escapeLiteral(password)}`);
    const text = fs
      .readFileSync(hba, 'utf8')
      .split('\n')
      .map((l) => (l.trim().startsWith('#') ? l : l.replace(/(\s)trust(\s*(#.*)?)$/, '$1scram-sha-256$2')))
      .join('\n');
    fs.writeFileSync(hba, text);
    fs.chownSync(hba, owner.uid, owner.gid);
    await client.query('SELECT pg_reload_conf()');
  } finally {
    await client.end();
  }
  process.stderr.write('PostgreSQL: the cluster trusted local connections; it now uses scram-sha-256 with the generated password\n');
}

/** A running cluster started without what is asked now (TimescaleDB preload, the private socket folder). */
async function needsRestart(adminUrl: string, opts: ClusterOptions, socketDir: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const preload = (await client.query(`SELECT current_setting('shared_preload_libraries') AS v`)).rows[0].v as string;
    const sockets = (await client.query(`SELECT current_setting('unix_socket_directories') AS v`)).rows[0].v as string;
    const preloaded = preload.split(',').map((s) => s.trim()).includes('timescaledb');
    return Boolean(opts.timescaledb) !== preloaded || sockets.trim() !== socketDir;
  } finally {
    await client.end();
  }
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

/** A database URL fit to print: its password replaced by an ellipsis. */
export function withoutPassword(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:…@');
}
