/**
 * `npm start`: PostgreSQL, migrations, the Temporal dev server with Web UI,
 * the control and collector workers, the web app and the simulated fleet —
 * installed where missing, reused where present — until Ctrl-C, then a clean stop.
 */
import path from 'node:path';
import { loadConfig } from '../core/config';
import { createKnex } from '../storage/pool';
import { listDeviceItems } from '../storage/devices';
import { openKeyring } from '../storage/secrets';
import { sessionOptionsFromConfig, startDeviceSession } from '../temporal/fleet-client';
import { migrateLatest } from '../migrations/index';
import { connectClient } from '../temporal/client';
import { startDevServer, waitForTemporal, type TemporalServer } from './infra/temporal-dev-server';
import { ensureSearchAttributes } from '../temporal/search-attributes';
import { ensurePostgres, installPostgres, withoutPassword } from './infra/postgres';
import { ensureTimescaleDb } from './infra/timescaledb';
import { startChild, waitFor, isPortOpen, type ManagedChild } from './infra/proc';
import { entryArgs } from './infra/entry';
import { OrderedShutdown } from './infra/shutdown';
import { ensureWebBuild } from './infra/web-build';
import { seedSimulatedDevices, type SimulatedDeviceSpec } from './seed';
import { SIM_PASSWORD, SIM_USERNAME } from '../simulator/fleet';

const ROOT = path.resolve(import.meta.dirname, '..');

function step(msg: string) {
  process.stderr.write(`\n▶ ${msg}\n`);
}

async function main() {
  const started = Date.now();
  const config = loadConfig();
  // Children run in process groups of their own, so a terminal's Ctrl-C reaches only this
  // process, which stops them in dependency order (scripts/infra/shutdown.ts).
  const shutdown = new OrderedShutdown();
  const stopAll = () => shutdown.stopAll();
  let stopping = false;
  const onSignal = () => {
    if (stopping) return;
    stopping = true;
    process.stderr.write('\nStopping (web, collector, control, simulator, Temporal, PostgreSQL)…\n');
    stopAll().finally(() => process.exit(0));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);

  try {
    step('PostgreSQL');
    // The managed cluster preloads TimescaleDB when it is installed or can be built (TIMESCALEDB_SOURCE).
    let timescaledb = false;
    if (!config.external.database) {
      const ts = await ensureTimescaleDb(await installPostgres());
      timescaledb = ts.available;
      process.stderr.write(ts.available ? `  TimescaleDB ${ts.version}: preloaded\n` : `  ${ts.reason} (storage stays on native PostgreSQL)\n`);
    }
    const pg = await ensurePostgres({
      databaseUrl: config.external.database ? config.DATABASE_URL : undefined,
      dir: path.join(config.DATA_DIR, 'postgres'),
      port: config.PG_PORT,
      database: 'switch_telemetry',
      timescaledb,
    });
    shutdown.register('postgres', pg.stop);
    const db = createKnex(pg.url);
    step('Migrations');
    const applied = await migrateLatest(db);
    process.stderr.write(applied.length ? `  applied ${applied.join(', ')}\n` : '  schema is up to date\n');

    step('Temporal');
    let temporal: TemporalServer;
    if (config.external.temporal) {
      await waitForTemporal(config.TEMPORAL_ADDRESS, config.TEMPORAL_NAMESPACE);
      await ensureSearchAttributes(config.TEMPORAL_ADDRESS, config.TEMPORAL_NAMESPACE);
      temporal = { address: config.TEMPORAL_ADDRESS, namespace: config.TEMPORAL_NAMESPACE, uiUrl: config.TEMPORAL_UI_URL, stop: async () => undefined };
    } else {
      temporal = await startDevServer({ port: config.TEMPORAL_DEV_PORT, uiPort: config.TEMPORAL_UI_PORT, dbFile: path.join(config.DATA_DIR, 'temporal.db'), ownProcessGroup: true });
    }
    shutdown.register('temporal', temporal.stop);

    step('Web app build');
    await ensureWebBuild();

    step('Simulated fleet');
    // Refuses to create a fresh key while stored secrets need one that is missing (ADR 044).
    const keyring = await openKeyring(db, { key: config.SECRETS_KEY, keyFile: config.SECRETS_KEY_FILE, dataDir: config.DATA_DIR });
    const env = {
      ...process.env,
      DATABASE_URL: pg.url,
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_NAMESPACE: temporal.namespace,
      DATA_DIR: config.DATA_DIR,
      NODE_ENV: 'production',
      // Readable lines in the terminal this runs in; LOG_FORMAT=json still asks for JSON.
      LOG_FORMAT: config.LOG_FORMAT,
    };
    const children: ManagedChild[] = [];
    const tsx = (name: 'simulator' | 'control' | 'collector' | 'web', file: string) => {
      const child = startChild(name, process.execPath, entryArgs(ROOT, file), { env, cwd: ROOT, detached: true });
      children.push(child);
      shutdown.register(name, () => child.stop(20_000));
      return child;
    };
    tsx('simulator', 'simulator/main.ts');
    await waitFor('the simulator control port', () => isPortOpen(config.SIM_CONTROL_PORT, config.SIM_HOST), 60_000);
    const fleet = (await (await fetch(`http://${config.SIM_HOST}:${config.SIM_CONTROL_PORT}/devices`)).json()) as Array<{
      name: string;
      protocol: 'gnmi' | 'netconf';
      host: string;
      port: number;
      hostKeySha256?: string;
    }>;
    const specs: SimulatedDeviceSpec[] = fleet.map((m) => ({ ...m, username: SIM_USERNAME, password: SIM_PASSWORD }));
    const devices = await seedSimulatedDevices(db, keyring, specs);
    process.stderr.write(`  ${devices.length} simulated devices registered\n`);

    step('Workers and web app');
    tsx('control', 'workers/control.ts');
    tsx('collector', 'workers/collector.ts');
    tsx('web', 'web/server.ts');
    await waitFor('the web app', () => isPortOpen(config.WEB_PORT, config.WEB_HOST), 60_000);

    const client = await connectClient({ ...config, TEMPORAL_ADDRESS: temporal.address });
    const all = await listDeviceItems(db);
    for (const d of all) {
      await startDeviceSession(client, d, sessionOptionsFromConfig(config));
    }
    await client.connection.close();
    await db.destroy();

    const webUrl = `http://${config.WEB_HOST}:${config.WEB_PORT}`;
    process.stderr.write(
      [
        '',
        `switch-telemetry is up (${Math.round((Date.now() - started) / 100) / 10} s).`,
        `  Web app:        ${webUrl}   (device pages with live charts)`,
        `  Sign in:        ${webUrl}/login   (first start: create the admin at ${webUrl}/setup, or set ADMIN_EMAIL and ADMIN_PASSWORD)`,
        `  Temporal Web:   ${temporal.uiUrl ?? config.TEMPORAL_UI_URL}   (one workflow per device: device-session/<id>)`,
        `  Collector:      http://127.0.0.1:${config.COLLECTOR_METRICS_PORT}/metrics`,
        `  Simulator:      http://${config.SIM_HOST}:${config.SIM_CONTROL_PORT}/devices`,
        `  Database:       ${withoutPassword(pg.url)}${config.external.database ? '' : `   (password in ${path.join(config.DATA_DIR, 'postgres.password')})`}`,
        'Press Ctrl-C to stop everything.',
        '',
      ].join('\n'),
    );
    // Exit if a child dies unexpectedly, stopping the rest.
    await Promise.race(children.map((c) => c.exited.then((code) => ({ name: c.name, code }))))
      .then(({ name, code }) => {
        if (stopping) return;
        process.stderr.write(`\n${name} exited with code ${code}; stopping everything.\n`);
        onSignal();
      });
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    await stopAll();
    process.exit(1);
  }
}

main();
