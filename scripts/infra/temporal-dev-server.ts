/**
 * Starting the Temporal dev server (SQLite file, Web UI) with the project's
 * search attributes, or checking an existing server at TEMPORAL_ADDRESS.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTE_DEFINITIONS } from '../../core/names';
import { isPortOpen, startChild, waitFor, type ManagedChild } from './proc';
import { ensureTemporalCli } from './temporal-cli';
import { ensureSearchAttributes } from '../../temporal/search-attributes';

/** A running (or reused) Temporal server. */
export interface TemporalServer {
  address: string;
  namespace: string;
  uiUrl?: string;
  /** Stops the server if we started it. */
  stop(): Promise<void>;
}

/** Options for the dev server. */
export interface DevServerOptions {
  port: number;
  uiPort: number;
  /** SQLite file; omit for an in-memory server (tests). */
  dbFile?: string;
  headless?: boolean;
  namespace?: string;
  quiet?: boolean;
  /** Serve Prometheus metrics on this port (`/metrics`; benchmarks count requests by operation). */
  metricsPort?: number;
  /** Run in a process group of its own, so a terminal's Ctrl-C reaches only whoever stops it in order (npm start). */
  ownProcessGroup?: boolean;
}

/** Wait until the frontend answers and the namespace exists. */
export async function waitForTemporal(address: string, namespace: string, timeoutMs = 60_000): Promise<void> {
  await waitFor(
    `Temporal at ${address}`,
    async () => {
      const conn = await Connection.connect({ address, connectTimeout: 2000 });
      try {
        await conn.workflowService.describeNamespace({ namespace });
        return true;
      } finally {
        await conn.close();
      }
    },
    timeoutMs,
    500,
  );
}

/** Start `temporal server start-dev` unless something already listens on the port. */
export async function startDevServer(opts: DevServerOptions): Promise<TemporalServer> {
  const namespace = opts.namespace ?? 'default';
  const address = `127.0.0.1:${opts.port}`;
  const uiUrl = opts.headless ? undefined : `http://127.0.0.1:${opts.uiPort}`;
  if (await isPortOpen(opts.port)) {
    process.stderr.write(`Temporal: reusing the server already listening on ${address}\n`);
    await waitForTemporal(address, namespace);
    await ensureSearchAttributes(address, namespace);
    return { address, namespace, uiUrl, stop: async () => undefined };
  }
  const cli = await ensureTemporalCli();
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(opts.port), '--namespace', namespace, '--log-level', 'error'];
  if (opts.dbFile) {
    fs.mkdirSync(path.dirname(opts.dbFile), { recursive: true });
    args.push('--db-filename', opts.dbFile);
  }
  if (opts.metricsPort) args.push('--metrics-port', String(opts.metricsPort));
  if (opts.headless) args.push('--headless');
  else args.push('--ui-port', String(opts.uiPort), '--ui-ip', '127.0.0.1');
  for (const [name, type] of SEARCH_ATTRIBUTE_DEFINITIONS) args.push('--search-attribute', `${name}=${type}`);
  // Short metrics/pprof ports would collide between servers; the dev server picks none unless asked.
  const child: ManagedChild = startChild('temporal', cli, args, { quiet: opts.quiet, quietOnStop: true, detached: opts.ownProcessGroup });
  const failed = child.exited.then((code) => {
    throw new Error(`temporal dev server exited early with code ${code}`);
  });
  await Promise.race([waitForTemporal(address, namespace, 90_000), failed]);
  failed.catch(() => undefined);
  await ensureSearchAttributes(address, namespace);
  return { address, namespace, uiUrl, stop: () => child.stop(15_000) };
}
