/**
 * The collector's lease renewal on a thread of its own (ADR 165): a collector whose
 * main event loop is saturated by thousands of sessions still renews its lease on
 * time, so placement does not move sessions off a collector that is alive. The
 * main thread posts its load every renewal interval; this thread renews with the
 * latest load over its own database connection and posts back what the renewal
 * said (hand-overs, draining, ownership). A main thread silent for
 * COLLECTOR_STALL_MS is hung: renewals stop, the lease lapses and the sessions
 * fail over, as they do when the process dies (kill -9 ends this thread too).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createLogger } from '../core/log';
import { createKnex } from '../storage/pool';
import { renewLease, type CollectorRegistration } from '../storage/collectors';

/** What the thread is started with. */
export interface LeaseThreadData {
  databaseUrl: string;
  registration: Pick<CollectorRegistration, 'id' | 'incarnation' | 'taskQueue' | 'leaseMs'>;
  renewMs: number;
  stallMs: number;
}

/** Main thread → lease thread. */
export type ToLeaseThread =
  | { type: 'load'; running: number[]; cpu: number; loopP99Ms: number }
  | { type: 'stop' };

/** Lease thread → main thread. */
export type FromLeaseThread =
  | { type: 'renewed'; owned: boolean; draining: boolean; endHere: number[]; moveOff: number[]; gapMs: number }
  | { type: 'stalled'; silentMs: number }
  | { type: 'stopped' };

/** The renewal loop, until the main thread posts `stop` or the registry names another incarnation. */
function run(data: LeaseThreadData, port: NonNullable<typeof parentPort>): void {
  const log = createLogger('collector-lease', { id: data.registration.id });
  const db = createKnex(data.databaseUrl, 1);
  let load = { running: [] as number[], cpu: 0, loopP99Ms: 0 };
  let lastPostAt = Date.now();
  let lastRenewedAt = Date.now();
  let stalled = false;
  let stopped = false;
  let failingSince: number | undefined;
  let timer: NodeJS.Timeout | undefined;
  const post = (m: FromLeaseThread) => port.postMessage(m);

  const tick = async () => {
    const now = Date.now();
    const silentMs = now - lastPostAt;
    if (silentMs > data.stallMs) {
      if (!stalled) {
        log.error('collector main thread silent past COLLECTOR_STALL_MS: no longer renewing the lease, its sessions fail over', { silentMs, stallMs: data.stallMs });
        post({ type: 'stalled', silentMs });
      }
      stalled = true;
      return;
    }
    if (stalled) log.info('collector main thread answers again: renewing the lease', { silentMs });
    stalled = false;
    try {
      // A main thread this late is at least this saturated, whatever it last measured.
      const loopP99Ms = Math.max(load.loopP99Ms, silentMs - data.renewMs);
      const r = await renewLease(db, data.registration, { sessions: load.running.length, cpu: load.cpu, loopP99Ms }, load.running);
      const renewedAt = Date.now();
      if (failingSince !== undefined) log.info('collector lease renewed again', { afterMs: renewedAt - failingSince });
      failingSince = undefined;
      post({ type: 'renewed', owned: r.owned, draining: r.draining, endHere: r.endHere, moveOff: r.moveOff, gapMs: renewedAt - lastRenewedAt });
      lastRenewedAt = renewedAt;
      if (!r.owned) stopped = true;
    } catch (err) {
      failingSince ??= now;
      log.warn('could not renew the collector lease', { error: (err as Error).message, failingForMs: now - failingSince });
    }
  };
  const loop = async () => {
    if (stopped) return;
    await tick();
    if (!stopped) timer = setTimeout(loop, data.renewMs);
  };
  // The first renewal at once: the main thread waits for it before taking sessions.
  void loop();

  port.on('message', (m: ToLeaseThread) => {
    if (m.type === 'load') {
      load = { running: m.running, cpu: m.cpu, loopP99Ms: m.loopP99Ms };
      lastPostAt = Date.now();
    } else if (m.type === 'stop') {
      stopped = true;
      clearTimeout(timer);
      void db.destroy().finally(() => {
        post({ type: 'stopped' });
        port.close();
      });
    }
  });
}

if (parentPort) run(workerData as LeaseThreadData, parentPort);
