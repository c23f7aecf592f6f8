/** Facts about a device read from storage for its page. */
import type { Knex } from 'knex';

/**
 * Time of the newest stored sample or state of a device within the last day (ms), or undefined.
 * One index probe per series (series_id, time); older points are the workflow's lastPointAt's job.
 */
export async function newestStoredPointAt(db: Knex, deviceId: number): Promise<number | undefined> {
  const { rows } = await db.raw(
    `SELECT (extract(epoch FROM max(l.t)) * 1000)::float8 AS newest
       FROM series se
       CROSS JOIN LATERAL (
         SELECT time AS t FROM samples WHERE series_id = se.id AND time > now() - interval '1 day' ORDER BY time DESC LIMIT 1
       ) l
      WHERE se.device_id = ? AND se.kind <> 'text'`,
    [deviceId],
  );
  const { rows: text } = await db.raw(
    `SELECT (extract(epoch FROM max(l.t)) * 1000)::float8 AS newest
       FROM series se
       CROSS JOIN LATERAL (
         SELECT time AS t FROM states WHERE series_id = se.id AND time > now() - interval '1 day' ORDER BY time DESC LIMIT 1
       ) l
      WHERE se.device_id = ? AND se.kind = 'text'`,
    [deviceId],
  );
  const t = Math.max(Number(rows[0]?.newest ?? 0), Number(text[0]?.newest ?? 0));
  return t > 0 ? t : undefined;
}
