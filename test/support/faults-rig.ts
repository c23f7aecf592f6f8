/**
 * The reliability rig: a fresh database, an in-process simulated gNMI fleet
 * under steady load (optionally behind TCP proxies), real control and
 * collector processes (and the web process) with captured output, device
 * workflows started — plus the accounting every fault case reports:
 *
 *   emitted  = leaf values the simulator handed to open streams (faults-sim.ts)
 *   received = session_points_received_total over the collectors (/metrics)
 *   dropped  = ingest_points_dropped_total (the batcher's counted drops)
 *   stored   = rows in samples + states
 *
 * After quiesce(): stored == received − dropped is the "nothing lost inside the
 * system" equality, and emitted − received is what was in flight on a broken
 * connection (gNMI has no replay; those breaks are recorded as gaps).
 */
import type { Client } from '@temporalio/client';
import { Client as TemporalClient, Connection } from '@temporalio/client';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDevice } from '../../storage/devices';
import { parseKeyring } from '../../storage/secrets';
import { startDeviceSession, stopDeviceSession } from '../../temporal/fleet-client';
import type { GnmiProfileSpec } from '../../core/device';
import { deviceSessionWorkflowId, statusQuery, type DeviceSessionOptions, type DeviceSessionStatus } from '../../core/names';
import { freePort, isPortOpen, waitFor } from '../../scripts/infra/proc';
import { ensureProfile } from '../../storage/profiles';
import { startFleet, type Fleet, type FleetMember } from '../../simulator/fleet';
import { createTestDatabase, type TestDatabase } from './db';
import { spawnCaptured, type CapturedChild } from './faults-proc';
import { emittedBy, instrumentSimulator } from './faults-sim';
import { TEST_SECRETS_KEY } from './system';
import { startTcpProxy, type ProxyShape, type TcpProxy } from './tcp-proxy';
import { webAuthEnv } from './faults-web';
import { until } from '../../testkit/until';
import { finalCounters } from '../../testkit/collector-final';

/** Rig settings. */
export interface RigOptions {
  label: string;
  devices?: number;
  interfaces?: number;
  /** Sample interval of the counters subscription, ms. */
  sampleMs?: number;
  collectors?: number;
  /** Extra environment for every spawned process. */
  env?: Record<string, string>;
  /** Put a TCP proxy between the collectors and each device. */
  proxy?: ProxyShape | boolean;
  web?: boolean;
  /** Temporal frontend (default: the test run's server). */
  temporalAddress?: string;
  sessionOptions?: DeviceSessionOptions;
  /** Password every simulated device expects (and the devices are configured with). */
  password?: string;
}

/** One device of the rig. */
export interface RigDevice {
  id: number;
  name: string;
  member: FleetMember;
  proxy?: TcpProxy;
}

/** The counts a fault case reports. */
export interface Accounting {
  emitted: number;
  received: number;
  dropped: number;
  stored: number;
  duplicates: number;
}

/** A collector process with its metrics port. */
export type RigCollector = CapturedChild & { metricsPort: number };

/** A web process with its URL. */
export type RigWeb = CapturedChild & { url: string; port: number };

const ROOT = path.resolve(import.meta.dirname, '..', '..');

/** Prometheus text → sum of one metric over its label sets. */
export function sumMetric(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(name + ' ') || line.startsWith(name + '{')) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** The profile every rig device uses: interface counters and oper-status every `sampleMs`. */
export function rigProfile(sampleMs: number): GnmiProfileSpec {
  return {
    mode: 'stream',
    pollIntervalMs: 10_000,
    updatesOnly: false,
    subscriptions: [
      { path: '/interfaces/interface/state/counters', mode: 'sample', sampleIntervalMs: sampleMs, heartbeatIntervalMs: 0, suppressRedundant: false },
      { path: '/interfaces/interface/state/oper-status', mode: 'sample', sampleIntervalMs: sampleMs, heartbeatIntervalMs: 0, suppressRedundant: false },
    ],
  };
}

/** `wait`, unless the child exits first (then fail with its last output). */
export async function untilExit<T>(child: CapturedChild, wait: Promise<T>): Promise<T> {
  const exited = child.exited.then(({ code, signal }) => {
    throw new Error(`${child.name} exited (${signal ?? code}) while starting:\n${child.output().slice(-3000)}`);
  });
  exited.catch(() => undefined);
  return Promise.race([wait, exited]);
}

/** A running rig. */
export class Rig {
  tdb!: TestDatabase;
  fleet!: Fleet;
  devices: RigDevice[] = [];
  control!: CapturedChild;
  collectors: RigCollector[] = [];
  web?: RigWeb;
  client!: Client;
  readonly tmp: string;
  /** Counters of collectors that were stopped gracefully (their last scrape). */
  private retired = { received: 0, dropped: 0 };
  /** Every process ever spawned (for log searches), in order. */
  readonly processes: CapturedChild[] = [];

  constructor(readonly opts: RigOptions) {
    this.tmp = fs.mkdtempSync(path.join(os.tmpdir(), `reliability-${opts.label.replace(/\W/g, '')}-`));
  }

  get temporalAddress(): string {
    const a = this.opts.temporalAddress ?? process.env.TEMPORAL_ADDRESS;
    if (!a) throw new Error('TEMPORAL_ADDRESS is not set: run through npm test or npm run faults');
    return a;
  }

  /** Environment of spawned processes. */
  env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return {
      ...process.env,
      DATABASE_URL: this.tdb.url,
      TEMPORAL_ADDRESS: this.temporalAddress,
      SECRETS_KEY: TEST_SECRETS_KEY,
      DATA_DIR: path.join(this.tmp, 'data'),
      LOG_LEVEL: process.env.TEST_PROCESS_LOG_LEVEL ?? 'info',
      ...this.opts.env,
      ...extra,
    };
  }

  /** Start everything and wait until every device has stored points. */
  async start(): Promise<this> {
    instrumentSimulator();
    this.tdb = await createTestDatabase(this.opts.label);
    this.fleet = await startFleet({
      gnmiCount: this.opts.devices ?? 5,
      interfaces: this.opts.interfaces ?? 4,
      namePrefix: this.opts.label.replace(/\W/g, '').slice(0, 12) + Math.random().toString(36).slice(2, 6),
      password: this.opts.password,
    });
    const profileId = await ensureProfile(this.tdb.db, 'gnmi', { name: 'reliability', description: 'reliability rig', spec: rigProfile(this.opts.sampleMs ?? 500) });
    const ring = parseKeyring(TEST_SECRETS_KEY);
    for (const member of this.fleet.members) {
      const proxy = this.opts.proxy ? await startTcpProxy({ targetPort: member.port, ...(typeof this.opts.proxy === 'object' ? this.opts.proxy : {}) }) : undefined;
      const row = await createDevice(this.tdb.db, ring, {
        name: member.name,
        protocol: 'gnmi',
        host: '127.0.0.1',
        port: proxy ? proxy.port : member.port,
        username: 'admin',
        settings: { gnmi: { tls: 'insecure', allowPlaintextCredentials: true } },
        secrets: { password: this.opts.password ?? 'admin' },
        profileIds: [profileId],
      });
      this.devices.push({ id: row.id, name: member.name, member, proxy });
    }
    const connection = await Connection.connect({ address: this.temporalAddress });
    this.client = new TemporalClient({ connection });
    this.control = this.spawn('control', 'workers/control.ts');
    const starts: Array<Promise<unknown>> = [];
    for (let i = 0; i < (this.opts.collectors ?? 1); i++) starts.push(this.startCollector(`collector-${i + 1}`));
    if (this.opts.web) starts.push(this.startWeb());
    await Promise.all(starts);
    for (const d of this.devices) {
      await startDeviceSession(this.client, { id: d.id, name: d.name, protocol: 'gnmi' }, this.opts.sessionOptions ?? {});
    }
    await this.waitAllFlowing(0, 90_000);
    return this;
  }

  /** Spawn an entry point with captured output. */
  spawn(name: string, file: string, extra: Record<string, string> = {}): CapturedChild {
    const child = spawnCaptured(name, file, this.env(extra));
    this.processes.push(child);
    return child;
  }

  /** Start one more collector and wait for /healthz. */
  async startCollector(name = `collector-${this.collectors.length + 1}`, extra: Record<string, string> = {}): Promise<RigCollector> {
    const metricsPort = await freePort();
    const child = Object.assign(this.spawn(name, 'workers/collector.ts', { ...extra, COLLECTOR_METRICS_PORT: String(metricsPort) }), { metricsPort });
    this.collectors.push(child);
    await untilExit(child, waitFor(`${name} /healthz`, async () => (await fetch(`http://127.0.0.1:${metricsPort}/healthz`)).ok, 90_000));
    return child;
  }

  /** Id of a device's series by path. */
  async seriesId(deviceId: number, path: string): Promise<number> {
    let id: number | undefined;
    await waitFor(`series ${path}`, async () => {
      id = (await this.tdb.db('series').where({ device_id: deviceId, path }).first('id'))?.id;
      return id !== undefined;
    }, 30_000);
    return id!;
  }

  /** Wait until `n` samples of a series newer than `sinceMs` are stored (points written while, say, no web process runs). */
  async waitSamplesSince(series: number, sinceMs: number, n = 3, timeoutMs = 30_000): Promise<void> {
    await until(`${n} samples of series ${series} stored after ${new Date(sinceMs).toISOString()}`, async () => {
      const { rows } = await this.tdb.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM samples WHERE series_id = $1 AND time > to_timestamp($2::float8 / 1000)`, [series, sinceMs]);
      return rows[0].n >= n;
    }, timeoutMs, 100);
  }

  /** Start (or restart) the web process on `port` (default: a free one). */
  async startWeb(port?: number): Promise<RigWeb> {
    const p = port ?? (await freePort());
    const child = Object.assign(this.spawn('web', 'web/server.ts', { ...webAuthEnv(), WEB_PORT: String(p) }), { url: `http://127.0.0.1:${p}`, port: p });
    this.web = child;
    await untilExit(child, waitFor('the web server', () => isPortOpen(p), 90_000));
    return child;
  }

  /**
   * Stop a collector gracefully, keeping its final counters in the totals: those its last log line
   * reports (a collector handing over make before break receives points until it exits, ADR 236),
   * else its last scrape.
   */
  async retireCollector(c: RigCollector): Promise<void> {
    const text = await this.metricsText(c);
    await c.stop(20_000);
    const final = finalCounters(c.output());
    if (final) {
      this.retired.received += final.received;
      this.retired.dropped += final.dropped;
    } else if (text) {
      this.retired.received += sumMetric(text, 'session_points_received_total');
      this.retired.dropped += sumMetric(text, 'ingest_points_dropped_total');
    }
    this.collectors = this.collectors.filter((x) => x !== c);
  }

  /** Forget a collector that was killed (its unscraped counters are unknown). */
  forgetCollector(c: RigCollector): void {
    this.collectors = this.collectors.filter((x) => x !== c);
  }

  async metricsText(c: RigCollector): Promise<string | undefined> {
    try {
      return await (await fetch(`http://127.0.0.1:${c.metricsPort}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
    } catch {
      return undefined;
    }
  }

  /** Current counts (collectors must be up; PostgreSQL must answer). */
  async accounting(): Promise<Accounting> {
    let received = this.retired.received;
    let dropped = this.retired.dropped;
    for (const c of this.collectors) {
      const text = await this.metricsText(c);
      if (text === undefined) throw new Error(`${c.name} /metrics did not answer`);
      received += sumMetric(text, 'session_points_received_total');
      dropped += sumMetric(text, 'ingest_points_dropped_total');
    }
    const { rows } = await this.tdb.pool.query<{ n: number }>(
      `SELECT (SELECT count(*) FROM samples)::int + (SELECT count(*) FROM states)::int AS n`,
    );
    return { emitted: emittedBy(this.devices.map((d) => d.name)), received, dropped, stored: rows[0].n, duplicates: await this.duplicates() };
  }

  /** (series_id, time) pairs stored more than once, in samples and states. */
  async duplicates(): Promise<number> {
    const { rows } = await this.tdb.pool.query<{ n: number }>(
      `SELECT (SELECT count(*) FROM (SELECT series_id, time, count(*) FROM samples GROUP BY series_id, time HAVING count(*) > 1) d)::int
            + (SELECT count(*) FROM (SELECT series_id, time, count(*) FROM states GROUP BY series_id, time HAVING count(*) > 1) d)::int AS n`,
    );
    return rows[0].n;
  }

  /**
   * Stop emission (stall every simulated device), wait until every received
   * point is stored or counted as dropped, and return the counts; emission
   * resumes afterwards. Throws with the counts when they do not settle.
   */
  async quiesce(timeoutMs = 30_000): Promise<Accounting> {
    const faults = this.devices.map((d) => d.member.faults as { stall(v: boolean): void; withheldTicks: number; streams: Set<unknown> });
    const withheld = faults.map((f) => f.withheldTicks);
    for (const f of faults) f.stall(true);
    try {
      // The stall is in effect once every device with an open stream withheld a tick: from then on
      // nothing more is emitted. A stream held back by backpressure runs no ticks; the settling
      // below decides then, so this wait only shortens the way there.
      await until('every streaming device to withhold a tick', () => faults.every((f, i) => f.streams.size === 0 || f.withheldTicks > withheld[i]), 5_000, 50).catch(() => undefined);
      let last: Accounting | undefined;
      let settledSince: number | undefined;
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const a = await this.accounting();
        const settled = a.stored === a.received - a.dropped && last !== undefined && last.received === a.received && last.stored === a.stored;
        settledSince = settled ? (settledSince ?? Date.now()) : undefined;
        // Settled, and either everything emitted arrived or nothing more has arrived for 5 s
        // (the rest was on a connection that broke).
        if (settledSince !== undefined && (a.emitted === a.received || Date.now() - settledSince >= 5000)) return a;
        if (Date.now() > deadline) return a;
        last = a;
        await new Promise((r) => setTimeout(r, 1000)); // the poll interval of the two readings compared above
      }
    } finally {
      for (const f of faults) f.stall(false);
    }
  }

  /** Newest stored sample time per device id (ms). */
  async latestPerDevice(): Promise<Map<number, number>> {
    const { rows } = await this.tdb.pool.query<{ device_id: number; t: number }>(
      `SELECT se.device_id, (extract(epoch FROM max(s.time)) * 1000)::float8 AS t
         FROM samples s JOIN series se ON se.id = s.series_id GROUP BY se.device_id`,
    );
    return new Map(rows.map((r) => [Number(r.device_id), r.t]));
  }

  /** Wait until every device has a stored sample newer than `sinceMs`; returns when that became true (ms). */
  async waitAllFlowing(sinceMs: number, timeoutMs = 60_000): Promise<number> {
    let lagging: string[] = [];
    await waitFor(
      `every device storing points newer than ${new Date(sinceMs).toISOString()}`,
      async () => {
        const latest = await this.latestPerDevice();
        lagging = this.devices.filter((d) => !((latest.get(d.id) ?? 0) > sinceMs)).map((d) => d.name);
        return lagging.length === 0;
      },
      timeoutMs,
      250,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; lagging: ${lagging.join(', ')}\n${this.tail()}`);
    });
    return Date.now();
  }

  /** Session status of every device (the workflow's status query). */
  async statuses(): Promise<DeviceSessionStatus[]> {
    return Promise.all(this.devices.map((d) => this.client.workflow.getHandle(deviceSessionWorkflowId(d.id)).query(statusQuery)));
  }

  /**
   * Wait until every session workflow answers its status query as streaming. The workflow
   * learns it from a signal the collector sends at the first point, which may land after
   * those points are committed, so a test that saw points stored waits for this fact too.
   */
  async waitAllStreaming(timeoutMs = 30_000, intervalMs = 250): Promise<DeviceSessionStatus[]> {
    let states: DeviceSessionStatus[] = [];
    await waitFor(
      'every session workflow answering its status query as streaming',
      async () => (states = await this.statuses()).every((s) => s.state === 'streaming'),
      timeoutMs,
      intervalMs,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; states: ${JSON.stringify(states.map((s) => [s.state, s.lastError]))}\n${this.tail()}`);
    });
    return states;
  }

  /** Gaps recorded since `sinceMs`, per device id. */
  async gapsSince(sinceMs: number): Promise<Map<number, number>> {
    const rows = await this.tdb.db('gaps').where('ended_at', '>', new Date(sinceMs)).select('device_id');
    const out = new Map<number, number>();
    for (const r of rows) out.set(r.device_id, (out.get(r.device_id) ?? 0) + 1);
    return out;
  }

  /** The last lines of every process (for failure messages). */
  tail(lines = 15): string {
    return this.processes
      .map((p) => `--- ${p.name} (pid ${p.pid}${p.alive() ? '' : ', exited'})\n${p.output().split('\n').slice(-lines).join('\n')}`)
      .join('\n');
  }

  /** Stop everything and drop the database. */
  async stop(): Promise<void> {
    if (this.client) await Promise.allSettled(this.devices.map((d) => stopDeviceSession(this.client, d.id, 'test over')));
    await Promise.allSettled(this.processes.map((p) => p.stop(15_000)));
    await Promise.allSettled([this.fleet?.close(), ...this.devices.map((d) => d.proxy?.close())]);
    await this.client?.connection.close().catch(() => undefined);
    await this.tdb?.drop().catch((err) => console.error(err));
    fs.rmSync(this.tmp, { recursive: true, force: true });
  }
}

/** Start a rig. */
export async function startRig(opts: RigOptions): Promise<Rig> {
  const rig = new Rig(opts);
  try {
    return await rig.start();
  } catch (err) {
    const tail = rig.processes.length ? `\n${rig.tail(30)}` : '';
    await rig.stop().catch(() => undefined);
    throw Object.assign(err as Error, { message: `${(err as Error).message}${tail}` });
  }
}

/** A one-line summary of a case's numbers (also written to the fault report). */
export function describeAccounting(a: Accounting): string {
  return `emitted ${a.emitted}, received ${a.received}, dropped ${a.dropped}, stored ${a.stored}, in flight on broken connections ${a.emitted - a.received}, duplicates ${a.duplicates}`;
}

export { ROOT as RIG_ROOT };
