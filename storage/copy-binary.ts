/**
 * PostgreSQL's binary COPY format for rows of (time timestamptz, series_id bigint,
 * value float8): the 19-byte header, 38 bytes per row, the trailer. Written into one
 * buffer per batch, for `COPY … FROM STDIN (FORMAT binary)` through pg-copy-streams.
 * https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.4
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

/** Microseconds between the Unix epoch and PostgreSQL's (2000-01-01 UTC). */
const PG_EPOCH_US = 946_684_800_000_000;
const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const HEADER = 19; // signature 11, flags 4, header extension length 4
const ROW = 2 + 3 * (4 + 8);

/**
 * The COPY BINARY bytes of `n` rows: `timeMs[i]` (ms since the Unix epoch, fractions
 * kept to the microsecond), `series[i]`, `value[i]`. The writer passes only points it has
 * checked (finite times within PostgreSQL's range, finite values, integer ids).
 */
export function encodeSamplesCopy(timeMs: ArrayLike<number>, series: ArrayLike<number>, value: ArrayLike<number>, n = timeMs.length): Buffer {
  const b = Buffer.allocUnsafe(HEADER + n * ROW + 2);
  SIGNATURE.copy(b, 0);
  // A DataView's setters (big-endian by default) compile to plain stores; Buffer's write*BE
  // methods check their arguments on every call, seven calls a row (hot path: every point).
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  v.setInt32(11, 0); // flags: no OIDs
  v.setInt32(15, 0); // no header extension
  let o = HEADER;
  for (let i = 0; i < n; i++) {
    v.setInt16(o, 3);
    v.setInt32(o + 2, 8);
    // timestamptz: int64 µs since 2000-01-01 (exact in a double up to 2^53 µs, past the year 2255).
    writeInt64(v, Math.round(timeMs[i] * 1000) - PG_EPOCH_US, o + 6);
    v.setInt32(o + 14, 8);
    writeInt64(v, series[i], o + 18);
    v.setInt32(o + 26, 8);
    v.setFloat64(o + 30, value[i]);
    o += ROW;
  }
  v.setInt16(o, -1);
  return b;
}

/** A safe integer as a big-endian int64, without a BigInt per value. */
function writeInt64(v: DataView, x: number, at: number): void {
  const hi = Math.floor(x / 4294967296);
  v.setInt32(at, hi);
  v.setUint32(at + 4, x - hi * 4294967296);
}

/** The unique violation SQLSTATE: a row with that (series_id, time) is stored already. */
const UNIQUE_VIOLATION = '23505';

/**
 * Insert numeric samples inside the caller's open transaction, the fastest way that keeps
 * ADR 030's idempotent flush (ADR 100): binary COPY straight into samples under a savepoint;
 * when a row is already there (a retried flush whose first COMMIT made it, a device sending
 * a point twice) back to the savepoint, COPY into a temporary staging table and
 * `INSERT … SELECT … ON CONFLICT DO NOTHING`, which skips what is stored. Returns rows inserted.
 */
export async function insertSamplesByCopy(client: pg.PoolClient, timeMs: number[], series: number[], value: number[]): Promise<number> {
  const bytes = encodeSamplesCopy(timeMs, series, value);
  await client.query('SAVEPOINT samples_copy');
  try {
    const n = await copyBytes(client, 'COPY samples (time, series_id, value) FROM STDIN (FORMAT binary)', bytes);
    await client.query('RELEASE SAVEPOINT samples_copy');
    return n;
  } catch (err) {
    if ((err as { code?: string }).code !== UNIQUE_VIOLATION) throw err;
    await client.query('ROLLBACK TO SAVEPOINT samples_copy');
  }
  // ON COMMIT DELETE ROWS: empty at the start of every transaction; created once per connection.
  await client.query('CREATE TEMP TABLE IF NOT EXISTS samples_stage (time timestamptz, series_id bigint, value float8) ON COMMIT DELETE ROWS');
  await copyBytes(client, 'COPY samples_stage (time, series_id, value) FROM STDIN (FORMAT binary)', bytes);
  const res = await client.query('INSERT INTO samples (time, series_id, value) SELECT time, series_id, value FROM samples_stage ON CONFLICT DO NOTHING');
  return res.rowCount ?? 0;
}

async function copyBytes(client: pg.PoolClient, sql: string, bytes: Buffer): Promise<number> {
  const stream = client.query(copyFrom(sql));
  await pipeline(Readable.from([bytes]), stream);
  return stream.rowCount ?? 0;
}
