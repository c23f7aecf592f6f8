/**
 * The system under benchmark: throwaway PostgreSQL (durable settings) and
 * Temporal, the simulator, control and collector workers as real processes.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { Knex } from 'knex';
import { createDevice } from '../../storage/devices';
import { createKnex } from '../../storage/pool';
import { parseKeyring } from '../../storage/secrets';
import { startDeviceSession } from '../../temporal/fleet-client';
import type { GnmiProfileSpec } from '../../core/device';
import type { DeviceSessionOptions } from '../../core/names';
import { migrateLatest } from '../../migrations/index';
import { freePort, isPortOpen, startChild, waitFor, type ManagedChild } from '../../scripts/infra/proc';
import { entryArgs } from '../../scripts/infra/entry';
import { pidsMatching } from './procstat';
import { startThrowawayServices, type ThrowawayServices } from '../../scripts/infra/services';
import { freePortBlock } from '../../scripts/infra/temporal-server';
import { ensureProfile } from '../../storage/profiles';
import { SIM_PASSWORD, SIM_USERNAME } from '../../simulator/fleet';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const BENCH_SECRETS_KEY = `1:${Buffer.alloc(32, 9).toString('base64')}`;

/** A running benchmark system. */
export interface BenchSystem {
  services: ThrowawayServices;
  db: Knex;
  client: Client;
  tmp: string;
  /** The Temporal dev server's Prometheus port (requests by operation, e.g. RecordActivityTaskHeartbeat). */
  temporalMetricsPort: number;
  env: NodeJS.ProcessEnv;
  /** This run's Temporal dev server process(es): matched by its port (other engineers' dev servers are not ours). */
  temporalPids(): number[];
  spawn(name: string, file: string, extra?: Record<string, string>): ManagedChild;
  startCollector(name: string, extra?: Record<string, string>): Promise<ManagedChild & { metricsPort: number }>;
  /** Start a simulator process with `count` gNMI devices (`extra`: more settings, e.g. SIM_GNMI_GENERATOR); returns their ports. */
  startSimulator(count: number, interfaces: number, extra?: Record<string, string>): Promise<{ child: ManagedChild; ports: number[]; controlPort: number }>;
  /** Register devices pointing at the given ports with a profile and start their workflows. */
  addDevices(ports: number[], profile: GnmiProfileSpec, opts?: { prefix?: string; heartbeatTimeoutMs?: number; sessionOptions?: DeviceSessionOptions }): Promise<number[]>;
  stop(): Promise<void>;
}

/** Start PostgreSQL (fsync on: durable, like production; TimescaleDB preloaded when it can be had) and Temporal. */
export async function startBenchSystem(opts: { storage?: 'timescaledb' | 'native' } = {}): Promise<BenchSystem> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'switch-telemetry-bench-'));
  fs.chmodSync(tmp, 0o755);
  const temporalMetricsPort = await freePort();
  const services = await startThrowawayServices(tmp, 'bench', {
    temporalMetricsPort,
    pgSettings: ['fsync=on', 'synchronous_commit=on', 'full_page_writes=on', 'max_wal_size=4GB', 'checkpoint_timeout=15min'],
    timescaledb: opts.storage === 'timescaledb',
  });
  if (opts.storage === 'timescaledb' && !services.timescaledb.available) {
    await services.stop();
    throw new Error(`the timescaledb storage mode was asked for but TimescaleDB cannot be had: ${services.timescaledb.reason}`);
  }
  const db = createKnex(services.databaseUrl);
  // Without a storage mode: as the server allows (auto); with one: that mode.
  await migrateLatest(db, opts.storage ? { storageTimescaledb: opts.storage === 'timescaledb' ? 'on' : 'off' } : {});
  const connection = await Connection.connect({ address: services.temporalAddress });
  const client = new Client({ connection });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: services.databaseUrl,
    TEMPORAL_ADDRESS: services.temporalAddress,
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
  return {
    services,
    db,
    client,
    tmp,
    temporalMetricsPort,
    env,
    spawn,
    temporalPids: () => pidsMatching(`server start-dev --ip 127.0.0.1 --port ${services.temporalAddress.split(':').pop()} `),
    async startCollector(name, extra = {}) {
      const metricsPort = await freePort();
      const child = spawn(name, 'workers/collector.ts', { ...extra, COLLECTOR_METRICS_PORT: String(metricsPort) });
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
      await connection.close();
      await db.destroy();
      await services.stop();
      fs.rmSync(tmp, { recursive: true, force: true });
    },
  };
}

/**
 * Sum of a metric on a collector's /metrics over its label sets; `name` may include a
 * label selector, e.g. `event_loop_delay_seconds{quantile="0.99"}`.
 */
export async function scrape(metricsPort: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const exact = name.includes('{');
  let sum = 0;
  for (const line of text.split('\n')) {
    const match = exact ? line.startsWith(name + ' ') : line.startsWith(name + ' ') || line.startsWith(name + '{');
    if (match) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
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
