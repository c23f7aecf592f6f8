/**
 * The series dictionary cache: (device, path) → series id, creating missing
 * series in bulk with one statement. Shared by every session in a process.
 *
 * A device may hold at most `maxPerDevice` series (INGEST_MAX_SERIES_PER_DEVICE):
 * a device inventing paths cannot grow the dictionary, the cache or the samples
 * without bound. Points of series it would create beyond that get
 * SERIES_LIMIT_REACHED instead of an id (the batcher drops and counts them). The
 * limit is checked against the series table when series are created; a device
 * found full is not asked about again for FULL_RECHECK_MS. Two collectors creating
 * series for one device at the same instant (a failover) may each fill the last
 * free places, so the limit can be passed by at most one batch's new series.
 */
import type pg from 'pg';

/** Placeholder id of a point whose series would exceed its device's series limit. */
export const SERIES_LIMIT_REACHED = -1;
/** How long a device found at its series limit is not asked about again (ms). */
const FULL_RECHECK_MS = 60_000;

/** A series wanted by a batch. */
interface WantedSeries {
  deviceId: number;
  path: string;
  kind: 'number' | 'text';
}

/** Resolves series ids, creating the missing ones in one round trip. */
export class SeriesCache {
  // device id → path → series id. Nested maps: a lookup builds no key string (hot path).
  private readonly byDevice = new Map<number, Map<string, number>>();
  private count = 0;
  /** Devices at their series limit → until when that is taken as known. */
  private readonly fullUntil = new Map<number, number>();

  constructor(private readonly maxPerDevice = 20_000) {}

  /** Number of cached series. */
  get size(): number {
    return this.count;
  }

  /** Cached id or undefined. */
  get(deviceId: number, path: string): number | undefined {
    return this.byDevice.get(deviceId)?.get(path);
  }

  private set(deviceId: number, path: string, id: number): void {
    let paths = this.byDevice.get(deviceId);
    if (!paths) this.byDevice.set(deviceId, (paths = new Map()));
    if (!paths.has(path)) this.count++;
    paths.set(path, id);
  }

  /**
   * Series ids for every point of a batch, in order, creating missing series in bulk
   * (undefined where the device no longer exists, SERIES_LIMIT_REACHED where the
   * device is at its series limit). One map lookup pair per point.
   */
  async idsFor(
    client: pg.ClientBase,
    points: ReadonlyArray<{ deviceId: number; path: string; value: unknown }>,
  ): Promise<Array<number | undefined>> {
    const ids = new Array<number | undefined>(points.length);
    const missingAt: number[] = [];
    let missing: Map<string, WantedSeries> | undefined;
    let lastDevice = NaN;
    let paths: Map<string, number> | undefined;
    let full = false;
    const now = Date.now();
    for (let i = 0; i < points.length; i++) {
      const p = points[i];
      if (p.deviceId !== lastDevice) {
        lastDevice = p.deviceId;
        paths = this.byDevice.get(lastDevice);
        full = this.fullUntil.size > 0 && (this.fullUntil.get(lastDevice) ?? 0) > now;
      }
      const id = paths?.get(p.path);
      if (id !== undefined) {
        ids[i] = id;
        continue;
      }
      if (full) {
        ids[i] = SERIES_LIMIT_REACHED;
        continue;
      }
      missingAt.push(i);
      missing ??= new Map();
      const k = `${p.deviceId}\u0000${p.path}`;
      if (!missing.has(k)) missing.set(k, { deviceId: p.deviceId, path: p.path, kind: typeof p.value === 'number' ? 'number' : 'text' });
    }
    if (missing) {
      await this.create(client, [...missing.values()]);
      let unresolved: Set<number> | undefined;
      for (const i of missingAt) {
        ids[i] = this.get(points[i].deviceId, points[i].path);
        if (ids[i] === undefined) (unresolved ??= new Set()).add(points[i].deviceId);
      }
      if (unresolved) {
        // Not created: the device was deleted (undefined) or is at its limit.
        const res = await client.query<{ id: number }>('SELECT id FROM devices WHERE id = ANY($1::int[])', [[...unresolved]]);
        const until = Date.now() + FULL_RECHECK_MS;
        for (const { id } of res.rows) this.fullUntil.set(Number(id), until);
        for (const i of missingAt) {
          if (ids[i] === undefined && (this.fullUntil.get(points[i].deviceId) ?? 0) >= until) ids[i] = SERIES_LIMIT_REACHED;
        }
      }
    }
    return ids;
  }

  /** Create series in bulk (for devices that still exist) and cache the ids of all of them. */
  private async create(client: pg.ClientBase, list: WantedSeries[]): Promise<void> {
    const deviceIds = list.map((m) => m.deviceId);
    const paths = list.map((m) => m.path);
    const kinds = list.map((m) => m.kind);
    // Insert what is new, within each device's free places (first come, first served);
    // then read back ids for all wanted (new and raced) rows.
    await client.query(
      // Only for devices that still exist: a device deleted mid-flight must not fail the whole batch (FK).
      `WITH w AS (
         SELECT u.device_id, u.path, u.kind, u.ord
           FROM unnest($1::int[], $2::text[], $3::text[]) WITH ORDINALITY AS u(device_id, path, kind, ord)
          WHERE EXISTS (SELECT 1 FROM devices d WHERE d.id = u.device_id)
            AND NOT EXISTS (SELECT 1 FROM series s WHERE s.device_id = u.device_id AND s.path = u.path)
       ), room AS (
         SELECT d.device_id, $4::bigint - (SELECT count(*) FROM series s WHERE s.device_id = d.device_id) AS free
           FROM (SELECT DISTINCT device_id FROM w) d
       ), ranked AS (
         SELECT w.device_id, w.path, w.kind, row_number() OVER (PARTITION BY w.device_id ORDER BY w.ord) AS rn FROM w
       )
       INSERT INTO series (device_id, path, kind)
       SELECT r.device_id, r.path, r.kind FROM ranked r JOIN room USING (device_id) WHERE r.rn <= room.free
       ON CONFLICT (device_id, path) DO NOTHING`,
      [deviceIds, paths, kinds, Number.isFinite(this.maxPerDevice) ? this.maxPerDevice : Number.MAX_SAFE_INTEGER],
    );
    const res = await client.query<{ id: number; device_id: number; path: string }>(
      `SELECT s.id, s.device_id, s.path FROM series s
       JOIN unnest($1::int[], $2::text[]) AS w(device_id, path)
         ON s.device_id = w.device_id AND s.path = w.path`,
      [deviceIds, paths],
    );
    for (const row of res.rows) this.set(row.device_id, row.path, Number(row.id));
  }

  /** Forget a device's series (device deleted). */
  forgetDevice(deviceId: number): void {
    this.count -= this.byDevice.get(deviceId)?.size ?? 0;
    this.byDevice.delete(deviceId);
    this.fullUntil.delete(deviceId);
  }
}
