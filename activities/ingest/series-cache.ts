/**
 * The series dictionary cache: (device, path) → series id, creating missing
 * series in bulk with one statement. Shared by every session in a process.
 */
import type pg from 'pg';

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
   * (undefined where the device no longer exists). One map lookup pair per point.
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
    for (let i = 0; i < points.length; i++) {
      const p = points[i];
      if (p.deviceId !== lastDevice) {
        lastDevice = p.deviceId;
        paths = this.byDevice.get(lastDevice);
      }
      const id = paths?.get(p.path);
      if (id !== undefined) {
        ids[i] = id;
        continue;
      }
      missingAt.push(i);
      missing ??= new Map();
      const k = `${p.deviceId}\u0000${p.path}`;
      if (!missing.has(k)) missing.set(k, { deviceId: p.deviceId, path: p.path, kind: typeof p.value === 'number' ? 'number' : 'text' });
    }
    if (missing) {
      await this.create(client, [...missing.values()]);
      for (const i of missingAt) ids[i] = this.get(points[i].deviceId, points[i].path);
    }
    return ids;
  }

  /** Create series in bulk (for devices that still exist) and cache the ids of all of them. */
  private async create(client: pg.ClientBase, list: WantedSeries[]): Promise<void> {
    const deviceIds = list.map((m) => m.deviceId);
    const paths = list.map((m) => m.path);
    const kinds = list.map((m) => m.kind);
    // Insert what is new; then read back ids for all wanted (new and raced) rows.
    await client.query(
      // Only for devices that still exist: a device deleted mid-flight must not fail the whole batch (FK).
      `INSERT INTO series (device_id, path, kind)
       SELECT u.device_id, u.path, u.kind FROM unnest($1::int[], $2::text[], $3::text[]) AS u(device_id, path, kind)
       WHERE EXISTS (SELECT 1 FROM devices d WHERE d.id = u.device_id)
       ON CONFLICT (device_id, path) DO NOTHING`,
      [deviceIds, paths, kinds],
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
  }
}
