/**
 * The series dictionary cache: (device, path) → series id, creating missing
 * series in bulk with one statement. Shared by every session in a process.
 */
import type pg from 'pg';

/** Resolves series ids, creating the missing ones in one round trip. */
export class SeriesCache {
  private readonly ids = new Map<string, number>();

  /** Number of cached series. */
  get size(): number {
    return this.ids.size;
  }

  static key(deviceId: number, path: string): string {
    return `${deviceId}\u0000${path}`;
  }

  /** Cached id or undefined. */
  get(deviceId: number, path: string): number | undefined {
    return this.ids.get(SeriesCache.key(deviceId, path));
  }

  /** Ensure every (device, path, kind) has an id; uses the given client (inside the flush transaction or not). */
  async resolve(client: pg.ClientBase, wanted: Array<{ deviceId: number; path: string; kind: 'number' | 'text' }>): Promise<void> {
    const missing = new Map<string, { deviceId: number; path: string; kind: 'number' | 'text' }>();
    for (const w of wanted) {
      const k = SeriesCache.key(w.deviceId, w.path);
      if (!this.ids.has(k) && !missing.has(k)) missing.set(k, w);
    }
    if (missing.size === 0) return;
    const list = [...missing.values()];
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
    for (const row of res.rows) this.ids.set(SeriesCache.key(row.device_id, row.path), Number(row.id));
  }

  /** Forget a device's series (device deleted). */
  forgetDevice(deviceId: number): void {
    const prefix = `${deviceId}\u0000`;
    for (const k of this.ids.keys()) if (k.startsWith(prefix)) this.ids.delete(k);
  }
}
