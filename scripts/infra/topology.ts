/**
 * The deployment topology on one machine, as separate processes configured
 * only by environment variables (exactly what the container entrypoints get):
 * PostgreSQL (TimescaleDB preloaded when it can be had), the Temporal server
 * on that PostgreSQL (and Temporal Web), `migrate` once, N collectors, a
 * control worker, M web processes, the simulator; the simulated devices
 * registered and their sessions started. `npm run topology` and the topology
 * test suite both start it through `startTopology`.
 *
 * Every role is launched from the role table (core/roles.ts: entry file, node
 * flags, port and host settings, health path, required settings) with a clean
 * environment — PATH and HOME plus the role's settings — and a data folder of
 * its own, so nothing is shared between processes but PostgreSQL and Temporal.
 * Secrets (the database password, the secrets key, the session secret) reach
 * the roles only as files named by `*_FILE` settings, as in deploy/.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../../core/config';
import { role, type RoleName } from '../../core/roles';
import { createKnex } from '../../storage/pool';
import { formatKeyring, parseKeyring } from '../../storage/secrets';
import { sessionOptionsFromConfig, startDeviceSession } from '../../temporal/fleet-client';
import { SIM_PASSWORD, SIM_USERNAME } from '../../simulator/fleet';
import { entryArgs } from './entry';
import { installPostgres, startManagedPostgres, type ManagedCluster } from './postgres';
import { ensureTimescaleDb } from './timescaledb';
import { freePort, isPortOpen, startChild, waitFor, type ManagedChild } from './proc';
import { freePortBlock, startTemporalServer, stickyPorts, startTemporalUi, type RunningTemporalServer, type RunningTemporalUi } from './temporal-server';
import { ensureWebBuild } from './web-build';
import { seedSimulatedDevices, type SimulatedDeviceSpec } from '../seed';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

/** What to start. */
export interface TopologyOptions {
  /** Folder for every process's data (PostgreSQL cluster, Temporal config, per-process DATA_DIR, keys). */
  dir: string;
  /** Throw the PostgreSQL cluster away on stop (tests). */
  ephemeral?: boolean;
  collectors?: number;
  webs?: number;
  gnmiDevices?: number;
  netconfDevices?: number;
  interfaces?: number;
  /** Start Temporal Web against the server. */
  ui?: boolean;
  /** Settings given to every role (e.g. SESSION_HEARTBEAT_TIMEOUT_MS, LOG_LEVEL). */
  env?: Record<string, string>;
  /** Drop the roles' output instead of relaying it with a `[name]` prefix. */
  quiet?: boolean;
  /** Progress lines (stderr). */
  log?: (line: string) => void;
  /** Aborting it (Ctrl-C while starting) stops what was started, after the current step. */
  signal?: AbortSignal;
}

/** One running role process. */
export interface RoleProcess {
  name: string;
  role: RoleName;
  /** Its HTTP port (the role's port setting), when it serves one. */
  port?: number;
  /** `http://127.0.0.1:<port>` when it serves HTTP. */
  url?: string;
  /** The environment it was started with (its whole configuration). */
  env: Record<string, string>;
  /** Everything it printed (`<dir>/logs/<name>.log`). */
  logFile: string;
  child: ManagedChild;
  pid: number;
  alive(): boolean;
  /** SIGTERM, then SIGKILL after the grace period. */
  stop(graceMs?: number): Promise<void>;
  /** kill -9. */
  kill9(): Promise<void>;
}

/** A device registered by the topology. */
export interface TopologyDevice {
  id: number;
  name: string;
  protocol: 'gnmi' | 'netconf';
}

/** The running topology. */
export interface Topology {
  postgres: ManagedCluster;
  databaseUrl: string;
  temporal: RunningTemporalServer;
  ui?: RunningTemporalUi;
  /** The `migrate` run (exited 0 before anything else started). */
  migrate: RoleProcess;
  simulator: RoleProcess;
  control: RoleProcess;
  collectors: RoleProcess[];
  webs: RoleProcess[];
  devices: TopologyDevice[];
  admin: { email: string; password: string };
  /** Settings every role shares (database, Temporal, keys and the extra settings). */
  sharedEnv: Record<string, string>;
  /** Start one more process of `roleName` (a collector or web process) and wait until healthy. */
  startRole(roleName: RoleName, name: string, extra?: Record<string, string>): Promise<RoleProcess>;
  /** Stop everything in dependency order: web, collectors, control, simulator, Temporal, PostgreSQL. */
  stop(): Promise<void>;
}

/** A random secret of `bytes` bytes kept in `file` (0600), created on first use. */
function persistentSecret(file: string, make: () => string): string {
  if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8').trim();
  const value = make();
  fs.writeFileSync(file, `${value}\n`, { mode: 0o600 });
  return value;
}

/** The environment a container would give a process: PATH and HOME only, plus settings. */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/', NODE_ENV: 'production' };
  if (process.env.TMPDIR) env.TMPDIR = process.env.TMPDIR;
  return env;
}

/** Start the topology; on failure everything started so far is stopped. */
export async function startTopology(opts: TopologyOptions): Promise<Topology> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const stoppers: Array<{ what: string; stop: () => Promise<void> }> = [];
  fs.mkdirSync(opts.dir, { recursive: true, mode: 0o755 });
  fs.chmodSync(opts.dir, 0o755); // the postgres user must traverse it

  const spawnRole = (roleName: RoleName, name: string, env: Record<string, string>): RoleProcess => {
    const spec = role(roleName);
    // A setting may come as itself or as its file (`<name>_FILE`), as a deployment's secrets do.
    const missing = spec.requiredEnv.filter((k) => !env[k] && !env[`${k}_FILE`]);
    if (missing.length) throw new Error(`${name}: the ${roleName} role needs ${missing.join(', ')}`);
    // Own process group: a terminal's Ctrl-C reaches only us, and we stop the roles in order.
    const child = startChild(name, process.execPath, entryArgs(ROOT, spec.entry), { env, cwd: ROOT, quiet: opts.quiet, quietOnStop: true, detached: true });
    // Every role's output also goes to a file (the tests show its tail when a step fails).
    const logFile = path.join(opts.dir, 'logs', `${name}.log`);
    fs.mkdirSync(path.dirname(logFile), { recursive: true });
    const logStream = fs.createWriteStream(logFile, { flags: 'a' });
    child.child.stdout!.on('data', (chunk: Buffer) => logStream.write(chunk));
    child.child.stderr!.on('data', (chunk: Buffer) => logStream.write(chunk));
    void child.exited.then(() => logStream.end());
    const port = spec.port ? Number(env[spec.port.env]) : undefined;
    const alive = () => child.child.exitCode === null && child.child.signalCode === null;
    const proc: RoleProcess = {
      name,
      role: roleName,
      port,
      url: port ? `http://127.0.0.1:${port}` : undefined,
      env,
      logFile,
      child,
      pid: child.child.pid!,
      alive,
      stop: (graceMs = 20_000) => child.stop(graceMs),
      kill9: async () => {
        if (!alive()) return;
        child.child.kill('SIGKILL');
        await child.exited;
      },
    };
    return proc;
  };

  /** Wait until the role answers its health path (or its port opens); fail early when it exits. */
  const healthy = async (p: RoleProcess, timeoutMs = 120_000): Promise<void> => {
    const spec = role(p.role);
    const exited = p.child.exited.then((code) => {
      throw new Error(`${p.name} exited with code ${code} while starting`);
    });
    exited.catch(() => undefined);
    const check = spec.healthPath
      ? async () => (await fetch(`${p.url}${spec.healthPath}`, { signal: AbortSignal.timeout(3000) })).ok
      : async () => isPortOpen(p.port!);
    await Promise.race([waitFor(`${p.name} ${spec.healthPath ?? 'port'}`, check, timeoutMs, 250), exited]);
  };

  const notAborted = () => {
    if (opts.signal?.aborted) throw new Error('interrupted while starting');
  };

  const stopAll = async () => {
    for (const s of stoppers.reverse()) await s.stop().catch((err) => log(`stopping ${s.what}: ${(err as Error).message}`));
    stoppers.length = 0;
  };

  try {
    await ensureWebBuild();
    // 1. PostgreSQL, with TimescaleDB preloaded when it is installed or can be built (TIMESCALEDB_SOURCE).
    const timescale = await ensureTimescaleDb(await installPostgres());
    const pgPort = await freePort();
    // The roles read the password from this file (DATABASE_PASSWORD_FILE), as from a mounted secret.
    const databasePasswordFile = path.join(opts.dir, 'postgres.password');
    const postgres = await startManagedPostgres({
      dir: path.join(opts.dir, 'postgres'),
      port: pgPort,
      database: 'switch_telemetry',
      ephemeral: opts.ephemeral,
      timescaledb: timescale.available,
      passwordFile: databasePasswordFile,
    });
    stoppers.push({ what: 'PostgreSQL', stop: postgres.stop });
    log(`PostgreSQL on 127.0.0.1:${pgPort}: ${timescale.available ? `TimescaleDB ${timescale.version} preloaded` : `native partitions (${timescale.reason})`}`);

    notAborted();
    // 2. The Temporal server on it (and Temporal Web).
    const startedTemporal = Date.now();
    const temporal = await startTemporalServer({ adminUrl: postgres.adminUrl, dir: path.join(opts.dir, 'temporal'), namespace: 'default', quiet: opts.quiet });
    stoppers.push({ what: 'Temporal server', stop: () => temporal.stop() });
    log(`Temporal server ${temporal.address} (schemas ${temporal.schema.temporal} / visibility ${temporal.schema.visibility}) in ${((Date.now() - startedTemporal) / 1000).toFixed(1)} s`);
    let ui: RunningTemporalUi | undefined;
    if (opts.ui) {
      ui = await startTemporalUi({ address: temporal.address, namespace: temporal.namespace, port: await freePort(), dir: path.join(opts.dir, 'temporal'), quiet: opts.quiet });
      stoppers.push({ what: 'Temporal Web', stop: ui.stop });
    }

    // Shared settings: what every role of one deployment gets from its ConfigMap and Secret. Secrets
    // reach the roles only as files (`*_FILE`), as Compose secrets and Kubernetes Secret volumes give them.
    const keysDir = path.join(opts.dir, 'keys');
    fs.mkdirSync(keysDir, { recursive: true, mode: 0o700 });
    const secretsKeyFile = path.join(keysDir, 'secrets-key');
    const sessionSecretFile = path.join(keysDir, 'session-secret');
    const secretsKey = persistentSecret(secretsKeyFile, () => formatKeyring({ current: 1, keys: new Map([[1, crypto.randomBytes(32)]]) }));
    persistentSecret(sessionSecretFile, () => crypto.randomBytes(32).toString('base64url'));
    const adminPassword = persistentSecret(path.join(keysDir, 'admin-password'), () => crypto.randomBytes(12).toString('base64url'));
    const admin = { email: 'admin@topology.local', password: adminPassword };
    const databaseUrl = new URL(postgres.url);
    databaseUrl.password = '';
    const sharedEnv: Record<string, string> = {
      DATABASE_URL: databaseUrl.toString(),
      DATABASE_PASSWORD_FILE: databasePasswordFile,
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_NAMESPACE: temporal.namespace,
      SECRETS_KEY_FILE: secretsKeyFile,
      // With TimescaleDB preloaded the migrations must use it (a failure stops migrate, loudly).
      STORAGE_TIMESCALEDB: postgres.timescaledb ? 'on' : 'auto',
      LOG_LEVEL: 'info',
      ...(ui ? { TEMPORAL_UI_URL: ui.url } : {}),
      ...opts.env,
    };
    /** A role's whole configuration; the simulator gets no database, Temporal or key settings (it needs none). */
    const roleEnv = (name: string, extra: Record<string, string>, shared = true) => {
      const dataDir = path.join(opts.dir, 'processes', name);
      fs.mkdirSync(dataDir, { recursive: true });
      return { ...baseEnv(), ...(shared ? sharedEnv : { LOG_LEVEL: sharedEnv.LOG_LEVEL, ...opts.env }), DATA_DIR: dataDir, ...extra };
    };

    notAborted();
    // 3. migrate, once, to completion.
    const migrate = spawnRole('migrate', 'migrate', roleEnv('migrate', {}));
    const migrateCode = await migrate.child.exited;
    if (migrateCode !== 0) throw new Error(`migrate exited with code ${migrateCode}`);
    log('migrate: done');

    notAborted();
    // 4. The simulator.
    const gnmiCount = opts.gnmiDevices ?? 30;
    const netconfCount = opts.netconfDevices ?? 0;
    const simSpec = role('simulator');
    // Registered devices keep their addresses: a second run (same folder) serves them on the same ports.
    const simPorts = await stickyPorts(
      path.join(opts.dir, `simulator-ports-${gnmiCount}-${netconfCount}.json`),
      async () => {
        const taken = new Set<number>();
        return {
          control: await freePortBlock(1, taken),
          gnmi: gnmiCount ? await freePortBlock(gnmiCount, taken) : 0,
          netconf: netconfCount ? await freePortBlock(netconfCount, taken) : 0,
        };
      },
      (p) => [p.control, ...Array.from({ length: gnmiCount }, (_, i) => p.gnmi + i), ...Array.from({ length: netconfCount }, (_, i) => p.netconf + i)],
    );
    const simulator = spawnRole(
      'simulator',
      'simulator',
      roleEnv('simulator', {
        [simSpec.port!.env]: String(simPorts.control),
        [simSpec.hostEnv!]: '127.0.0.1',
        SIM_GNMI_COUNT: String(gnmiCount),
        SIM_GNMI_BASE_PORT: String(simPorts.gnmi),
        SIM_NETCONF_COUNT: String(netconfCount),
        SIM_NETCONF_BASE_PORT: String(simPorts.netconf),
        SIM_INTERFACES: String(opts.interfaces ?? 4),
      }, false),
    );
    stoppers.push({ what: 'simulator', stop: () => simulator.stop() });
    await healthy(simulator);

    notAborted();
    // 5. Register the simulated devices.
    const db = createKnex(postgres.url);
    let devices: TopologyDevice[];
    try {
      const fleet = (await (await fetch(`${simulator.url}/devices`)).json()) as Array<Omit<SimulatedDeviceSpec, 'username' | 'password'>>;
      const specs: SimulatedDeviceSpec[] = fleet.map((m) => ({ ...m, username: SIM_USERNAME, password: SIM_PASSWORD }));
      const rows = await seedSimulatedDevices(db, parseKeyring(secretsKey), specs);
      devices = rows.map((r) => ({ id: r.id, name: r.name, protocol: r.protocol as 'gnmi' | 'netconf' }));
    } finally {
      await db.destroy();
    }
    log(`simulator: ${devices.length} devices registered`);

    notAborted();
    // 6. Control worker, collectors, web processes.
    const stopGroup = (group: RoleProcess[]) => async () => {
      await Promise.all(group.map((p) => p.stop()));
    };
    const webs: RoleProcess[] = [];
    const collectors: RoleProcess[] = [];
    const controls: RoleProcess[] = [];
    // Pushed in reverse stop order: web stops first, then collectors, then control.
    stoppers.push({ what: 'control worker', stop: stopGroup(controls) });
    stoppers.push({ what: 'collectors', stop: stopGroup(collectors) });
    stoppers.push({ what: 'web processes', stop: stopGroup(webs) });

    const startRole = async (roleName: RoleName, name: string, extra: Record<string, string> = {}): Promise<RoleProcess> => {
      const spec = role(roleName);
      const env = roleEnv(name, {
        ...(spec.port ? { [spec.port.env]: String(await freePort()) } : {}),
        ...(spec.hostEnv ? { [spec.hostEnv]: '127.0.0.1' } : {}),
        ...(roleName === 'web' ? { SESSION_SECRET_FILE: sessionSecretFile, ADMIN_EMAIL: admin.email, ADMIN_PASSWORD: admin.password } : {}),
        ...extra,
      });
      const p = spawnRole(roleName, name, env);
      (roleName === 'web' ? webs : roleName === 'collector' ? collectors : controls).push(p);
      await healthy(p);
      return p;
    };

    const control = await startRole('control', 'control');
    await Promise.all(Array.from({ length: opts.collectors ?? 3 }, (_, i) => startRole('collector', `collector-${i + 1}`)));
    // The first web process creates the admin from ADMIN_EMAIL; the others find it.
    for (let i = 0; i < (opts.webs ?? 2); i++) await startRole('web', `web-${i + 1}`);
    log(`control, ${collectors.length} collectors and ${webs.length} web processes healthy`);

    notAborted();
    // 7. Start every device's session (idempotent; the control worker's reconciliation would too, within a minute).
    const sessionConfig = loadConfig({ ...sharedEnv });
    const connection = await Connection.connect({ address: temporal.address });
    try {
      const client = new Client({ connection, namespace: temporal.namespace });
      for (const d of devices) await startDeviceSession(client, d, sessionOptionsFromConfig(sessionConfig));
    } finally {
      await connection.close();
    }
    log(`${devices.length} device sessions started`);

    return {
      postgres,
      databaseUrl: postgres.url,
      temporal,
      ui,
      migrate,
      simulator,
      control,
      collectors,
      webs,
      devices,
      admin,
      sharedEnv,
      startRole,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
