/**
 * The system under benchmark: throwaway PostgreSQL (durable settings) and
 * Temporal, the simulator, control and collector workers as real processes.
 * Temporal is the in-memory dev server, or with BENCH_TEMPORAL=server the
 * production-shaped Temporal server (scripts/infra/temporal-server.ts) with its
 * persistence and visibility on the run's own PostgreSQL cluster, as the topology runs it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { Knex } from 'knex';
import pg from 'pg';
import { createDevice } from '../../storage/devices';
import { createKnex } from '../../storage/pool';
import { parseKeyring } from '../../storage/secrets';
import { startDeviceSession } from '../../temporal/fleet-client';
import type { GnmiProfileSpec } from '../../core/device';
import type { DeviceSessionOptions } from '../../core/names';
import { migrateLatest } from '../../migrations/index';
import { ensureDatabase } from '../../scripts/infra/postgres';
import { freePort, isPortOpen, startChild, waitFor, type ManagedChild } from '../../scripts/infra/proc';
import { entryArgs } from '../../scripts/infra/entry';
import { cpuSeconds, pidsMatching, processTree } from './procstat';
import { startThrowawayServices, type ThrowawayServices } from '../../scripts/infra/services';
import { freePortBlock, startTemporalServer, TEMPORAL_DATABASES, type RunningTemporalServer } from '../../scripts/infra/temporal-server';
import { ensureProfile } from '../../storage/profiles';
import { checkedStorageMode, migrateOptions, type BenchStorage } from '../support/storage';
import { SIM_PASSWORD, SIM_USERNAME } from '../../simulator/fleet';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const BENCH_SECRETS_KEY = `1:${Buffer.alloc(32, 9).toString('base64')}`;

/** Which Temporal a bench system runs: the dev server (SQLite in memory) or the Temporal server on PostgreSQL. */
export type BenchTemporal = 'dev' | 'server';

/** BENCH_TEMPORAL as a list (default `dev`; `dev,server`: scale and failover run once on each, bench/README.md). */
export function benchTemporalModes(): BenchTemporal[] {
  const modes = (process.env.BENCH_TEMPORAL ?? 'dev').split(',').map((m) => m.trim()).filter(Boolean);
  const bad = modes.filter((m) => m !== 'dev' && m !== 'server');
  if (bad.length || !modes.length) throw new Error(`BENCH_TEMPORAL must be dev, server or a comma list of them, not ${process.env.BENCH_TEMPORAL}`);
  return [...new Set(modes)] as BenchTemporal[];
}

/** CPU of the Temporal side between two instants, % of one core. */
export interface TemporalCpu {
  /** The Temporal process (the dev server, or the server with all its services). */
  process: number;
  /** With the Temporal server: the PostgreSQL backends serving its databases (persistence and visibility); the dev server keeps them in its process. */
  postgres?: number;
}

/** A running benchmark system. */
export interface BenchSystem {
  services: ThrowawayServices;
  db: Knex;
  client: Client;
  tmp: string;
  /** Which Temporal this system runs (BENCH_TEMPORAL). */
  temporal: BenchTemporal;
  /** The storage mode its database was migrated in (the one asked for, or what the server allowed). */
  storage: BenchStorage;
  /** The frontend address the processes and the bench client use. */
  temporalAddress: string;
  /** The Temporal server's Prometheus port, dev server or server alike (requests by operation, e.g. RecordActivityTaskHeartbeat). */
  temporalMetricsPort: number;
  env: NodeJS.ProcessEnv;
  /** This run's Temporal process: the dev server matched by its port (other engineers' dev servers are not ours), or the server's child. */
  temporalPids(): number[];
  /** Every process of this run's PostgreSQL cluster: the postmaster, its backends and background workers. */
  postgresPids(): number[];
  /** Temporal's CPU from `from` to `to` (epoch ms), from a once-a-second sample of its processes' CPU time (undefined before the first two samples). */
  temporalCpuBetween(from: number, to: number): TemporalCpu | undefined;
  /** Signals sent to collectors started by startCollector (kill -9, SIGTERM), in order: when, to which. */
  collectorSignals: Array<{ at: number; name: string; signal: string }>;
  spawn(name: string, file: string, extra?: Record<string, string>): ManagedChild;
  startCollector(name: string, extra?: Record<string, string>): Promise<ManagedChild & { metricsPort: number }>;
  /** Start a simulator process with `count` gNMI devices (`extra`: more settings, e.g. SIM_GNMI_GENERATOR); returns their ports. */
  startSimulator(count: number, interfaces: number, extra?: Record<string, string>): Promise<{ child: ManagedChild; ports: number[]; controlPort: number }>;
  /** Register devices pointing at the given ports with a profile and start their workflows. */
  addDevices(ports: number[], profile: GnmiProfileSpec, opts?: { prefix?: string; heartbeatTimeoutMs?: number; sessionOptions?: DeviceSessionOptions }): Promise<number[]>;
  stop(): Promise<void>;
}

/**
 * Start PostgreSQL (fsync on: durable, like production; TimescaleDB preloaded when it can be had) and Temporal
 * (`temporal`, default the first of BENCH_TEMPORAL).
 */
export async function startBenchSystem(opts: { storage?: BenchStorage; temporal?: BenchTemporal } = {}): Promise<BenchSystem> {
  const temporal = opts.temporal ?? benchTemporalModes()[0];
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'switch-telemetry-bench-'));
  fs.chmodSync(tmp, 0o755);
  const temporalMetricsPort = await freePort();
  // With the server, the throwaway services' dev server stays idle (no metrics port; nothing connects to it).
  const services = await startThrowawayServices(tmp, 'bench', {
    temporalMetricsPort: temporal === 'dev' ? temporalMetricsPort : undefined,
    pgSettings: ['fsync=on', 'synchronous_commit=on', 'full_page_writes=on', 'max_wal_size=4GB', 'checkpoint_timeout=15min'],
    timescaledb: opts.storage === 'timescaledb',
  });
  if (opts.storage === 'timescaledb' && !services.timescaledb.available) {
    await services.stop();
    throw new Error(`the timescaledb storage mode was asked for but TimescaleDB cannot be had: ${services.timescaledb.reason}`);
  }
  let server: RunningTemporalServer | undefined;
  if (temporal === 'server') {
    process.stderr.write('  Temporal server on PostgreSQL: setting up its schemas and starting it…\n');
    const started = Date.now();
    // BENCH_TEMPORAL_SYNC_COMMIT=off: its databases commit without waiting for the WAL flush (a diagnosis: how much
    // of the difference to the in-memory dev server is commit latency); set before the server opens a connection.
    if (process.env.BENCH_TEMPORAL_SYNC_COMMIT === 'off') await withoutSyncCommit(services.adminDatabaseUrl, Object.values(TEMPORAL_DATABASES));
    server = await startTemporalServer({ adminUrl: services.adminDatabaseUrl, dir: path.join(tmp, 'temporal-server'), metricsPort: temporalMetricsPort, quiet: true }).catch(async (err) => {
      await services.stop();
      throw err;
    });
    process.stderr.write(`  Temporal server ${server.address} (schemas ${server.schema.temporal} / visibility ${server.schema.visibility}) up in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  }
  const temporalAddress = server?.address ?? services.temporalAddress;
  const db = createKnex(services.databaseUrl);
  // Without a storage mode: as the server allows (auto); with one: that mode.
  const storage = await migrateLatest(db, migrateOptions(opts.storage))
    .then(() => checkedStorageMode(db, opts.storage))
    .catch(async (err) => {
      await db.destroy();
      await server?.stop().catch(() => undefined);
      await services.stop();
      throw err;
    });
  const connection = await Connection.connect({ address: temporalAddress });
  const client = new Client({ connection });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: services.databaseUrl,
    TEMPORAL_ADDRESS: temporalAddress,
    TEMPORAL_NAMESPACE: server?.namespace ?? services.temporalNamespace,
    SECRETS_KEY: BENCH_SECRETS_KEY,
    DATA_DIR: path.join(tmp, 'data'),
    LOG_LEVEL: 'warn',
    NODE_ENV: 'production',
    // A free port for the control worker's health endpoint: on its default (9465) it exits when another
    // system on this machine holds it, and every session of the run then waits for a workflow worker.
    CONTROL_HEALTH_PORT: '0',
  };
  const children: ManagedChild[] = [];
  const spawn = (name: string, file: string, extra: Record<string, string> = {}) => {
    // BENCH_CPU_PROF=collector (or any process name prefix) writes a V8 CPU profile to bench/results/profiles.
    const profile = process.env.BENCH_CPU_PROF && name.startsWith(process.env.BENCH_CPU_PROF)
      ? ['--cpu-prof', '--cpu-prof-dir', path.join(ROOT, 'bench', 'results', 'profiles')]
      : [];
    // BENCH_COLLECTOR_NODE_FLAGS replaces the collector's V8 flags (core/roles.ts) for a comparison run.
    let args = entryArgs(ROOT, file);
    if (file === 'workers/collector.ts' && process.env.BENCH_COLLECTOR_NODE_FLAGS !== undefined) {
      args = [...process.env.BENCH_COLLECTOR_NODE_FLAGS.split(' ').filter(Boolean), ...args.slice(args.indexOf('--import'))];
    }
    const child = startChild(name, process.execPath, [...profile, ...args], {
      env: { ...env, ...extra },
      cwd: ROOT,
      quiet: !process.env.BENCH_VERBOSE,
    });
    children.push(child);
    return child;
  };
  const temporalPids = () =>
    server ? [server.child().child.pid!] : pidsMatching(`server start-dev --ip 127.0.0.1 --port ${services.temporalAddress.split(':').pop()} `);
  // PostgreSQL backends titled `postgres: <user> temporal… <host>`: the server's persistence and visibility connections.
  const temporalBackend = new RegExp(`^postgres: \\S+ (${TEMPORAL_DATABASES.persistence}|${TEMPORAL_DATABASES.visibility}) `);
  const postgresPids = () => processTree(pidsMatching(path.join(tmp, 'postgres')));
  const temporalPostgresPids = () =>
    postgresPids().filter((pid) => {
      try {
        return temporalBackend.test(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
      } catch {
        return false; // gone
      }
    });
  const cpuSamples = temporalCpuSampler(temporalPids, server ? temporalPostgresPids : undefined);
  const collectorSignals: BenchSystem['collectorSignals'] = [];
  return {
    services,
    db,
    client,
    tmp,
    temporal,
    storage,
    temporalAddress,
    temporalMetricsPort,
    env,
    spawn,
    temporalPids,
    postgresPids,
    temporalCpuBetween: cpuSamples.between,
    collectorSignals,
    async startCollector(name, extra = {}) {
      const metricsPort = await freePort();
      const child = spawn(name, 'workers/collector.ts', { ...extra, COLLECTOR_METRICS_PORT: String(metricsPort) });
      // Note when a scenario signals it, so Temporal's CPU can be read over the failover that follows.
      const kill = child.child.kill.bind(child.child);
      child.child.kill = (signal?: NodeJS.Signals | number) => {
        collectorSignals.push({ at: Date.now(), name, signal: String(signal ?? 'SIGTERM') });
        return kill(signal);
      };
      await waitFor(`${name} /healthz`, async () => (await fetch(`http://127.0.0.1:${metricsPort}/healthz`)).ok, 90_000);
      return Object.assign(child, { metricsPort });
    },
    async startSimulator(count, interfaces, extra = {}) {
      // Below the ephemeral range: a port freePort() found free can be handed to one of the targets
      // (port 0 draws from that range) before the control API listens, after every target.
      const controlPort = await freePortBlock(1);
      const child = spawn('simulator', 'simulator/main.ts', {
        SIM_GNMI_COUNT: String(count),
        // 0: every target on a port the OS picks (read back from /devices). A random block of
        // thousands of ports collided with other systems' ports on a shared machine and the
        // simulator exited at start (a 5,000-session run waited for it in vain).
        SIM_GNMI_BASE_PORT: '0',
        SIM_NETCONF_COUNT: '0',
        SIM_INTERFACES: String(interfaces),
        SIM_CONTROL_PORT: String(controlPort),
        ...extra,
      });
      // Each target is a gRPC server of its own: thousands take minutes to open on a loaded machine.
      await waitFor('the simulator', () => isPortOpen(controlPort), 120_000 + count * 120);
      const members = (await (await fetch(`http://127.0.0.1:${controlPort}/devices`)).json()) as Array<{ port: number }>;
      return { child, ports: members.map((m) => m.port), controlPort };
    },
    async addDevices(ports, profile, opts = {}) {
      const ring = parseKeyring(BENCH_SECRETS_KEY);
      const profileId = await ensureProfile(db, 'gnmi', { name: `bench-${JSON.stringify(profile).length}-${Date.now()}`, description: 'benchmark', spec: profile });
      const ids: number[] = [];
      const names: string[] = [];
      for (const [i, port] of ports.entries()) {
        const d = await createDevice(db, ring, {
          name: `${opts.prefix ?? 'bench'}-${i + 1}-${port}`,
          protocol: 'gnmi',
          host: '127.0.0.1',
          port,
          username: SIM_USERNAME,
          settings: { gnmi: { tls: 'insecure', allowPlaintextCredentials: true } },
          secrets: { password: SIM_PASSWORD },
          profileIds: [profileId],
        });
        ids.push(d.id);
        names.push(d.name);
      }
      for (let i = 0; i < ids.length; i += 50) {
        await Promise.all(
          ids.slice(i, i + 50).map((id, j) =>
            // The name the devices table has: the fleet reconciliation reconfigures (restarts) a session whose
            // DeviceName differs, as after a rename.
            startDeviceSession(client, { id, name: names[i + j], protocol: 'gnmi' }, { heartbeatTimeoutMs: opts.heartbeatTimeoutMs, ...opts.sessionOptions }),
          ),
        );
      }
      return ids;
    },
    async stop() {
      await Promise.allSettled(children.reverse().map((c) => c.stop(15_000)));
      cpuSamples.stop();
      await connection.close();
      await db.destroy();
      await server?.stop().catch((err) => console.error(err));
      await services.stop();
      fs.rmSync(tmp, { recursive: true, force: true });
    },
  };
}

/** `ALTER DATABASE … SET synchronous_commit = off` on each database (created when missing): new connections commit asynchronously. */
async function withoutSyncCommit(adminUrl: string, databases: string[]): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    for (const database of databases) {
      await ensureDatabase(adminUrl, database);
      await client.query(`ALTER DATABASE "${database}" SET synchronous_commit = off`);
    }
  } finally {
    await client.end();
  }
}

/**
 * Cumulative CPU seconds of the Temporal process (and, with the server, its PostgreSQL
 * backends) sampled once a second, so a scenario's window can be read afterwards.
 * Per pid: a backend that exits between samples loses at most its last second.
 */
function temporalCpuSampler(processPids: () => number[], postgresPids?: () => number[]) {
  const samples: Array<{ at: number; process: number; postgres: number }> = [];
  const totals = { process: new Map<number, number>(), postgres: new Map<number, number>() };
  const add = (into: Map<number, number>, pids: number[]) => {
    for (const pid of pids) {
      try {
        into.set(pid, cpuSeconds(pid));
      } catch {
        // exited: keep its last reading
      }
    }
    return [...into.values()].reduce((a, b) => a + b, 0);
  };
  const sample = () => samples.push({ at: Date.now(), process: add(totals.process, processPids()), postgres: postgresPids ? add(totals.postgres, postgresPids()) : 0 });
  sample();
  const timer = setInterval(sample, 1000);
  timer.unref();
  /** The sample at or before `t` (the first one when none). */
  const at = (t: number) => samples.findLast((s) => s.at <= t) ?? samples[0];
  return {
    between(from: number, to: number): TemporalCpu | undefined {
      const a = at(from);
      const b = at(to);
      if (!a || !b || b.at <= a.at) return undefined;
      const pct = (x: number) => Math.round((x / ((b.at - a.at) / 1000)) * 1000) / 10;
      return { process: pct(b.process - a.process), ...(postgresPids ? { postgres: pct(b.postgres - a.postgres) } : {}) };
    },
    stop: () => clearInterval(timer),
  };
}

/** A process's /metrics text. */
async function metricsOf(metricsPort: number): Promise<string> {
  return (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
}

/**
 * Sum of a metric on a collector's /metrics over its label sets; `name` may include a
 * label selector, e.g. `event_loop_delay_seconds{quantile="0.99"}`.
 */
export async function scrape(metricsPort: number, name: string): Promise<number> {
  const text = await metricsOf(metricsPort);
  const exact = name.includes('{');
  let sum = 0;
  for (const line of text.split('\n')) {
    const match = exact ? line.startsWith(name + ' ') : line.startsWith(name + ' ') || line.startsWith(name + '{');
    if (match) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** One counter of a process's /metrics summed by the values of one label, e.g. `{ STALLED: 3, UNAVAILABLE: 12 }`. */
export async function scrapeByLabel(metricsPort: number, name: string, label: string): Promise<Record<string, number>> {
  const text = await metricsOf(metricsPort);
  const series = new RegExp(`^${name}\\{(?:[^}]*,)?${label}="([^"]*)"`);
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = series.exec(line);
    if (m) out[m[1]] = (out[m[1]] ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return out;
}

/** A gNMI profile of interface counters sampled every `intervalMs`. */
export function countersProfile(intervalMs: number): GnmiProfileSpec {
  return {
    mode: 'stream',
    pollIntervalMs: 10_000,
    updatesOnly: false,
    subscriptions: [{ path: '/interfaces/interface/state/counters', mode: 'sample', sampleIntervalMs: intervalMs, heartbeatIntervalMs: 0, suppressRedundant: false }],
  };
}

/** Wait `ms`. */
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
