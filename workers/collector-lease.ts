/**
 * A collector's place in the registry (ADR 110): it registers under COLLECTOR_ID
 * with a fresh incarnation and its own task queue, renews its lease every
 * COLLECTOR_LEASE_RENEW_MS with its load (sessions, CPU, event-loop p99), and at
 * each renewal hands over the sessions placement wants elsewhere (rebalance,
 * drain, or placed anew after this collector was thought lost). One row, one
 * UPDATE a second per collector, whatever the number of sessions.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import type { Knex } from 'knex';
import type { Logger } from '../core/session';
import { collectorTaskQueue } from '../core/names';
import { registerCollector, removeCollector, renewLease, type CollectorRegistration } from '../storage/collectors';

/** What the lease loop reads from the collector. */
export interface LeaseDeps {
  db: Knex;
  log: Logger;
  id?: string;
  capacity: number;
  leaseMs: number;
  renewMs: number;
  /** Device ids of the sessions running now. */
  runningDevices(): number[];
  /** Event-loop delay p99 (seconds) of the last window. */
  loopP99Seconds(): number;
  /** End the session of `deviceId` here with a clean hand-over. */
  handOver(deviceId: number): void;
  /** The registry no longer names this incarnation (replaced under the same id): stop like on SIGTERM. */
  onEvicted(): void;
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
export function newRegistration(deps: Pick<LeaseDeps, 'id' | 'capacity' | 'leaseMs'>): CollectorRegistration {
  const id = deps.id ?? `${os.hostname()}-${process.pid}`.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 100);
  const incarnation = randomBytes(4).toString('hex');
  return { id, incarnation, taskQueue: collectorTaskQueue(id, incarnation), version: collectorVersion(), capacity: deps.capacity, leaseMs: deps.leaseMs };
}

/** Register and keep the lease; `stop()` ends the loop and removes the row (its sessions are then placed anew at once). */
export async function holdLease(deps: LeaseDeps, reg: CollectorRegistration): Promise<{ stop(remove: boolean): Promise<void>; draining(): boolean }> {
  await registerCollector(deps.db, reg);
  let draining = false;
  let stopped = false;
  let lastCpu = process.cpuUsage();
  let lastAt = Date.now();
  let failingSince: number | undefined;
  const tick = async () => {
    const now = Date.now();
    const cpu = process.cpuUsage(lastCpu);
    const cpuShare = (cpu.user + cpu.system) / 1000 / Math.max(1, now - lastAt);
    lastCpu = process.cpuUsage();
    lastAt = now;
    const running = deps.runningDevices();
    try {
      const r = await renewLease(deps.db, reg, { sessions: running.length, cpu: cpuShare, loopP99Ms: deps.loopP99Seconds() * 1000 }, running);
      if (failingSince !== undefined) deps.log.info('collector lease renewed again', { afterMs: now - failingSince });
      failingSince = undefined;
      if (!r.owned) {
        deps.log.error('collector registry names another incarnation of this collector: leaving', { id: reg.id });
        stopped = true;
        deps.onEvicted();
        return;
      }
      if (r.draining !== draining) deps.log.info(r.draining ? 'collector draining' : 'collector no longer draining', { id: reg.id });
      draining = r.draining;
      for (const deviceId of r.endHere) deps.handOver(deviceId);
    } catch (err) {
      failingSince ??= now;
      deps.log.warn('could not renew the collector lease', { error: (err as Error).message, failingForMs: now - failingSince });
    }
  };
  let timer: NodeJS.Timeout | undefined;
  const loop = async () => {
    if (stopped) return;
    await tick();
    if (!stopped) timer = setTimeout(loop, deps.renewMs);
  };
  timer = setTimeout(loop, deps.renewMs);
  return {
    draining: () => draining,
    async stop(remove: boolean) {
      stopped = true;
      clearTimeout(timer);
      if (remove) await removeCollector(deps.db, reg.id, reg.incarnation).catch((err) => deps.log.warn('could not leave the registry', { error: (err as Error).message }));
    },
  };
}
