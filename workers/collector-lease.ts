/**
 * A collector's place in the registry (ADR 110): it registers under COLLECTOR_ID
 * with a fresh incarnation and its own task queue, renews its lease every
 * COLLECTOR_LEASE_RENEW_MS with its load (sessions, CPU, event-loop p99) from a
 * thread of its own (collector-lease-thread.ts, ADR 165), so a saturated event
 * loop does not lose it, and at each renewal hands over the sessions placement
 * wants elsewhere (rebalance, drain, or placed anew after this collector was
 * thought lost). One row, one
 * UPDATE a second per collector, whatever the number of sessions.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Knex } from 'knex';
import type { Logger } from '../core/session';
import { collectorTaskQueue } from '../core/names';
import { registerCollector, removeCollector, type CollectorRegistration } from '../storage/collectors';
import type { FromLeaseThread, LeaseThreadData, ToLeaseThread } from './collector-lease-thread';

/** What the lease loop reads from the collector. */
export interface LeaseDeps {
  /** Registers and removes the row (the renewals use a connection of their own to `databaseUrl`). */
  db: Knex;
  databaseUrl: string;
  log: Logger;
  id?: string;
  capacity: number;
  leaseMs: number;
  renewMs: number;
  /** A main thread that posts no load for this long is hung: renewals stop and the sessions fail over (COLLECTOR_STALL_MS). */
  stallMs: number;
  /** Hold a liveness lock on a connection of its own, so that the process's death ends the lease at once (COLLECTOR_LIVENESS_LOCK, ADR 296; default true). */
  livenessLock?: boolean;
  /** Device ids of the sessions running now. */
  runningDevices(): number[];
  /** Event-loop delay p99 (seconds) of the last window. */
  loopP99Seconds(): number;
  /** End the session of `deviceId` here with a clean hand-over. */
  handOver(deviceId: number): void;
  /** Sessions placement asks to move elsewhere (rebalance, drain): hand them over (default: `handOver` each at once). */
  moveOff?(deviceIds: number[]): void;
  /** The registry no longer names this incarnation (replaced under the same id), or the lease thread ended: stop like on SIGTERM. */
  onEvicted(): void;
  /** The registry marked this collector draining (true) or took it back (false): called on each change. */
  onDraining?(draining: boolean): void;
  /** After each renewal: milliseconds since the previous one (the lease lapsed if more than leaseMs). */
  onRenewed?(gapMs: number): void;
}

/** The collector's version as it advertises it (package.json). */
export function collectorVersion(): string {
  try {
    return String(JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version ?? 'unknown');
  } catch {
    return 'unknown';
  }
}

/** The collector's registration: COLLECTOR_ID (default `<hostname>-<pid>`) and a new incarnation. */
export function newRegistration(deps: Pick<LeaseDeps, 'id' | 'capacity' | 'leaseMs'> & { warmHandOver?: boolean }): CollectorRegistration {
  const id = deps.id ?? `${os.hostname()}-${process.pid}`.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 100);
  const incarnation = randomBytes(4).toString('hex');
  return { id, incarnation, taskQueue: collectorTaskQueue(id, incarnation), version: collectorVersion(), capacity: deps.capacity, leaseMs: deps.leaseMs, warmHandOver: deps.warmHandOver ?? true };
}

/**
 * A TypeScript module as a worker thread. Node 20 does not apply `--import tsx` to a
 * thread's entry module, so the thread registers tsx itself before importing it.
 */
function startTsThread(entry: URL, workerData: unknown): Worker {
  // tsx's ESM API as its exports map names it (import.meta.resolve is missing where tsx loads this module as CommonJS, as under mocha).
  const manifest = createRequire(import.meta.url).resolve('tsx/package.json');
  const api = JSON.parse(fs.readFileSync(manifest, 'utf8')).exports['./esm/api'].import.default as string;
  const tsx = pathToFileURL(path.join(path.dirname(manifest), api)).href;
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); })`;
  // No inherited flags: V8 options such as the collector's --max-semi-space-size are refused in a thread.
  return new Worker(boot, { eval: true, workerData, execArgv: [] });
}

/**
 * Register and keep the lease; `stop()` ends the renewals and removes the row (its sessions
 * are then placed anew at once). Renewals run on a thread of their own (ADR 165): this
 * (main) thread only posts its load every `renewMs` and acts on what each renewal said.
 */
export async function holdLease(deps: LeaseDeps, reg: CollectorRegistration): Promise<{ stop(remove: boolean): Promise<void>; draining(): boolean }> {
  await registerCollector(deps.db, reg);
  let draining = false;
  let stopped = false;
  let lastCpu = process.cpuUsage();
  let lastAt = Date.now();
  const data: LeaseThreadData = { databaseUrl: deps.databaseUrl, registration: reg, renewMs: deps.renewMs, stallMs: deps.stallMs, livenessLock: deps.livenessLock ?? true };
  const thread = startTsThread(new URL('./collector-lease-thread.ts', import.meta.url), data);
  const postLoad = () => {
    const now = Date.now();
    const cpu = process.cpuUsage(lastCpu);
    const cpuShare = (cpu.user + cpu.system) / 1000 / Math.max(1, now - lastAt);
    lastCpu = process.cpuUsage();
    lastAt = now;
    const m: ToLeaseThread = { type: 'load', running: deps.runningDevices(), cpu: cpuShare, loopP99Ms: deps.loopP99Seconds() * 1000 };
    thread.postMessage(m);
  };
  postLoad();
  const poster = setInterval(postLoad, deps.renewMs);
  let threadGone = false;
  const exited = new Promise<void>((resolve) => thread.once('exit', () => ((threadGone = true), resolve())));
  thread.on('message', (m: FromLeaseThread) => {
    if (stopped || m.type !== 'renewed') return;
    deps.onRenewed?.(m.gapMs);
    if (!m.owned) {
      deps.log.error('collector registry names another incarnation of this collector: leaving', { id: reg.id });
      stopped = true;
      clearInterval(poster);
      deps.onEvicted();
      return;
    }
    const changed = m.draining !== draining;
    if (changed) deps.log.info(m.draining ? 'collector draining' : 'collector no longer draining', { id: reg.id });
    draining = m.draining;
    if (changed) deps.onDraining?.(draining);
    for (const deviceId of m.endHere) deps.handOver(deviceId);
    if (m.moveOff.length) {
      if (deps.moveOff) deps.moveOff(m.moveOff);
      else for (const deviceId of m.moveOff) deps.handOver(deviceId);
    }
  });
  thread.on('error', (err) => deps.log.error('collector lease thread failed', { error: err.message }));
  // Its lifetime is the collector's: stop() ends it.
  thread.unref();
  // Taking sessions waits until the thread has renewed once (or ended: then this throws).
  const first = await Promise.race([new Promise<boolean>((resolve) => thread.once('message', () => resolve(true))), exited.then(() => false)]);
  if (!first) {
    clearInterval(poster);
    await removeCollector(deps.db, reg.id, reg.incarnation).catch(() => undefined);
    throw new Error('the collector lease thread ended before its first renewal');
  }
  void exited.then(() => {
    if (stopped) return;
    // Without its thread the lease lapses in COLLECTOR_LEASE_MS anyway: leave cleanly instead.
    deps.log.error('collector lease thread ended: leaving like on SIGTERM', { id: reg.id });
    stopped = true;
    clearInterval(poster);
    deps.onEvicted();
  });
  return {
    draining: () => draining,
    async stop(remove: boolean) {
      stopped = true;
      clearInterval(poster);
      if (!threadGone) {
        thread.postMessage({ type: 'stop' } satisfies ToLeaseThread);
        const bound = setTimeout(() => void thread.terminate(), 2000);
        await exited;
        clearTimeout(bound);
      }
      if (remove) await removeCollector(deps.db, reg.id, reg.incarnation).catch((err) => deps.log.warn('could not leave the registry', { error: (err as Error).message }));
    },
  };
}
