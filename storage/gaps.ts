/** Gap records: where a device's data broke off and why. */
import type { Knex } from 'knex';

/** A gap between the last point before a break and the first point after it. */
export interface Gap {
  deviceId: number;
  from: number;
  to: number;
  reason: string;
}

/** Store a gap. */
export async function recordGap(db: Knex, gap: Gap): Promise<void> {
  await db('gaps').insert({
    device_id: gap.deviceId,
    started_at: new Date(gap.from),
    ended_at: new Date(gap.to),
    reason: gap.reason.slice(0, 1000),
  });
}

/** Recent gaps of a device, newest first. */
export async function listGaps(db: Knex, deviceId: number, limit = 20): Promise<Gap[]> {
  const rows = await db('gaps').where({ device_id: deviceId }).orderBy('started_at', 'desc').limit(limit);
  return rows.map((r) => ({ deviceId: r.device_id, from: r.started_at.getTime(), to: r.ended_at.getTime(), reason: r.reason }));
}

/**
 * Time (ms) of the newest stored sample of a device before `before`, or undefined.
 * After a broken session this is where the gap really starts: points the dead
 * collector received but never flushed are inside the gap, not hidden by it.
 */
export async function lastStoredPointAt(db: Knex, deviceId: number, before: number): Promise<number | undefined> {
  const res = await db.raw(
    `SELECT (extract(epoch FROM max(last.time)) * 1000)::float8 AS t
       FROM series s
       CROSS JOIN LATERAL (
         SELECT time FROM samples
          WHERE series_id = s.id AND time < to_timestamp(?::float8 / 1000)
          ORDER BY time DESC LIMIT 1
       ) last
      WHERE s.device_id = ?`,
    [before, deviceId],
  );
  const t = res.rows[0]?.t;
  return t === null || t === undefined ? undefined : Number(t);
}
