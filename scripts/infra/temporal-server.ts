/**
 * A production-shaped Temporal server for the topology: `go.temporal.io/server`
 * and its SQL schema tool built once from the Go module proxy (cached like the
 * CLI), PostgreSQL persistence and PostgreSQL visibility in databases of their
 * own whose schemas the schema tool sets up and migrates, a config file written
 * here (loopback only, free ports, no archival), the namespace and the
 * project's search attributes — and Temporal Web (the UI server, built the same
 * way) pointed at it. ADR 070 says why each choice was made.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import pg from 'pg';
import YAML from 'yaml';
import { SEARCH_ATTRIBUTE_DEFINITIONS } from '../../core/names';
import { ensureSearchAttributes } from '../../temporal/search-attributes';
import { ensureGoTool, onPath } from './go-tools';
import { ensureDatabase } from './postgres';
import { freePort, isPortOpen, run, startChild, waitFor, type ManagedChild } from './proc';
import { waitForTemporal } from './temporal-dev-server';

/** The server release we build: the newest 1.30.x whose go.mod the local Go (1.26.8) accepts. */
export const TEMPORAL_SERVER_VERSION = '1.30.8';
/** The UI server release we build: the newest whose go.mod asks for Go ≤ 1.26.8 (2.56+ need 1.26.9+). */
export const TEMPORAL_UI_VERSION = '2.55.0';

/** Databases the server owns on the PostgreSQL it is given. */
export const TEMPORAL_DATABASES = { persistence: 'temporal', visibility: 'temporal_visibility' } as const;

const SERVER_TOOL = {
  name: 'temporal-server',
  version: TEMPORAL_SERVER_VERSION,
  packages: [`go.temporal.io/server/cmd/server@v${TEMPORAL_SERVER_VERSION}`, `go.temporal.io/server/cmd/tools/sql@v${TEMPORAL_SERVER_VERSION}`],
  binaries: ['server', 'sql'],
  what: `the Temporal server ${TEMPORAL_SERVER_VERSION} and its SQL schema tool`,
};

const UI_TOOL = {
  name: 'temporal-ui-server',
  version: TEMPORAL_UI_VERSION,
  packages: [`github.com/temporalio/ui-server/v2/cmd/server@v${TEMPORAL_UI_VERSION}`],
  binaries: ['server'],
  what: `Temporal Web (ui-server ${TEMPORAL_UI_VERSION})`,
};

/** Paths of the server and schema-tool binaries, building them on first use. */
export async function ensureTemporalServerBinaries(): Promise<{ server: string; sql: string }> {
  const bins = await ensureGoTool(SERVER_TOOL);
  return { server: bins.server, sql: bins.sql };
}

/** Path of the UI server binary, building it on first use. */
export async function ensureTemporalUiBinary(): Promise<string> {
  return (await ensureGoTool(UI_TOOL)).server;
}

/** Where PostgreSQL is, as the schema tool and the server config want it. */
interface PgTarget {
  host: string;
  port: number;
  user: string;
  password: string;
}

function pgTarget(adminUrl: string): PgTarget {
  const u = new URL(adminUrl);
  return { host: u.hostname, port: Number(u.port || 5432), user: decodeURIComponent(u.username || 'postgres'), password: decodeURIComponent(u.password) };
}

function withDatabase(adminUrl: string, database: string): string {
  const u = new URL(adminUrl);
  u.pathname = `/${database}`;
  return u.toString();
}

/**
 * The versioned schema folder of the server's own module (the release's
 * `schema/postgresql/v12/<which>/versioned`), or undefined when the module is
 * not in the Go module cache (binaries cached, module cache cleaned): then the
 * schema tool's embedded copy of the same files is used.
 */
function versionedSchemaDir(which: 'temporal' | 'visibility'): string | undefined {
  let modCache = process.env.GOMODCACHE;
  if (!modCache && onPath('go')) {
    try {
      modCache = execFileSync('go', ['env', 'GOMODCACHE'], { encoding: 'utf8' }).trim();
    } catch {
      // fall through to the default
    }
  }
  modCache ||= path.join(os.homedir(), 'go', 'pkg', 'mod');
  const dir = path.join(modCache, `go.temporal.io/server@v${TEMPORAL_SERVER_VERSION}`, 'schema', 'postgresql', 'v12', which, 'versioned');
  return fs.existsSync(dir) ? dir : undefined;
}

/**
 * Create the server's two databases when missing and bring their schemas to
 * the release's version with the schema tool: `setup-schema -v 0.0` once
 * (versioning tables only), then `update-schema` from the versioned folder
 * (a no-op when already current). Returns the schema versions reached.
 */
export async function setupTemporalSchemas(sqlTool: string, adminUrl: string): Promise<Record<'temporal' | 'visibility', string>> {
  const target = pgTarget(adminUrl);
  const out = {} as Record<'temporal' | 'visibility', string>;
  for (const which of ['temporal', 'visibility'] as const) {
    const database = which === 'temporal' ? TEMPORAL_DATABASES.persistence : TEMPORAL_DATABASES.visibility;
    await ensureDatabase(adminUrl, database);
    const common = ['--ep', target.host, '-p', String(target.port), '-u', target.user, ...(target.password ? ['--pw', target.password] : []), '--pl', 'postgres12', '--db', database];
    const client = new pg.Client({ connectionString: withDatabase(adminUrl, database) });
    await client.connect();
    try {
      const { rows } = await client.query<{ t: string | null }>(`SELECT to_regclass('schema_version')::text AS t`);
      if (!rows[0].t) await run(sqlTool, [...common, 'setup-schema', '-v', '0.0'], { quiet: true });
      const dir = versionedSchemaDir(which);
      await run(sqlTool, [...common, 'update-schema', ...(dir ? ['-d', dir] : ['--schema-name', `postgresql/v12/${which}`])], { quiet: true });
      const version = await client.query<{ v: string }>(`SELECT curr_version AS v FROM schema_version`);
      out[which] = version.rows[0]?.v ?? '?';
    } finally {
      await client.end();
    }
  }
  return out;
}

/** Ports of one server: the frontend (the address clients use) and the internal services. */
export interface TemporalServerPorts {
  frontend: number;
  frontendHttp: number;
  history: number;
  matching: number;
  worker: number;
  membership: { frontend: number; history: number; matching: number; worker: number };
}

/**
 * `count` consecutive loopback ports nobody listens on, between 20000 and 32000 —
 * below the kernel's ephemeral range (32768 and up, where freePort() lands and where
 * any outgoing connection may take a port at any moment). Used for ports that must
 * stay fixed across restarts or form a block (the simulator's devices), and for the
 * Temporal server's membership ports, which its PostgreSQL schema stores as smallint.
 */
export async function freePortBlock(count: number, taken: Set<number> = new Set()): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * (12_000 - count));
    const ports = Array.from({ length: count }, (_, i) => base + i);
    if (ports.some((p) => taken.has(p))) continue;
    const open = await Promise.all(ports.map((p) => isPortOpen(p)));
    if (open.some(Boolean)) continue;
    for (const p of ports) taken.add(p);
    return base;
  }
  throw new Error(`no block of ${count} free loopback ports between 20000 and 32000`);
}

/**
 * Ports kept in `file` from an earlier run when none of them is taken now; else new
 * ones from `choose`, saved for the next run.
 */
export async function stickyPorts<T>(file: string, choose: () => Promise<T>, list: (ports: T) => number[]): Promise<T> {
  if (fs.existsSync(file)) {
    const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as T;
    const taken = await Promise.all(list(saved).map((p) => isPortOpen(p)));
    if (!taken.some(Boolean)) return saved;
  }
  const ports = await choose();
  fs.writeFileSync(file, JSON.stringify(ports, null, 2) + '\n');
  return ports;
}

/** Loopback ports for a server whose frontend listens on `frontend`; all below the ephemeral range, so a restart finds them free. */
export async function chooseServerPorts(frontend: number): Promise<TemporalServerPorts> {
  const taken = new Set<number>([frontend]);
  const p = () => freePortBlock(1, taken);
  return {
    frontend,
    frontendHttp: await p(),
    history: await p(),
    matching: await p(),
    worker: await p(),
    membership: { frontend: await p(), history: await p(), matching: await p(), worker: await p() },
  };
}

/** The server's config file (YAML text): one cluster, PostgreSQL for persistence and visibility, loopback only. */
export function serverConfigYaml(opts: { adminUrl: string; ports: TemporalServerPorts; historyShards: number; logLevel: string; logFile: string; metricsPort?: number }): string {
  const target = pgTarget(opts.adminUrl);
  const sql = (databaseName: string, maxConns: number) => ({
    sql: {
      pluginName: 'postgres12',
      databaseName,
      connectAddr: `${target.host}:${target.port}`,
      connectProtocol: 'tcp',
      user: target.user,
      password: target.password,
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  });
  const { ports } = opts;
  const service = (grpcPort: number, membershipPort: number, httpPort?: number) => ({
    rpc: { grpcPort, membershipPort, bindOnIP: '127.0.0.1', ...(httpPort ? { httpPort } : {}) },
  });
  const frontendAddress = `127.0.0.1:${ports.frontend}`;
  const config = {
    log: { stdout: false, level: opts.logLevel, format: 'json', outputFile: opts.logFile },
    persistence: {
      defaultStore: 'postgres-default',
      visibilityStore: 'postgres-visibility',
      numHistoryShards: opts.historyShards,
      datastores: {
        'postgres-default': sql(TEMPORAL_DATABASES.persistence, 20),
        'postgres-visibility': sql(TEMPORAL_DATABASES.visibility, 10),
      },
    },
    global: {
      membership: { maxJoinDuration: '30s', broadcastAddress: '127.0.0.1' },
      // Prometheus on loopback, configured as the dev server's --metrics-port does (same metric names).
      ...(opts.metricsPort ? { metrics: { prometheus: { listenAddress: `127.0.0.1:${opts.metricsPort}`, handlerPath: '/metrics' } } } : {}),
    },
    services: {
      frontend: service(ports.frontend, ports.membership.frontend, ports.frontendHttp),
      history: service(ports.history, ports.membership.history),
      matching: service(ports.matching, ports.membership.matching),
      worker: service(ports.worker, ports.membership.worker),
    },
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'topology',
      currentClusterName: 'topology',
      clusterInformation: { topology: { enabled: true, initialFailoverVersion: 1, rpcName: 'frontend', rpcAddress: frontendAddress } },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    archival: { history: { state: 'disabled' }, visibility: { state: 'disabled' } },
    namespaceDefaults: { archival: { history: { state: 'disabled' }, visibility: { state: 'disabled' } } },
    publicClient: { hostPort: frontendAddress },
  };
  return YAML.stringify(config);
}

/** Create `namespace` (retention in days) unless it exists; waits until the server serves it. */
export async function ensureNamespace(conn: Connection, namespace: string, retentionDays: number): Promise<'created' | 'existed'> {
  try {
    await conn.workflowService.describeNamespace({ namespace });
    return 'existed';
  } catch (err) {
    if (!/not found/i.test((err as Error).message)) throw err;
  }
  await conn.workflowService
    .registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs(`${retentionDays} days`), description: 'switch-telemetry device sessions' })
    .catch((err: Error) => {
      if (!/already (exists|registered)/i.test(err.message)) throw err;
    });
  await waitFor(`namespace ${namespace}`, async () => {
    await conn.workflowService.describeNamespace({ namespace });
    return true;
  }, 30_000);
  return 'created';
}

/** Options of a server run. */
export interface TemporalServerOptions {
  /** PostgreSQL URL with a user that may create databases (any database name; it is replaced). */
  adminUrl: string;
  /** Folder for the config file. */
  dir: string;
  /** Frontend gRPC port (the TEMPORAL_ADDRESS clients use); a free one below 32768 when omitted. */
  frontendPort?: number;
  namespace?: string;
  retentionDays?: number;
  historyShards?: number;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** Serve Prometheus metrics on this loopback port (`/metrics`, as the dev server's --metrics-port); none when omitted. */
  metricsPort?: number;
  /** Drop what the server prints outside its log file (start-up failures). */
  quiet?: boolean;
}

/** A running server. */
export interface RunningTemporalServer {
  address: string;
  namespace: string;
  ports: TemporalServerPorts;
  configFile: string;
  /** The server's own log (JSON lines). */
  logFile: string;
  /** Schema versions of the persistence and visibility databases. */
  schema: Record<'temporal' | 'visibility', string>;
  child(): ManagedChild;
  /** SIGTERM, then SIGKILL after the grace period. */
  stop(graceMs?: number): Promise<void>;
  /** kill -9, no goodbye. */
  kill9(): Promise<void>;
  /** Start again with the same config and ports; resolves when the frontend serves the namespace. */
  start(): Promise<void>;
}

/** Resolves when the frontend answers for `namespace`; rejects early when the process exits. */
async function untilServing(address: string, namespace: string, child: ManagedChild, timeoutMs: number, logFile: string): Promise<void> {
  const exited = child.exited.then((code) => {
    throw new Error(`the Temporal server exited with code ${code} while starting (its log: ${logFile})`);
  });
  exited.catch(() => undefined);
  await Promise.race([
    waitForTemporal(address, namespace, timeoutMs),
    exited,
  ]);
}

/**
 * Build (cached), set up the schemas, write the config, start the server,
 * create the namespace and register the search attributes.
 */
export async function startTemporalServer(opts: TemporalServerOptions): Promise<RunningTemporalServer> {
  const namespace = opts.namespace ?? 'default';
  const bins = await ensureTemporalServerBinaries();
  const schema = await setupTemporalSchemas(bins.sql, opts.adminUrl);
  fs.mkdirSync(opts.dir, { recursive: true });
  // A server started again on the same databases keeps its ports: its membership rows name them.
  const ports =
    opts.frontendPort !== undefined
      ? await chooseServerPorts(opts.frontendPort)
      : await stickyPorts(path.join(opts.dir, 'ports.json'), async () => chooseServerPorts(await freePortBlock(1)), (p) => [
          p.frontend,
          p.frontendHttp,
          p.history,
          p.matching,
          p.worker,
          ...Object.values(p.membership),
        ]);
  if (await isPortOpen(ports.frontend)) throw new Error(`port ${ports.frontend} is taken: cannot start the Temporal server's frontend there`);
  const configFile = path.join(opts.dir, 'temporal-server.yaml');
  const logFile = path.join(opts.dir, 'temporal-server.log');
  fs.writeFileSync(configFile, serverConfigYaml({ adminUrl: opts.adminUrl, ports, historyShards: opts.historyShards ?? 4, logLevel: opts.logLevel ?? 'warn', logFile, metricsPort: opts.metricsPort }), { mode: 0o600 });
  const address = `127.0.0.1:${ports.frontend}`;
  let child: ManagedChild | undefined;
  const launch = async () => {
    // Own process group: a terminal's Ctrl-C reaches only the launcher, which stops the server after its clients.
    child = startChild('temporal-server', bins.server, ['--config-file', configFile, '--allow-no-auth', 'start'], { quiet: opts.quiet, quietOnStop: true, cwd: opts.dir, detached: true });
    // The system namespace exists once the server has initialised its cluster metadata.
    await untilServing(address, 'temporal-system', child, 120_000, logFile);
  };
  await launch();
  const conn = await Connection.connect({ address });
  try {
    await ensureNamespace(conn, namespace, opts.retentionDays ?? 3);
    // A new namespace reaches the server's namespace cache within its refresh interval (~10 s).
    let lastError = '';
    await waitFor('the namespace in the server\'s cache (search attributes registered)', async () => {
      try {
        await ensureSearchAttributes(address, namespace, conn);
        return true;
      } catch (err) {
        lastError = (err as Error).message;
        if (!/not found/i.test(lastError)) throw err;
        return false;
      }
    }, 60_000, 500).catch((err: Error) => {
      throw new Error(`${err.message}: ${lastError}`);
    });
    // SQL visibility maps custom attributes onto a fixed set of typed columns (Keyword01…); check they took.
    const listed = await conn.operatorService.listSearchAttributes({ namespace });
    const missing = SEARCH_ATTRIBUTE_DEFINITIONS.filter(([name]) => !(name in (listed.customAttributes ?? {})));
    if (missing.length) throw new Error(`search attributes not registered: ${missing.map(([n]) => n).join(', ')}`);
  } finally {
    await conn.close();
  }
  await untilServing(address, namespace, child!, 60_000, logFile);
  return {
    address,
    namespace,
    ports,
    configFile,
    logFile,
    schema,
    child: () => child!,
    stop: async (graceMs = 15_000) => child?.stop(graceMs),
    kill9: async () => {
      if (!child || child.child.exitCode !== null || child.child.signalCode !== null) return;
      child.child.kill('SIGKILL');
      await child.exited;
    },
    start: async () => {
      await launch();
      await untilServing(address, namespace, child!, 60_000, logFile);
    },
  };
}

/** A running Temporal Web. */
export interface RunningTemporalUi {
  url: string;
  stop(): Promise<void>;
}

/** Start Temporal Web (the UI server) against `address` on `port` (loopback). */
export async function startTemporalUi(opts: { address: string; namespace: string; port: number; dir: string; quiet?: boolean }): Promise<RunningTemporalUi> {
  const bin = await ensureTemporalUiBinary();
  const configDir = path.join(opts.dir, 'temporal-ui');
  fs.mkdirSync(configDir, { recursive: true });
  const config = {
    temporalGrpcAddress: opts.address,
    host: '127.0.0.1',
    port: opts.port,
    enableUi: true,
    defaultNamespace: opts.namespace,
    disableNewsFetch: true,
    notifyOnNewVersion: false,
    refreshInterval: '1m',
    // Plain HTTP on loopback: the UI's cookies cannot be Secure here.
    cors: { cookieInsecure: true, allowOrigins: [`http://127.0.0.1:${opts.port}`] },
  };
  fs.writeFileSync(path.join(configDir, 'topology.yaml'), YAML.stringify(config));
  const child = startChild('temporal-ui', bin, ['--root', opts.dir, '--config', 'temporal-ui', '--env', 'topology', 'start'], { quiet: opts.quiet, quietOnStop: true, detached: true });
  const url = `http://127.0.0.1:${opts.port}`;
  const exited = child.exited.then((code) => {
    throw new Error(`Temporal Web exited with code ${code} while starting`);
  });
  exited.catch(() => undefined);
  await Promise.race([waitFor('Temporal Web', async () => (await fetch(url, { signal: AbortSignal.timeout(2000) })).ok, 60_000), exited]);
  return { url, stop: () => child.stop(5000) };
}
