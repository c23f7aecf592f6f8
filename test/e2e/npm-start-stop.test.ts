/**
 * Issue 13: Ctrl-C of `npm start` used to stop the Temporal dev server before the collector had
 * handed its sessions back, so the collector printed a screen of gRPC retry warnings and the stop
 * took about 10 s. This runs the real `scripts/up.ts` (its own PostgreSQL cluster, Temporal dev
 * server, simulator, control, collector and web, all on free loopback ports and a data folder of
 * its own), waits until points are stored, sends Ctrl-C the way a terminal does (SIGINT to the
 * foreground process group) and checks that every part stopped in dependency order, without an
 * error, that no worker complained about a lost Temporal or database connection while stopping,
 * and that nothing is left listening. The stop time it prints is reported, not asserted.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { entryArgs } from '../../scripts/infra/entry';
import { freePort, isPortOpen, waitFor } from '../../scripts/infra/proc';
import { STOP_ORDER } from '../../scripts/infra/shutdown';
import { scrapeCounter } from '../support/system';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
/** What a worker prints when Temporal or PostgreSQL went away under it (grpc-js, Temporal's core SDK, node-postgres). */
const LOST_CONNECTION = /grpc|UNAVAILABLE|ECONNREFUSED|ECONNRESET|Connection refused|transport error|Failed to poll|retry|terminating connection/i;

/** `count` distinct free loopback ports. */
async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

describe('npm start: Ctrl-C stops everything in dependency order', function () {
  this.timeout(420_000);
  let dataDir: string;
  let up: ChildProcess | undefined;
  let exited: Promise<number | null>;
  const lines: string[] = [];

  after(async () => {
    if (up && up.exitCode === null && up.signalCode === null) {
      up.kill('SIGTERM'); // its handler stops what it started
      await Promise.race([exited, new Promise((r) => setTimeout(r, 60_000).unref())]);
    }
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('stops web, collector, control, simulator, Temporal, then PostgreSQL, each timed, with no lost-connection warnings', async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'npm-start-stop-'));
    fs.chmodSync(dataDir, 0o755); // the postgres user must traverse it
    const [pg, temporal, temporalUi, web, metrics, simControl, simGnmi, simNetconf] = await freePorts(8);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATA_DIR: dataDir,
      PG_PORT: String(pg),
      TEMPORAL_DEV_PORT: String(temporal),
      TEMPORAL_UI_PORT: String(temporalUi),
      WEB_PORT: String(web),
      COLLECTOR_METRICS_PORT: String(metrics),
      CONTROL_HEALTH_PORT: '0',
      SIM_CONTROL_PORT: String(simControl),
      SIM_GNMI_BASE_PORT: String(simGnmi),
      SIM_GNMI_COUNT: '1',
      SIM_NETCONF_BASE_PORT: String(simNetconf),
      SIM_NETCONF_COUNT: '1',
      SIM_INTERFACES: '2',
      // Warnings and errors only: what a user would see scroll by is what is checked.
      LOG_LEVEL: 'warn',
    };
    // Its own cluster and dev server, not the test run's (npm start uses these only when they are unset).
    delete env.DATABASE_URL;
    delete env.TEMPORAL_ADDRESS;
    delete env.TEMPORAL_NAMESPACE;
    delete env.TEMPORAL_UI_URL;

    const started = Date.now();
    up = spawn(process.execPath, entryArgs(ROOT, 'scripts/up.ts'), { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    exited = new Promise((resolve) => up!.once('exit', (code) => resolve(code)));
    for (const stream of [up.stdout!, up.stderr!]) readline.createInterface({ input: stream }).on('line', (l) => lines.push(l));
    const output = () => lines.join('\n');
    const alive = async () => up!.exitCode === null;

    await waitFor(
      'npm start to say it is up',
      async () => {
        if (!(await alive())) throw new Error(`npm start exited early:\n${output()}`);
        return lines.some((l) => l.startsWith('switch-telemetry is up'));
      },
      300_000,
      250,
    ).catch((err) => {
      throw new Error(`${(err as Error).message}\n${output()}`);
    });
    // Sessions are held and points stored: the collector has something to hand back.
    await waitFor('points stored by the collector', async () => (await scrapeCounter(metrics, 'ingest_points_written_total')) >= 20, 120_000, 250);
    const upAfterMs = Date.now() - started;

    const signalledAt = lines.length;
    process.kill(-up.pid!, 'SIGINT'); // what a terminal does on Ctrl-C
    const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 120_000).unref())]);
    const stopLines = lines.slice(signalledAt);
    assert.equal(code, 0, `npm start exit (${code}):\n${stopLines.join('\n')}`);

    // One line per part, in dependency order, none with an error; then the total.
    const stopped = stopLines.map((l) => /^ {2}(\w+) stopped \((\d+\.\d) s\)(.*)$/.exec(l)).filter((m) => m !== null);
    assert.deepEqual(
      stopped.map((m) => m[1]),
      [...STOP_ORDER],
      stopLines.join('\n'),
    );
    assert.deepEqual(
      stopped.filter((m) => m[3] !== ''),
      [],
      'no part stopped with an error',
    );
    const total = stopLines.map((l) => /^Stopped in (\d+\.\d) s\.$/.exec(l)).find((m) => m !== null);
    assert.ok(total, `the total stop time is printed:\n${stopLines.join('\n')}`);

    // The workers stop while Temporal and PostgreSQL still run: nothing about lost connections.
    const complaints = stopLines.filter((l) => /^\[(collector|control|web|simulator)\] /.test(l) && LOST_CONNECTION.test(l));
    assert.equal(complaints.length, 0, `no worker lost Temporal or PostgreSQL while stopping; ${complaints.length} lines such as:\n${complaints.slice(0, 3).join('\n')}`);

    // Nothing it started is left listening.
    for (const [what, port] of Object.entries({ pg, temporal, temporalUi, web, metrics, simControl, simGnmi, simNetconf })) {
      assert.equal(await isPortOpen(port), false, `${what} (port ${port}) still listening`);
    }
    console.log(`      npm start: up in ${(upAfterMs / 1000).toFixed(1)} s (points stored); ${total[0]} ${stopped.map((m) => `${m[1]} ${m[2]} s`).join(', ')}`);
  });
});
