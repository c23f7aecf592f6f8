/**
 * The devices repository's fleet queries (issue 19): one filtered, sorted page of
 * devices with its total, counts per session state, the ids a bulk action applies
 * to, the CSV export, the sites summary, and the session-state mirror the list
 * reads instead of asking Temporal per row (ADR 095), and the per-device traffic
 * mirror (points/s, last seen: ADR 135). Names and sites sort in the `natural_order`
 * collation (`sw-2` before `sw-10`), with indexes; every sort ends in name and id, so
 * pages are stable.
 */
import type { Knex } from 'knex';
import type { DeviceFilter, DeviceListView, ListState, SortColumn } from '../core/device-filter';
import type { DeviceListItem } from './devices';
import { DEVICE_HAS_FIRING_ALERT_SQL } from './alerts';

/** A device's state as the list shows it: `disabled` when disabled, the mirrored workflow state, else `not started`. */
const STATE_SQL = `CASE WHEN NOT d.enabled THEN 'disabled' ELSE coalesce(s.state, 'not started') END`;

const ORDER_SQL: Record<SortColumn, string> = {
  // The id follows the direction so that both directions read the (name, id) index in order.
  name: `d.name COLLATE natural_order %DIR%, d.id %DIR%`,
  protocol: `d.protocol %DIR%, d.name COLLATE natural_order, d.id`,
  address: `d.host COLLATE natural_order %DIR%, d.port %DIR%, d.id %DIR%`,
  site: `d.site COLLATE natural_order %DIR% NULLS LAST, d.name COLLATE natural_order, d.id`,
  state: `${STATE_SQL} %DIR%, d.name COLLATE natural_order, d.id`,
  enabled: `d.enabled %DIR%, d.name COLLATE natural_order, d.id`,
  points: `coalesce(a.points_per_second, 0) %DIR%, d.name COLLATE natural_order, d.id`,
  // Never seen counts as oldest: first when ascending (stalest first), last when descending.
  seen: `a.last_seen %DIR% %NULLS%, d.name COLLATE natural_order, d.id`,
};

/** `LIKE` pattern matching strings that start with `prefix`. */
function prefixPattern(prefix: string): string {
  return prefix.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`) + '%';
}

/** WHERE clause and parameters of a filter (the state condition left out with `withoutState`). */
function whereOf(filter: DeviceFilter, opts: { withoutState?: boolean } = {}): { sql: string; params: Knex.RawBinding[] } {
  const conds: string[] = [];
  const params: Knex.RawBinding[] = [];
  if (filter.q) {
    conds.push(`(lower(d.name) LIKE ? OR lower(d.host) LIKE ?)`);
    params.push(prefixPattern(filter.q), prefixPattern(filter.q));
  }
  if (filter.site) {
    conds.push(`d.site = ?`);
    params.push(filter.site);
  }
  if (filter.protocol) {
    conds.push(`d.protocol = ?`);
    params.push(filter.protocol);
  }
  if (filter.enabled) conds.push(filter.enabled === 'yes' ? `d.enabled` : `NOT d.enabled`);
  if (filter.profile) {
    conds.push(`EXISTS (SELECT 1 FROM device_profiles dp WHERE dp.device_id = d.id AND dp.profile_id = ?)`);
    params.push(filter.profile);
  }
  if (filter.alerts === 'firing') conds.push(DEVICE_HAS_FIRING_ALERT_SQL);
  if (filter.state && !opts.withoutState) {
    conds.push(`${STATE_SQL} = ?`);
    params.push(filter.state);
  }
  return { sql: conds.length ? `WHERE ${conds.join(' AND ')}` : '', params };
}

const FROM = `FROM devices d LEFT JOIN device_session_state s ON s.device_id = d.id`;
/** FROM with the traffic mirror (only the list's page needs it). */
const FROM_WITH_ACTIVITY = `${FROM} LEFT JOIN device_activity a ON a.device_id = d.id`;

/** One row of the devices list: the device and its session state. */
export interface DeviceListRow extends DeviceListItem {
  state: ListState;
  /** Whether a session workflow runs for the device (as visibility last said). */
  hasWorkflow: boolean;
  /** Points stored per second in the traffic mirror's last window (0 when none). */
  pointsPerSecond: number;
  /** Time of the newest stored point the traffic mirror has seen (ms), or null. */
  lastSeen: number | null;
}

/** One page of the filtered, sorted list, and how many devices match in all. */
export async function listDevices(db: Knex, filter: DeviceFilter, view: DeviceListView): Promise<{ rows: DeviceListRow[]; total: number }> {
  const where = whereOf(filter);
  const order = ORDER_SQL[view.sort]
    .replaceAll('%DIR%', view.dir === 'desc' ? 'DESC' : 'ASC')
    .replaceAll('%NULLS%', view.dir === 'desc' ? 'NULLS LAST' : 'NULLS FIRST');
  const [{ rows }, { rows: count }] = await Promise.all([
    db.raw(
      `SELECT d.id, d.name, d.protocol, d.host, d.port, d.site, d.enabled, ${STATE_SQL} AS state, s.device_id IS NOT NULL AS "hasWorkflow",
              coalesce(a.points_per_second, 0)::float8 AS "pointsPerSecond", (extract(epoch FROM a.last_seen) * 1000)::float8 AS "lastSeen"
         ${FROM_WITH_ACTIVITY} ${where.sql} ORDER BY ${order} LIMIT ? OFFSET ?`,
      [...where.params, view.size, (view.page - 1) * view.size],
    ),
    db.raw(`SELECT count(*)::int AS n ${FROM} ${where.sql}`, where.params),
  ]);
  return { rows: rows as DeviceListRow[], total: count[0].n as number };
}

/** Devices per state for a filter, its own state condition left out (the health strip: each count is a filter). */
export async function deviceStateCounts(db: Knex, filter: DeviceFilter): Promise<Partial<Record<ListState, number>>> {
  const where = whereOf(filter, { withoutState: true });
  const { rows } = await db.raw(`SELECT ${STATE_SQL} AS state, count(*)::int AS n ${FROM} ${where.sql} GROUP BY 1`, where.params);
  return Object.fromEntries((rows as Array<{ state: ListState; n: number }>).map((r) => [r.state, r.n]));
}

/** What a bulk action needs of each device it applies to. */
export interface SelectedDevice {
  id: number;
  name: string;
  protocol: 'gnmi' | 'netconf';
  enabled: boolean;
  state: ListState;
  hasWorkflow: boolean;
}

/** Every device a filter matches (or the given ids, still AND-ed with the filter when `ids` is set), in name order. */
export async function selectFilteredDevices(db: Knex, filter: DeviceFilter, ids?: number[]): Promise<SelectedDevice[]> {
  const where = whereOf(filter);
  const idCond = ids ? `${where.sql ? ' AND' : 'WHERE'} d.id = ANY(?::int[])` : '';
  const { rows } = await db.raw(
    `SELECT d.id, d.name, d.protocol, d.enabled, ${STATE_SQL} AS state, s.device_id IS NOT NULL AS "hasWorkflow"
       ${FROM} ${where.sql}${idCond} ORDER BY d.name COLLATE natural_order, d.id`,
    ids ? [...where.params, ids] : where.params,
  );
  return rows as SelectedDevice[];
}

/** A device as the CSV export writes it: the import's columns, never a secret. */
export interface ExportRow {
  name: string;
  protocol: string;
  host: string;
  port: number;
  username: string | null;
  tls: string;
  site: string | null;
  profiles: string;
  enabled: boolean;
  host_key_sha256: string | null;
  allow_plaintext_credentials: boolean;
  allow_unverified_credentials: boolean;
}

/** The filtered devices in name order with the columns the import reads (profiles by name, `;`-separated). */
export async function exportDevices(db: Knex, filter: DeviceFilter): Promise<ExportRow[]> {
  const where = whereOf(filter);
  const { rows } = await db.raw(
    `SELECT d.name, d.protocol, d.host, d.port, d.username, d.site, d.enabled,
            coalesce(d.settings->'gnmi'->>'tls', 'tls') AS tls,
            d.settings->'netconf'->>'hostKeySha256' AS host_key_sha256,
            coalesce((d.settings->'gnmi'->>'allowPlaintextCredentials')::boolean, false) AS allow_plaintext_credentials,
            coalesce((d.settings->'gnmi'->>'allowUnverifiedCredentials')::boolean, false) AS allow_unverified_credentials,
            coalesce((SELECT string_agg(p.name, ';' ORDER BY p.name) FROM device_profiles dp JOIN subscription_profiles p ON p.id = dp.profile_id
                       WHERE dp.device_id = d.id), '') AS profiles
       ${FROM} ${where.sql} ORDER BY d.name COLLATE natural_order, d.id`,
    where.params,
  );
  return rows as ExportRow[];
}

/** A site with its devices per state and its points/s (the traffic mirror's, summed). */
export interface SiteSummary {
  site: string | null;
  devices: number;
  states: Partial<Record<ListState, number>>;
  pointsPerSecond: number;
}

/** Every site (devices without one as `null`), in natural order. */
export async function siteSummaries(db: Knex): Promise<SiteSummary[]> {
  const [{ rows: states }, { rows: traffic }] = await Promise.all([
    db.raw(`SELECT d.site, ${STATE_SQL} AS state, count(*)::int AS n ${FROM} GROUP BY 1, 2`),
    db.raw(`SELECT d.site, sum(a.points_per_second)::float8 AS pps FROM device_activity a JOIN devices d ON d.id = a.device_id WHERE a.points_per_second > 0 GROUP BY 1`),
  ]);
  const bySite = new Map<string | null, SiteSummary>();
  for (const r of states as Array<{ site: string | null; state: ListState; n: number }>) {
    const s = bySite.get(r.site) ?? { site: r.site, devices: 0, states: {}, pointsPerSecond: 0 };
    s.devices += r.n;
    s.states[r.state] = r.n;
    bySite.set(r.site, s);
  }
  for (const r of traffic as Array<{ site: string | null; pps: number }>) {
    const s = bySite.get(r.site);
    if (s) s.pointsPerSecond = r.pps;
  }
  const collator = new Intl.Collator('en', { numeric: true });
  return [...bySite.values()].sort((a, b) => (a.site === null ? 1 : b.site === null ? -1 : collator.compare(a.site, b.site)));
}

/**
 * Rows ever inserted into samples (its partitions or TimescaleDB chunks), from the
 * statistics collector: two readings a few seconds apart give the fleet's points/s
 * without counting rows (counting the last 10 s of samples scans millions of rows
 * at fleet scale). Lags the inserts by up to a second.
 */
export async function samplesInsertedTotal(db: Knex): Promise<number> {
  const { rows } = await db.raw(
    `SELECT coalesce(sum(n_tup_ins), 0)::float8 AS n FROM pg_stat_user_tables
      WHERE relid = 'samples'::regclass OR relid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'samples'::regclass)`,
  );
  return Number(rows[0].n);
}

/** The window a traffic pass counted: (from, to] in database time. */
export interface ActivityWindow {
  from: Date;
  to: Date;
}

/** How far behind the database's clock a window ends: points are stored within a flush interval (≤ 250 ms) of their time. */
const ACTIVITY_LAG = `interval '2 seconds'`;

/**
 * One pass of the per-device traffic mirror (ADR 135): count each device's samples
 * stamped in (previous window's end, now − 2 s], store points/s and the newest time
 * in device_activity, and zero the devices that had traffic and now have none. One
 * statement reading only the window's samples (the time index), however many devices
 * there are. The first window (no `previous`) is the last 10 s; a window is at most 60 s.
 */
export async function refreshDeviceActivity(db: Knex, previous?: ActivityWindow): Promise<ActivityWindow> {
  const { rows } = await db.raw(
    `WITH w AS (
       SELECT greatest(coalesce(?::timestamptz, now() - ${ACTIVITY_LAG} - interval '10 seconds'), now() - ${ACTIVITY_LAG} - interval '60 seconds') AS t0,
              now() - ${ACTIVITY_LAG} AS t1),
     counted AS (
       SELECT se.device_id, count(*)::float8 AS n, max(sa.time) AS newest
         FROM w, samples sa JOIN series se ON se.id = sa.series_id
        WHERE sa.time > w.t0 AND sa.time <= w.t1
        GROUP BY se.device_id),
     written AS (
       INSERT INTO device_activity (device_id, points_per_second, last_seen, updated_at)
       SELECT d.id, coalesce(c.n, 0) / greatest(extract(epoch FROM w.t1 - w.t0), 0.001), c.newest, now()
         FROM w, devices d LEFT JOIN counted c ON c.device_id = d.id
        WHERE c.device_id IS NOT NULL OR d.id IN (SELECT device_id FROM device_activity WHERE points_per_second > 0)
       ON CONFLICT (device_id) DO UPDATE SET points_per_second = EXCLUDED.points_per_second,
         last_seen = greatest(device_activity.last_seen, EXCLUDED.last_seen), updated_at = now()
       RETURNING 1)
     SELECT w.t0, w.t1, (SELECT count(*) FROM written)::int AS n FROM w`,
    [previous?.to ?? null],
  );
  return { from: rows[0].t0 as Date, to: rows[0].t1 as Date };
}

/** Sites in use, in natural order (the filter's choices). */
export async function deviceSites(db: Knex): Promise<string[]> {
  const { rows } = await db.raw(`SELECT DISTINCT site COLLATE natural_order AS site FROM devices WHERE site IS NOT NULL ORDER BY 1`);
  return (rows as Array<{ site: string }>).map((r) => r.site);
}

/** The database's clock now (the mirror compares its rows' times with it, never with a web host's clock). */
export async function databaseNow(db: Knex): Promise<Date> {
  const { rows } = await db.raw('SELECT clock_timestamp() AS t');
  return rows[0].t as Date;
}

/**
 * Replace the session-state mirror with what visibility listed (running workflows only),
 * as of `listedAt` (database time, read before the listing): rows of devices without a
 * running workflow go, the others are upserted — except rows written after `listedAt`
 * (a state a page learnt first-hand meanwhile is newer than the listing). One statement each.
 */
export async function replaceSessionStates(db: Knex, states: Array<{ deviceId: number; state: string }>, listedAt: Date): Promise<void> {
  const ids = states.map((s) => s.deviceId);
  await db.transaction(async (trx) => {
    await trx.raw(`DELETE FROM device_session_state WHERE NOT (device_id = ANY(?::int[])) AND updated_at < ?`, [ids, listedAt]);
    if (states.length === 0) return;
    await trx.raw(
      `INSERT INTO device_session_state (device_id, state, updated_at)
       SELECT u.id, u.state, now() FROM unnest(?::int[], ?::text[]) AS u(id, state) JOIN devices d ON d.id = u.id
       ON CONFLICT (device_id) DO UPDATE SET state = EXCLUDED.state, updated_at = now()
         WHERE device_session_state.state IS DISTINCT FROM EXCLUDED.state AND device_session_state.updated_at < ?`,
      [ids, states.map((s) => s.state), listedAt],
    );
  });
}

/** Record an acknowledged state at once (after an update), ahead of the next mirror pass. */
export async function recordSessionStates(db: Knex, states: Array<{ deviceId: number; state: string }>): Promise<void> {
  if (states.length === 0) return;
  await db.raw(
    `INSERT INTO device_session_state (device_id, state, updated_at)
     SELECT u.id, u.state, now() FROM unnest(?::int[], ?::text[]) AS u(id, state) JOIN devices d ON d.id = u.id
     ON CONFLICT (device_id) DO UPDATE SET state = EXCLUDED.state, updated_at = now()`,
    [states.map((s) => s.deviceId), states.map((s) => s.state)],
  );
}
