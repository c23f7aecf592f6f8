/**
 * A fleet of interface counters for the benchmarks: `seedInterfaceSeries` writes the devices
 * and their in-octets series (alert-preview, live-aggregates, fleet-query write their own
 * samples); `seedInterfaceFleet` adds `minutes` of 10-second samples up to now for the alerting
 * benchmarks (bench/alert-eval.ts, bench/alert-rules.ts). Series s counts 1250 × (1 + s % 7)
 * octets a second (its value a function of time), so appendInterfaceSamples can go on
 * writing the same counters.
 */
import type { Queryable } from '../../query/router';

/** The counter value of the series whose id is in `seriesId` at the timestamptz `time` (SQL expressions). */
const counter = (time: string, seriesId: string) => `extract(epoch FROM ${time}) * 1250.0 * (1 + ${seriesId} % 7)`;

/**
 * Devices `dev-0001`… in `sites` sites (default 10) with `interfaces` in-octets series each
 * (`/interfaces/interface[name=EthernetN]/state/counters/in-octets`), at most `maxSeries` of them
 * (device by device, interface by interface). No samples.
 */
export async function seedInterfaceSeries(pool: Queryable, opts: { devices: number; interfaces: number; sites?: number; maxSeries?: number }): Promise<void> {
  await pool.query(
    `INSERT INTO devices (name, protocol, host, port, site)
     SELECT 'dev-' || lpad(g::text, 4, '0'), 'gnmi', '127.0.0.1', 1, 'site-' || (g % $2::int) FROM generate_series(1, $1::int) g`,
    [opts.devices, opts.sites ?? 10],
  );
  await pool.query(
    `INSERT INTO series (device_id, path, kind)
     SELECT d.id, '/interfaces/interface[name=Ethernet' || i || ']/state/counters/in-octets', 'number'
       FROM devices d CROSS JOIN generate_series(1, $1::int) i ORDER BY d.id, i LIMIT $2`,
    [opts.interfaces, opts.maxSeries ?? null],
  );
}

/** Seed devices, series and samples (native or TimescaleDB storage, migrated); the series and sample counts. */
export async function seedInterfaceFleet(
  pool: Queryable,
  opts: { devices: number; interfaces: number; sites?: number; minutes?: number },
): Promise<{ series: number; samples: number }> {
  const steps = Math.round(((opts.minutes ?? 10) * 60) / 10);
  await seedInterfaceSeries(pool, opts);
  await pool.query(
    `INSERT INTO samples (time, series_id, value)
     SELECT x.time, s.id, ${counter('x.time', 's.id')}
       FROM series s CROSS JOIN (SELECT now() - make_interval(secs => t * 10) AS time FROM generate_series(0, $1::int - 1) t) x`,
    [steps],
  );
  await pool.query('ANALYZE devices; ANALYZE series; ANALYZE samples');
  const series = Number((await pool.query<{ n: string }>('SELECT count(*) AS n FROM series')).rows[0].n);
  const samples = Number((await pool.query<{ n: string }>('SELECT count(*) AS n FROM samples')).rows[0].n);
  return { series, samples };
}

/** One new sample of every series at now (the counters go on); rows written. */
export async function appendInterfaceSamples(pool: Queryable): Promise<number> {
  const res = await pool.query(`INSERT INTO samples (time, series_id, value) SELECT now(), s.id, ${counter('now()', 's.id')} FROM series s`);
  return (res as { rowCount?: number }).rowCount ?? 0;
}
