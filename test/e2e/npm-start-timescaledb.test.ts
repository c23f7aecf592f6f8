/**
 * `npm start` (scripts/up.ts) on an empty data folder runs in TimescaleDB mode (issue 12): it
 * reuses or builds TimescaleDB (TIMESCALEDB_SOURCE), its managed cluster preloads it with
 * telemetry off, the migrations create hypertables, and the simulated fleet's points land in
 * them. It runs against a namespace of its own on the test run's Temporal server (with
 * TEMPORAL_ADDRESS set, npm start uses that server instead of starting the dev server) and
 * is stopped with SIGINT, as Ctrl-C does.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { entryArgs } from '../../scripts/infra/entry';
import { freePort, startChild, waitFor, type ManagedChild } from '../../scripts/infra/proc';
import { ensureNamespace, freePortBlock } from '../../scripts/infra/temporal-server';
import { ensureSearchAttributes } from '../../temporal/search-attributes';
import { endRunningWorkflows } from '../support/browser-rig';
import { storageModesUnderTest } from '../support/db';
import { temporalAddress } from '../support/env';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

if (storageModesUnderTest().includes('timescaledb'))
  describe('npm start: TimescaleDB mode on an empty data folder', function () {
    this.timeout(420_000);
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'npm-start-tsdb-'));
    fs.chmodSync(dataDir, 0o755); // the postgres user must traverse it
    const namespace = `npm-start-${crypto.randomBytes(4).toString('hex')}`;
    let up: ManagedChild | undefined;
    let output = '';
    let pool: pg.Pool | undefined;
    let connection: Connection | undefined;

    before(async function () {
      this.timeout(420_000); // a first run may build TimescaleDB from TIMESCALEDB_SOURCE
      connection = await Connection.connect({ address: temporalAddress() });
      await ensureNamespace(connection, namespace, 1);
      // The frontend may serve a new namespace a moment before the operator service knows it.
      await waitFor('the operator service to know the namespace', async () => (await ensureSearchAttributes(temporalAddress(), namespace, connection), true), 30_000, 100);
      const taken = new Set<number>();
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        DATA_DIR: dataDir,
        PG_PORT: String(await freePort()),
        TEMPORAL_ADDRESS: temporalAddress(),
        TEMPORAL_NAMESPACE: namespace,
        WEB_PORT: String(await freePort()),
        COLLECTOR_METRICS_PORT: String(await freePort()),
        CONTROL_HEALTH_PORT: '0',
        SIM_CONTROL_PORT: String(await freePortBlock(1, taken)),
        SIM_GNMI_BASE_PORT: String(await freePortBlock(3, taken)),
        SIM_NETCONF_BASE_PORT: String(await freePortBlock(1, taken)),
        LOG_LEVEL: 'warn',
      };
      // npm start manages its own cluster only when no DATABASE_URL is given.
      delete env.DATABASE_URL;
      up = startChild('npm start', process.execPath, entryArgs(ROOT, 'scripts/up.ts'), { env, cwd: ROOT, quiet: !process.env.TEST_VERBOSE });
      up.child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
      const exited = up.exited.then((code) => {
        throw new Error(`npm start exited with code ${code} while starting:\n${output.slice(-3000)}`);
      });
      exited.catch(() => undefined);
      await Promise.race([waitFor('npm start: "switch-telemetry is up"', async () => output.includes('switch-telemetry is up'), 400_000, 250), exited]);
      const password = fs.readFileSync(path.join(dataDir, 'postgres.password'), 'utf8').trim();
      pool = new pg.Pool({ connectionString: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${env.PG_PORT}/switch_telemetry`, max: 2 });
    });

    after(async () => {
      await pool?.end().catch(() => undefined);
      if (up && up.child.exitCode === null) await up.stop(60_000);
      if (connection) {
        await endRunningWorkflows(new Client({ connection, namespace }), 'npm start test finished').catch(() => undefined);
        await connection.close();
      }
      fs.rmSync(dataDir, { recursive: true, force: true });
    });

    it('preloads TimescaleDB with telemetry off and says so; the migrations make samples a hypertable; the fleet stores points in it', async () => {
      assert.match(output, /TimescaleDB \d+\.\d+\.\d+: preloaded/, 'npm start says TimescaleDB is preloaded');
      const settings = await pool!.query(`SELECT current_setting('shared_preload_libraries') AS preload, current_setting('timescaledb.telemetry_level') AS telemetry`);
      assert.match(settings.rows[0].preload, /timescaledb/);
      assert.equal(settings.rows[0].telemetry, 'off');
      const hypertables = await pool!.query(`SELECT hypertable_name FROM timescaledb_information.hypertables WHERE hypertable_name = 'samples'`);
      assert.equal(hypertables.rowCount, 1, 'samples is a hypertable');
      let stored = 0;
      await waitFor('points from the simulated fleet stored', async () => (stored = Number((await pool!.query(`SELECT count(*)::int AS n FROM samples`)).rows[0].n)) > 0, 120_000, 500);
      assert.ok(stored > 0);
    });

    it('Ctrl-C (SIGINT) stops everything and exits 0', async () => {
      // Our connections first: npm start stops PostgreSQL last, ending whatever is still connected.
      await pool!.end();
      pool = undefined;
      up!.child.kill('SIGINT');
      const code = await Promise.race([up!.exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 90_000))]);
      assert.equal(code, 0, `npm start exit after SIGINT:\n${output.slice(-2000)}`);
    });
  });
