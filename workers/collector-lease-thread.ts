/**
 * The collector's lease renewal on a thread of its own (ADR 165): a collector whose
 * main event loop is saturated by thousands of sessions still renews its lease on
 * time, so placement does not move sessions off a collector that is alive. The
 * main thread posts its load every renewal interval; this thread renews with the
 * latest load over its own database connection and posts back what the renewal
 * said (hand-overs, draining, ownership). A main thread silent for
 * COLLECTOR_STALL_MS is hung: renewals stop, the lease lapses and the sessions
 * fail over, as they do when the process dies (kill -9 ends this thread too).
 *
 * It also holds the collector's liveness lock (ADR 296) on a connection of its own: when the
 * process dies, that connection closes and the lock goes with it, and the placement monitor
 * ends the lease at once instead of waiting for it to run out.
 */
import { randomInt } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { createLogger } from '../core/log';
import { createKnex } from '../storage/pool';
import { listenReconnecting, type Listener } from '../storage/listen';
import { renewLease, takeLivenessLock, type CollectorRegistration } from '../storage/collectors';

/** What the thread is started with. */
export interface LeaseThreadData {
  databaseUrl: string;
  registration: Pick<CollectorRegistration, 'id' | 'incarnation' | 'taskQueue' | 'leaseMs'>;
  renewMs: number;
  stallMs: number;
  /** Hold the liveness lock (COLLECTOR_LIVENESS_LOCK, ADR 296). */
  livenessLock: boolean;
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
      if (!r.owned) {
        stopped = true;
        void liveness?.close();
      }
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
  const liveness = data.livenessLock ? holdLivenessLock(data, log) : undefined;
  // The first renewal at once: the main thread waits for it before taking sessions.
  void loop();

  port.on('message', (m: ToLeaseThread) => {
    if (m.type === 'load') {
      load = { running: m.running, cpu: m.cpu, loopP99Ms: m.loopP99Ms };
      lastPostAt = Date.now();
    } else if (m.type === 'stop') {
      stopped = true;
      clearTimeout(timer);
      void Promise.allSettled([liveness?.close(), db.destroy()]).finally(() => {
        post({ type: 'stopped' });
        port.close();
      });
    }
  });
}

/**
 * The liveness lock on a connection of its own, taken again whenever that connection comes back
 * (a new key when another session holds the one drawn; keys are random, so that is rare). It is
 * retried at once after a drop, then every quarter second at most: a live collector whose connection
 * was cut holds its lock again well before the monitor could count it gone (ADRs 296 and 299).
 */
function holdLivenessLock(data: LeaseThreadData, log: ReturnType<typeof createLogger>): Listener {
  let held = false;
  let failing = false;
  return listenReconnecting({
    databaseUrl: data.databaseUrl,
    channels: [],
    onNotification: () => undefined,
    retryMs: Math.min(250, data.renewMs),
    // A dropped connection is replaced at once, well within LIVENESS_CONFIRM_MS (ADR 299).
    reconnectMs: 0,
    async setup(client) {
      const outcome = await takeLivenessLock(client, data.registration, randomInt(1, 2 ** 31 - 1), data.renewMs);
      if (outcome !== 'held') throw new Error(outcome === 'key-taken' ? 'the liveness key drawn is held by another session' : 'the registry no longer names this collector');
    },
    onConnected() {
      if (held) log.info('collector liveness lock held again');
      held = true;
      failing = false;
    },
    // Said once per outage, not at every retry.
    onError(err) {
      if (!failing) log.warn('collector liveness connection lost or refused (its lease still counts); trying again', { error: err.message });
      failing = true;
    },
  });
}

if (parentPort) run(workerData as LeaseThreadData, parentPort);
