/**
 * The collector registry and session placements (issue 20, ADR 110). Each
 * collector keeps one row alive (its lease, renewed every second, carrying its
 * load); each device's session is placed on one collector's task queue. All
 * times are the database's clock, so collectors' clocks never matter. The
 * decisions themselves are core/placement.ts; this module reads and writes.
 */
import type { Knex } from 'knex';
import type pg from 'pg';
import type { NotificationRoute } from './listen';
import { placeBatch, planRebalance, type CollectorLoad, type PlacementRequest } from '../core/placement';

/** A placement this recent counts as load although its collector has not reported the session running yet (ms). */
const STARTING_MS = 30_000;

/** Serialises placement decisions and rebalancing (one transaction at a time reads and changes the counts). */
export const PLACEMENT_LOCK = 7_320_001;

/** A collector's row as `ctl collectors` and the monitor read it. */
export interface CollectorRow {
  id: string;
  incarnation: string;
  taskQueue: string;
  version: string;
  startedAt: Date;
  /** Milliseconds since the lease was last renewed (database clock). */
  leaseAgeMs: number;
  live: boolean;
  draining: boolean;
  capacity: number;
  /** Sessions it advertises running now. */
  running: number;
  /** Sessions placed on it (placements naming its task queue). */
  placed: number;
  cpu?: number;
  loopP99Ms?: number;
}

/** What a collector registers. */
export interface CollectorRegistration {
  id: string;
  incarnation: string;
  taskQueue: string;
  version: string;
  capacity: number;
  leaseMs: number;
  /** Dials the running sessions handed to it at once (warm hand-over, ADR 235); default true. */
  warmHandOver?: boolean;
}

/** Advertised load, sent with every lease renewal. */
export interface CollectorLoadReport {
  sessions: number;
  cpu?: number;
  loopP99Ms?: number;
}

/** Register (or re-register after a restart under the same id: new incarnation, not draining, no liveness lock until it takes its own, ADR 296, no renewal backend until it renews, ADR 299). */
export async function registerCollector(db: Knex, r: CollectorRegistration): Promise<void> {
  await db.raw(
    `INSERT INTO collectors (id, incarnation, task_queue, version, capacity, lease_until, warm_hand_over)
     VALUES (?, ?, ?, ?, ?, now() + make_interval(secs => ?::float8 / 1000), ?)
     ON CONFLICT (id) DO UPDATE SET incarnation = excluded.incarnation, task_queue = excluded.task_queue,
       version = excluded.version, capacity = excluded.capacity, lease_until = excluded.lease_until, warm_hand_over = excluded.warm_hand_over,
       started_at = now(), renewed_at = now(), draining = false, sessions = 0,
       liveness_key = NULL, liveness_at = NULL, liveness_renew_ms = NULL, renewal_pid = NULL, liveness_missing_at = NULL`,
    [r.id, r.incarnation, r.taskQueue, r.version, r.capacity, r.leaseMs, r.warmHandOver ?? true],
  );
}

/**
 * Renew the lease with the current load. Returns whether this incarnation still owns the
 * row (false: replaced or removed), whether it is draining, and the devices it runs that
 * must end here now: asked to move (rebalance, drain), or placed elsewhere meanwhile
 * (their workflows already moved on, e.g. after this collector's lease lapsed).
 */
export async function renewLease(
  db: Knex,
  r: Pick<CollectorRegistration, 'id' | 'incarnation' | 'taskQueue' | 'leaseMs'>,
  load: CollectorLoadReport,
  runningDevices: number[],
): Promise<{ owned: boolean; draining: boolean; endHere: number[]; moveOff: number[] }> {
  const { rows } = await db.raw(
    `UPDATE collectors SET lease_until = now() + make_interval(secs => ?::float8 / 1000), renewed_at = now(),
        sessions = ?, cpu = ?, loop_p99_ms = ?, running_devices = ?::int[], renewal_pid = pg_backend_pid()
      WHERE id = ? AND incarnation = ? RETURNING draining`,
    [r.leaseMs, load.sessions, load.cpu ?? null, load.loopP99Ms ?? null, runningDevices, r.id, r.incarnation],
  );
  if (rows.length === 0) return { owned: false, draining: false, endHere: [], moveOff: [] };
  const ends: Array<{ device_id: number; placed_here: boolean }> = runningDevices.length
    ? (
        await db.raw(
          `SELECT device_id, task_queue = ? AS placed_here FROM session_placements
            WHERE device_id = ANY(?::int[]) AND (task_queue <> ? OR move_requested_at IS NOT NULL)`,
          [r.taskQueue, runningDevices, r.taskQueue],
        )
      ).rows
    : [];
  return {
    owned: true,
    draining: Boolean(rows[0].draining),
    // Placed elsewhere (this collector was thought lost, or the session moved on): end now.
    endHere: ends.filter((x) => !x.placed_here).map((x) => Number(x.device_id)),
    // Asked to move (rebalance, drain) and still placed here: the collector hands them over (ADR 236).
    moveOff: ends.filter((x) => x.placed_here).map((x) => Number(x.device_id)),
  };
}

/** Remove a collector's row (clean exit): its placements lapse at once. */
export async function removeCollector(db: Knex, id: string, incarnation: string): Promise<void> {
  await db.raw(`DELETE FROM collectors WHERE id = ? AND incarnation = ?`, [id, incarnation]);
}

/** The advisory-lock class of the collectors' liveness locks (ADR 296); the key is the row's `liveness_key`. */
export const LIVENESS_LOCK = 7_320_002;

/** How much later than its renewal interval a collector whose liveness lock is gone must be before it counts as gone (ms). */
const LIVENESS_MISSED_RENEWAL_MARGIN_MS = 500;

/**
 * How long a collector's liveness lock must have been seen gone, with the backend of its renewals gone
 * too, before it counts as gone without a missed renewal (ADR 299). A live collector whose connections
 * were all cut takes its lock again within tens of milliseconds (its lock connection is replaced at once after a drop).
 */
export const LIVENESS_CONFIRM_MS = 500;

/**
 * Take this collector's liveness lock (ADR 296) on `client`, a connection kept for it alone, and say so
 * in the collector's row with its renewal interval. `key-taken`: another session holds that key (try
 * another); `not-registered`: the row no longer names this incarnation (the lock is given back).
 */
export async function takeLivenessLock(client: pg.ClientBase, r: Pick<CollectorRegistration, 'id' | 'incarnation'>, key: number, renewMs: number): Promise<'held' | 'key-taken' | 'not-registered'> {
  const { rows } = await client.query('SELECT pg_try_advisory_lock($1, $2) AS ok', [LIVENESS_LOCK, key]);
  if (!rows[0].ok) return 'key-taken';
  const res = await client.query('UPDATE collectors SET liveness_key = $1, liveness_at = now(), liveness_renew_ms = $2 WHERE id = $3 AND incarnation = $4', [key, renewMs, r.id, r.incarnation]);
  if (res.rowCount) return 'held';
  await client.query('SELECT pg_advisory_unlock($1, $2)', [LIVENESS_LOCK, key]);
  return 'not-registered';
}

/**
 * Collectors whose process is gone. A collector is a candidate when its liveness lock (ADR 296) was
 * taken since PostgreSQL last started (a restart drops every lock, so an older one says nothing) and
 * no session holds it now; the first time it is seen so, `liveness_missing_at` says when. It is gone
 * when either
 * - it is late for a renewal by more than half a second (ADR 296: a live collector whose lock
 *   connection alone dropped keeps renewing, and takes its lock again), or
 * - (ADR 299) the backend its renewals go through is gone too and the lock has been missing for
 *   LIVENESS_CONFIRM_MS: every connection of the process closed, which is what a death does; a live
 *   collector whose connections were all cut holds its lock again within that time.
 * Their lease ends now, so the claim that follows fails their sessions over without waiting for it to
 * run out. Returns them with how long ago each last renewed and which rule said so.
 */
export async function endLeasesOfGoneCollectors(db: Knex): Promise<Array<{ id: string; renewedMsAgo: number; rule: 'missed-renewal' | 'connections-gone' }>> {
  const { rows } = await db.raw(
    `WITH candidate AS (
       SELECT c.id,
              (c.liveness_missing_at IS NOT NULL AND c.liveness_missing_at >= c.liveness_at) AS seen_before,
              c.renewed_at < now() - make_interval(secs => (c.liveness_renew_ms + ?)::float8 / 1000) AS missed_renewal,
              (c.liveness_missing_at IS NOT NULL AND c.liveness_missing_at >= c.liveness_at
                 AND c.liveness_missing_at <= now() - make_interval(secs => ?::float8 / 1000)
                 AND c.renewal_pid IS NOT NULL
                 AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = c.renewal_pid)) AS connections_gone
         FROM collectors c
        WHERE c.lease_until > now() AND c.liveness_key IS NOT NULL AND c.liveness_at > pg_postmaster_start_time()
          AND NOT EXISTS (SELECT 1 FROM pg_locks l
                           WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
                             AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                             AND l.classid = ?::oid AND l.objid = c.liveness_key::oid))
     UPDATE collectors c
        SET liveness_missing_at = CASE WHEN k.seen_before THEN c.liveness_missing_at ELSE now() END,
            lease_until = CASE WHEN k.missed_renewal OR k.connections_gone THEN now() ELSE c.lease_until END
       FROM candidate k
      WHERE c.id = k.id AND (NOT k.seen_before OR k.missed_renewal OR k.connections_gone)
      RETURNING c.id, k.missed_renewal OR k.connections_gone AS gone, k.missed_renewal,
                (extract(epoch FROM now() - c.renewed_at) * 1000)::float8 AS renewed_ms_ago`,
    [LIVENESS_MISSED_RENEWAL_MARGIN_MS, LIVENESS_CONFIRM_MS, LIVENESS_LOCK],
  );
  return rows
    .filter((x: { gone: boolean }) => x.gone)
    .map((x: { id: string; renewed_ms_ago: number; missed_renewal: boolean }) => ({
      id: String(x.id),
      renewedMsAgo: Math.round(Number(x.renewed_ms_ago)),
      rule: x.missed_renewal ? ('missed-renewal' as const) : ('connections-gone' as const),
    }));
}

/** Every collector with its lease age and placements, live first. */
export async function listCollectors(db: Knex): Promise<CollectorRow[]> {
  const { rows } = await db.raw(
    `SELECT c.*, (extract(epoch FROM now() - c.renewed_at) * 1000)::float8 AS lease_age_ms, c.lease_until > now() AS live,
            (SELECT count(*) FROM session_placements p WHERE p.task_queue = c.task_queue)::int AS placed
       FROM collectors c ORDER BY (c.lease_until > now()) DESC, c.id`,
  );
  return rows.map(
    (x: Record<string, unknown>): CollectorRow => ({
      id: String(x.id),
      incarnation: String(x.incarnation),
      taskQueue: String(x.task_queue),
      version: String(x.version),
      startedAt: x.started_at as Date,
      leaseAgeMs: Number(x.lease_age_ms),
      live: Boolean(x.live),
      draining: Boolean(x.draining),
      capacity: Number(x.capacity),
      running: Number(x.sessions),
      placed: Number(x.placed),
      cpu: x.cpu === null ? undefined : Number(x.cpu),
      loopP99Ms: x.loop_p99_ms === null ? undefined : Number(x.loop_p99_ms),
    }),
  );
}

/** Set or clear a collector's draining flag; false when no such collector. */
export async function setDraining(db: Knex, id: string, draining: boolean): Promise<boolean> {
  const res = await db.raw(`UPDATE collectors SET draining = ? WHERE id = ?`, [draining, id]);
  return (res.rowCount ?? 0) > 0;
}

/**
 * Live collectors' loads, excluding `exceptDevice`'s own placement: placements whose session
 * the collector reported running at its last renewal, or placed too recently to have started
 * (a paused or parked device keeps its placement but is no load).
 */
export async function liveLoads(trx: Knex | Knex.Transaction, exceptDevice?: number): Promise<Array<CollectorLoad & { taskQueue: string }>> {
  // One hash join of the placements with the running devices the collectors reported: testing
  // each placement with `= ANY(running_devices)` scanned the array per row, quadratic in the
  // fleet (62 of 55-88 ms per placement at 4,000 sessions), and every placement runs this.
  const { rows } = await trx.raw(
    `WITH live AS (SELECT id, task_queue, draining, capacity, loop_p99_ms, running_devices FROM collectors WHERE lease_until > now()),
          running AS (SELECT DISTINCT l.task_queue, r.device_id FROM live l CROSS JOIN LATERAL unnest(l.running_devices) AS r(device_id)),
          counts AS (
            SELECT p.task_queue,
                   count(*) FILTER (WHERE p.device_id IS DISTINCT FROM ?
                                      AND (r.device_id IS NOT NULL OR p.placed_at > now() - make_interval(secs => ?::float8 / 1000))) AS placed,
                   count(*) FILTER (WHERE p.move_requested_at IS NOT NULL AND r.device_id IS NOT NULL) AS moving
              FROM session_placements p JOIN live l ON l.task_queue = p.task_queue
              LEFT JOIN running r ON r.task_queue = p.task_queue AND r.device_id = p.device_id
             GROUP BY p.task_queue)
     SELECT l.id, l.task_queue, l.draining, l.capacity, l.loop_p99_ms, coalesce(c.placed, 0)::int AS placed, coalesce(c.moving, 0)::int AS moving
       FROM live l LEFT JOIN counts c ON c.task_queue = l.task_queue`,
    [exceptDevice ?? null, STARTING_MS],
  );
  return rows.map((x: Record<string, unknown>) => ({
    id: String(x.id),
    taskQueue: String(x.task_queue),
    draining: Boolean(x.draining),
    capacity: Number(x.capacity),
    sessions: Number(x.placed),
    moving: Number(x.moving),
    loopP99Ms: x.loop_p99_ms === null ? undefined : Number(x.loop_p99_ms),
  }));
}

/** Where a session was placed. */
export interface Placement {
  collectorId: string;
  taskQueue: string;
}

/**
 * Place a device's session on a live collector (core/placement.ts decides; sticky to its
 * previous collector unless that one is asked to give it up) and record it. Undefined when
 * no collector is registered and live: the caller uses the shared task queue.
 */
export async function placeSession(db: Knex, deviceId: number): Promise<Placement | undefined> {
  return (await placeSessions(db, [deviceId])).get(deviceId);
}

/**
 * Place many devices' sessions in one transaction (ADR 200): one lock, one read of the loads,
 * one write, each decided as if placed one after the other. A device that no longer exists,
 * like one no collector can take, gets undefined (the shared task queue).
 */
export async function placeSessions(db: Knex, deviceIds: readonly number[], opts: { handoff?: boolean; movingOff?: string } = {}): Promise<Map<number, Placement | undefined>> {
  if (deviceIds.length === 0) return new Map();
  return db.transaction(async (trx) => {
    await trx.raw(`SELECT pg_advisory_xact_lock(?)`, [PLACEMENT_LOCK]);
    const placed = await placeLocked(trx, deviceIds, opts.movingOff);
    if (opts.handoff) await notifyHandoff(trx, [...placed].flatMap(([deviceId, p]) => (p ? [{ deviceId, taskQueue: p.taskQueue }] : [])));
    return placed;
  });
}

/** The channel on which collectors hear of running sessions handed to them (ADR 235); payload `<task queue>|<device id>,<device id>,…`. */
export const HANDOFF_CHANNEL = 'session_handoff';
/** PostgreSQL's NOTIFY payload limit is 8,000 bytes: ids are sent in chunks below it. */
const HANDOFF_PAYLOAD_MAX = 7000;

/**
 * Tell the collectors which running sessions were just placed on them (ADR 235), so each dials
 * its new devices at once instead of waiting for the sessions' next attempts. Sent with the
 * transaction's commit (NOTIFY is transactional): never for a placement that rolled back.
 */
async function notifyHandoff(trx: Knex.Transaction, placed: ReadonlyArray<{ deviceId: number; taskQueue: string }>): Promise<void> {
  const byQueue = new Map<string, number[]>();
  for (const p of placed) {
    const ids = byQueue.get(p.taskQueue);
    if (ids) ids.push(p.deviceId);
    else byQueue.set(p.taskQueue, [p.deviceId]);
  }
  const payloads = [...byQueue].flatMap(([queue, ids]) => announcements(queue, ids));
  if (payloads.length) await trx.raw(`SELECT pg_notify(?, x) FROM unnest(?::text[]) AS x`, [HANDOFF_CHANNEL, payloads]);
}

/** `<queue>|<id>,<id>,…` payloads, each under NOTIFY's size limit. */
export function announcements(queue: string, ids: readonly number[]): string[] {
  const payloads: string[] = [];
  let chunk = '';
  for (const id of ids) {
    if (chunk && queue.length + 1 + chunk.length + 1 + String(id).length > HANDOFF_PAYLOAD_MAX) {
      payloads.push(`${queue}|${chunk}`);
      chunk = '';
    }
    chunk = chunk ? `${chunk},${id}` : String(id);
  }
  if (chunk) payloads.push(`${queue}|${chunk}`);
  return payloads;
}

/** The channel on which a collector says which handed-over sessions it now streams (ADR 236): their old collector ends its streams. */
export const UP_CHANNEL = 'session_up';

/** Announce that `taskQueue`'s collector streams these handed-over devices now (make before break, ADR 236). */
export async function announceUp(db: Knex, taskQueue: string, deviceIds: readonly number[]): Promise<void> {
  const payloads = announcements(taskQueue, deviceIds);
  if (payloads.length) await db.raw(`SELECT pg_notify(?, x) FROM unnest(?::text[]) AS x`, [UP_CHANNEL, payloads]);
}

/** Parse a hand-over notification: the queue and its devices (undefined: not one of ours). */
export function parseHandoff(payload: string): { taskQueue: string; deviceIds: number[] } | undefined {
  const bar = payload.lastIndexOf('|');
  if (bar <= 0) return undefined;
  return { taskQueue: payload.slice(0, bar), deviceIds: parseDeviceIds(payload.slice(bar + 1)) };
}

/** The device ids of a notification's `<id>,<id>,…` part; anything not a positive integer is left out. */
export function parseDeviceIds(list: string): number[] {
  return list
    .split(',')
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0);
}

/** Place `deviceIds` inside a transaction that holds the placement lock; `movingOff`: each is moving off that collector (placed there only when nowhere else has room). */
async function placeLocked(trx: Knex.Transaction, deviceIds: readonly number[], movingOff?: string): Promise<Map<number, Placement | undefined>> {
  const ids = [...new Set(deviceIds)];
  const loads = await liveLoads(trx);
  // Each device's placement now and whether a live collector's load counts it (the rules of liveLoads).
  const { rows } = await trx.raw(
    `WITH batch AS (SELECT DISTINCT b.device_id FROM unnest(?::int[]) AS b(device_id) JOIN devices d ON d.id = b.device_id),
          live AS (SELECT id, task_queue, running_devices FROM collectors WHERE lease_until > now()),
          running AS (SELECT DISTINCT l.task_queue, r.device_id FROM live l CROSS JOIN LATERAL unnest(l.running_devices) AS r(device_id)
                       JOIN batch ON batch.device_id = r.device_id)
     SELECT batch.device_id, p.collector_id, p.move_requested_at IS NOT NULL AS moving,
            CASE WHEN l.id IS NOT NULL AND (r.device_id IS NOT NULL OR p.placed_at > now() - make_interval(secs => ?::float8 / 1000)) THEN l.id END AS counted_on
       FROM batch LEFT JOIN session_placements p ON p.device_id = batch.device_id
       LEFT JOIN live l ON l.task_queue = p.task_queue
       LEFT JOIN running r ON r.task_queue = p.task_queue AND r.device_id = p.device_id
      ORDER BY batch.device_id`,
    [ids, STARTING_MS],
  );
  const requests: PlacementRequest[] = rows.map((x: Record<string, unknown>) => ({
    deviceId: Number(x.device_id),
    previous: movingOff ?? (x.collector_id == null ? undefined : String(x.collector_id)),
    moving: movingOff !== undefined || Boolean(x.moving),
    countedOn: x.counted_on == null ? undefined : String(x.counted_on),
  }));
  const chosen = placeBatch(loads, requests);
  const queues = new Map(loads.map((c) => [c.id, c.taskQueue]));
  const placed = new Map<number, Placement | undefined>(ids.map((id) => [id, undefined]));
  for (const [deviceId, collectorId] of chosen) if (collectorId !== undefined) placed.set(deviceId, { collectorId, taskQueue: queues.get(collectorId)! });
  const write = [...placed].filter((e): e is [number, Placement] => e[1] !== undefined);
  if (write.length) {
    await trx.raw(
      `INSERT INTO session_placements (device_id, collector_id, task_queue)
       SELECT * FROM unnest(?::int[], ?::text[], ?::text[])
       ON CONFLICT (device_id) DO UPDATE SET collector_id = excluded.collector_id, task_queue = excluded.task_queue,
         placed_at = now(), move_requested_at = NULL, lost_signalled_at = NULL`,
      [write.map(([d]) => d), write.map(([, p]) => p.collectorId), write.map(([, p]) => p.taskQueue)],
    );
  }
  return placed;
}

/** A session whose collector was lost, claimed by one monitor and (with `placed`) already placed elsewhere. */
export interface LostPlacement {
  deviceId: number;
  /** The lost collector's queue and id. */
  taskQueue: string;
  collectorId: string;
  /** Where it was placed in the same transaction (absent: no live collector can take it). */
  placed?: Placement;
  /** Announced to its new collector as running, which dials it at once (warm hand-over, ADR 235). */
  warm?: boolean;
}

/**
 * Claim every session whose collector is gone and place them all elsewhere, in one transaction
 * under the placement lock (ADR 200): the monitor then tells each workflow where its next attempt
 * runs, so failover costs no placement round trip per session. Each loss is claimed once (a
 * second monitor waits for the lock, then finds the rows placed on live collectors). A session
 * no collector can take keeps its lost placement, marked signalled.
 */
export async function claimAndPlaceLost(db: Knex): Promise<LostPlacement[]> {
  return db.transaction(async (trx) => {
    await trx.raw(`SELECT pg_advisory_xact_lock(?)`, [PLACEMENT_LOCK]);
    const lost = await claimLostPlacements(trx);
    if (lost.length === 0) return [];
    const placed = await placeLocked(trx, lost.map((l) => l.deviceId));
    // The sessions the lost collectors last said they were running are dialled by their new collectors at once (ADR 235).
    const { rows } = await trx.raw(
      `SELECT DISTINCT c.task_queue, r.device_id FROM collectors c CROSS JOIN LATERAL unnest(c.running_devices) AS r(device_id)
        WHERE c.task_queue = ANY(?::text[])`,
      [[...new Set(lost.map((l) => l.taskQueue))]],
    );
    const running = new Set(rows.map((r: { task_queue: string; device_id: number }) => `${r.task_queue}/${r.device_id}`));
    await notifyHandoff(
      trx,
      lost.flatMap((l) => {
        const p = placed.get(l.deviceId);
        return p && running.has(`${l.taskQueue}/${l.deviceId}`) ? [{ deviceId: l.deviceId, taskQueue: p.taskQueue }] : [];
      }),
    );
    // What is left of their reported lists are sessions they had handed over before they were lost (ADR 262).
    await trx.raw(
      `UPDATE collectors c SET running_devices = array(SELECT d FROM unnest(c.running_devices) AS d WHERE d <> ALL(?::int[]))
        WHERE c.task_queue = ANY(?::text[])`,
      [lost.map((l) => l.deviceId), [...new Set(lost.map((l) => l.taskQueue))]],
    );
    // Which of the new collectors dial what they are handed (a collector with warm hand-over off waits for the attempt).
    const queues = [...new Set([...placed.values()].flatMap((p) => (p ? [p.taskQueue] : [])))];
    const dialling = new Set(
      queues.length
        ? (await trx.raw(`SELECT task_queue FROM collectors WHERE task_queue = ANY(?::text[]) AND warm_hand_over`, [queues])).rows.map((r: { task_queue: string }) => r.task_queue)
        : [],
    );
    return lost.map((l) => {
      const p = placed.get(l.deviceId);
      return { ...l, placed: p, warm: Boolean(p && dialling.has(p.taskQueue) && running.has(`${l.taskQueue}/${l.deviceId}`)) };
    });
  });
}

/**
 * Sessions a collector handed over shortly before it was lost (ADR 262): devices it still reported
 * running whose placement it had moved to another live collector (its SIGTERM hand-over, reported
 * until it exits; a move in flight). Their attempts' results may never have reached Temporal (a
 * forced exit), so their workflows are told as for a lost collector, with the placement made. The
 * sessions still placed on it are the monitor's claim (claimAndPlaceLost), which takes them off the
 * list; a clean exit removes the collector's row, so nothing is found then. Looked at only `afterMs`
 * after the lease ended, when that claim (which reads the list for the warm hand-over) has run; each
 * collector once: its list is cleared in the same statement.
 */
export async function claimHandedOverFromLost(db: Knex, afterMs: number): Promise<LostPlacement[]> {
  const { rows } = await db.raw(
    `WITH lost AS (SELECT id, task_queue, running_devices FROM collectors
                    WHERE lease_until < now() - make_interval(secs => ?::float8 / 1000) AND cardinality(running_devices) > 0
                    FOR UPDATE SKIP LOCKED),
          cleared AS (UPDATE collectors c SET running_devices = '{}' FROM lost WHERE c.id = lost.id
                      RETURNING lost.id, lost.task_queue, lost.running_devices)
     SELECT DISTINCT cleared.id AS lost_id, cleared.task_queue AS lost_queue, p.device_id, p.collector_id, p.task_queue
       FROM cleared CROSS JOIN LATERAL unnest(cleared.running_devices) AS r(device_id)
       JOIN session_placements p ON p.device_id = r.device_id AND p.task_queue <> cleared.task_queue
       JOIN collectors l ON l.task_queue = p.task_queue AND l.lease_until > now()`,
    [afterMs],
  );
  return rows.map((x: Record<string, unknown>) => ({
    deviceId: Number(x.device_id),
    taskQueue: String(x.lost_queue),
    collectorId: String(x.lost_id),
    placed: { collectorId: String(x.collector_id), taskQueue: String(x.task_queue) },
  }));
}

/**
 * Sessions whose collector is gone (lease lapsed, or a newer incarnation took its id), each
 * returned once: they are marked as signalled in the same statement, so several monitors
 * never signal a session twice for the same loss.
 */
export async function claimLostPlacements(db: Knex | Knex.Transaction): Promise<Array<{ deviceId: number; taskQueue: string; collectorId: string }>> {
  const { rows } = await db.raw(
    `UPDATE session_placements p SET lost_signalled_at = now()
      WHERE p.lost_signalled_at IS NULL
        AND NOT EXISTS (SELECT 1 FROM collectors c WHERE c.task_queue = p.task_queue AND c.lease_until > now())
      RETURNING p.device_id, p.task_queue, p.collector_id`,
  );
  return rows.map((x: Record<string, unknown>) => ({ deviceId: Number(x.device_id), taskQueue: String(x.task_queue), collectorId: String(x.collector_id) }));
}

/**
 * One rebalancing step: moves still in flight count against `maxMoves` (a move not done
 * within `staleMs` is given up and may be asked again); the plan of core/placement.ts
 * picks how many sessions leave each collector, the most recently placed first. Returns
 * the devices asked to move; their collectors see the request at their next renewal.
 */
export async function requestMoves(db: Knex, maxMoves: number, staleMs: number): Promise<number[]> {
  return db.transaction(async (trx) => {
    await trx.raw(`SELECT pg_advisory_xact_lock(?)`, [PLACEMENT_LOCK]);
    await trx.raw(`UPDATE session_placements SET move_requested_at = NULL WHERE move_requested_at < now() - make_interval(secs => ?::float8 / 1000)`, [staleMs]);
    const { rows } = await trx.raw(`SELECT count(*)::int AS n FROM session_placements WHERE move_requested_at IS NOT NULL`);
    const budget = maxMoves - Number(rows[0].n);
    if (budget <= 0) return [];
    const loads = await liveLoads(trx);
    const plan = planRebalance(loads, budget);
    const moved: number[] = [];
    for (const [collectorId, count] of plan) {
      const queue = loads.find((c) => c.id === collectorId)!.taskQueue;
      const res = await trx.raw(
        // Only sessions the collector runs: a paused device's placement cannot be handed over.
        `UPDATE session_placements SET move_requested_at = now()
          WHERE device_id IN (SELECT p.device_id FROM session_placements p JOIN collectors c ON c.task_queue = p.task_queue
                               WHERE p.task_queue = ? AND p.move_requested_at IS NULL AND p.device_id = ANY(c.running_devices)
                               ORDER BY p.placed_at DESC, p.device_id LIMIT ?)
          RETURNING device_id`,
        [queue, count],
      );
      moved.push(...res.rows.map((x: { device_id: number }) => Number(x.device_id)));
    }
    return moved;
  });
}

/** Whether a live collector other than `id` takes sessions (registered, lease current, not draining, capacity above 0). */
export async function anotherCollectorLive(db: Knex, id: string): Promise<boolean> {
  const { rows } = await db.raw(`SELECT EXISTS (SELECT 1 FROM collectors WHERE id <> ? AND lease_until > now() AND NOT draining AND capacity > 0) AS live`, [id]);
  return Boolean(rows[0].live);
}

/** Forget collectors whose lease lapsed more than `olderThanMs` ago (their placements were signalled long since). */
export async function forgetLostCollectors(db: Knex, olderThanMs: number): Promise<number> {
  const res = await db.raw(`DELETE FROM collectors WHERE lease_until < now() - make_interval(secs => ?::float8 / 1000)`, [olderThanMs]);
  return res.rowCount ?? 0;
}

/**
 * Undo a claim whose signal could not be sent (Temporal away): the next monitor tick tries again.
 * A claim that also placed the session (`placedQueue`) gets its lost placement back, unless
 * something placed it since: its workflow never learned of the loss nor of the new queue.
 */
export async function unclaimLostPlacement(db: Knex, lost: Omit<LostPlacement, 'placed'> & { placedQueue?: string }): Promise<void> {
  await db.raw(
    `UPDATE session_placements SET lost_signalled_at = NULL, task_queue = ?, collector_id = ?
      WHERE device_id = ? AND task_queue = ?`,
    [lost.taskQueue, lost.collectorId, lost.deviceId, lost.placedQueue ?? lost.taskQueue],
  );
}

/** What a collector does with what it hears (ADR 235, 236). */
export interface HandoffHandlers {
  /** Running sessions placed on this collector's queue: dial them now. */
  handedOver(deviceIds: number[]): void;
  /** Devices another collector streams now after a hand-over (any queue): end them here if they are being handed over. */
  up?(deviceIds: number[]): void;
}

/**
 * The hand-overs to one task queue (ADR 235), and the hand-overs completed elsewhere (ADR 236),
 * as heard on a reconnecting LISTEN connection (a hand-over missed while it reconnects only costs
 * the warm start: the attempt dials; an `up` missed costs the overlap bound).
 */
export function handoffRoute(taskQueue: string, handlers: HandoffHandlers): NotificationRoute {
  return {
    channels: [HANDOFF_CHANNEL, UP_CHANNEL],
    onNotification(channel, payload) {
      const heard = payload ? parseHandoff(payload) : undefined;
      if (!heard || heard.deviceIds.length === 0) return;
      if (channel === HANDOFF_CHANNEL && heard.taskQueue === taskQueue) handlers.handedOver(heard.deviceIds);
      else if (channel === UP_CHANNEL && heard.taskQueue !== taskQueue) handlers.up?.(heard.deviceIds);
    },
  };
}
