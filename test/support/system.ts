/**
 * Real processes for end-to-end tests: control and collector workers and the
 * web server, spawned exactly as `npm start` does, against a test database and
 * the test Temporal server. The simulator runs in the test process so tests can
 * inject faults into it.
 */
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { freePort, isPortOpen, startChild, waitFor, type ManagedChild } from '../../scripts/infra/proc';
import { entryArgs } from '../../scripts/infra/entry';
import { temporalAddress } from './env';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

/** A fixed secrets key for tests (never used outside them). */
export const TEST_SECRETS_KEY = `1:${Buffer.alloc(32, 7).toString('base64')}`;

/** Environment for spawned processes. */
export function processEnv(databaseUrl: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: temporalAddress(),
    SECRETS_KEY: TEST_SECRETS_KEY,
    LOG_LEVEL: process.env.TEST_PROCESS_LOG_LEVEL ?? 'warn',
    ...extra,
  };
}

/** Spawn one of the project's entry points (workers/control.ts, workers/collector.ts, web/server.ts). */
export function spawnEntry(name: string, file: string, env: NodeJS.ProcessEnv): ManagedChild {
  return startChild(name, process.execPath, entryArgs(ROOT, file), {
    env,
    cwd: ROOT,
    quiet: !process.env.TEST_VERBOSE,
  });
}

/** A control worker plus `collectors` collector workers, each with its metrics port. */
export interface Workers {
  control: ManagedChild;
  collectors: Array<ManagedChild & { metricsPort: number }>;
  stop(): Promise<void>;
}

/** Start the workers and wait until the collectors answer /healthz. */
export async function startWorkers(databaseUrl: string, opts: { collectors?: number; env?: Record<string, string> } = {}): Promise<Workers> {
  const control = spawnEntry('control', 'workers/control.ts', processEnv(databaseUrl, opts.env));
  const collectors: Workers['collectors'] = [];
  try {
    for (let i = 0; i < (opts.collectors ?? 1); i++) {
      collectors.push(await startCollector(databaseUrl, opts.env, `collector-${i + 1}`));
    }
  } catch (err) {
    // Leave nothing running behind a failed start.
    await Promise.allSettled([control.stop(), ...collectors.map((c) => c.stop())]);
    throw err;
  }
  return {
    control,
    collectors,
    async stop() {
      await Promise.all([control.stop(), ...collectors.map((c) => c.stop())]);
    },
  };
}

/** Start one collector and wait for its health endpoint. */
export async function startCollector(databaseUrl: string, env: Record<string, string> = {}, name = 'collector') {
  const metricsPort = await freePort();
  const child = spawnEntry(name, 'workers/collector.ts', processEnv(databaseUrl, { ...env, COLLECTOR_METRICS_PORT: String(metricsPort) }));
  await waitFor(`${name} /healthz`, async () => (await fetch(`http://127.0.0.1:${metricsPort}/healthz`)).ok, 60_000);
  return Object.assign(child, { metricsPort });
}

/** Start the web server on a free port (the build must exist: npm test builds it). */
export async function startWeb(databaseUrl: string, env: Record<string, string> = {}) {
  const port = await freePort();
  const child = spawnEntry('web', 'web/server.ts', processEnv(databaseUrl, { ...env, WEB_PORT: String(port) }));
  await waitFor('the web server', () => isPortOpen(port), 60_000);
  return Object.assign(child, { url: `http://127.0.0.1:${port}` });
}

/** A Temporal client for the test server. */
export async function testClient(): Promise<Client> {
  const connection = await Connection.connect({ address: temporalAddress() });
  return new Client({ connection });
}

/** Read one counter from a collector's /metrics (sum over labels). */
export async function scrapeCounter(metricsPort: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(name + ' ') || line.startsWith(name + '{')) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}
