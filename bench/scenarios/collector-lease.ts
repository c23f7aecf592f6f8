/**
 * Scenario: a saturated collector keeps its lease (issue 20, ADR 165). The simulated fleet
 * offers one collector far more than it handles — points (many interfaces, short interval)
 * or sessions (many devices) — so its event loop is saturated for the whole run; PostgreSQL
 * itself records every lease renewal (trigger: when, and when the lease it renewed would
 * have run out) and every session the placement monitor claimed lost. Reports the renewal
 * gaps, renewals after a lapse, sessions claimed lost, and the collector's event-loop p99.
 */
import { percentile } from '../lib/procstat';
import { countersProfile, scrape, sleep, type BenchSystem } from '../lib/system';

/** Collector-lease options. */
export interface CollectorLeaseOptions {
  devices: number;
  interfaces: number;
  intervalMs: number;
  seconds: number;
  leaseMs: number;
}

const num = (name: string, def: number) => (process.env[name] ? Number(process.env[name]) : def);

/** The scenario's options from BENCH_LEASE_* (defaults: 30 devices x 48 interfaces every 100 ms, 120 s, lease 3 s). */
export function collectorLeaseOptions(): CollectorLeaseOptions {
  return {
    devices: num('BENCH_LEASE_DEVICES', 30),
    interfaces: num('BENCH_LEASE_INTERFACES', 48),
    intervalMs: num('BENCH_LEASE_INTERVAL_MS', 100),
    seconds: num('BENCH_LEASE_SECONDS', 120),
    leaseMs: num('BENCH_LEASE_MS', 3000),
  };
}

/** Run the scenario on a started system: the simulator, control worker and one collector, then watch its lease. */
export async function collectorLease(sys: BenchSystem, o: CollectorLeaseOptions) {
  const { devices, interfaces, intervalMs, seconds, leaseMs } = o;
  await sys.db.raw(`
    CREATE TABLE bench_lease_renewals (at timestamptz, lease_until_before timestamptz);
    CREATE FUNCTION bench_record_renewal() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN INSERT INTO bench_lease_renewals VALUES (NEW.renewed_at, OLD.lease_until); RETURN NEW; END $$;
    CREATE TRIGGER bench_record_renewal AFTER UPDATE OF lease_until ON collectors FOR EACH ROW EXECUTE FUNCTION bench_record_renewal();
    CREATE TABLE bench_lost_claims (device_id int, at timestamptz DEFAULT clock_timestamp());
    CREATE FUNCTION bench_record_lost() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.lost_signalled_at IS NOT NULL AND OLD.lost_signalled_at IS NULL THEN INSERT INTO bench_lost_claims (device_id) VALUES (NEW.device_id); END IF; RETURN NEW; END $$;
    CREATE TRIGGER bench_record_lost AFTER UPDATE OF lost_signalled_at ON session_placements FOR EACH ROW EXECUTE FUNCTION bench_record_lost();`);
  const sim = await sys.startSimulator(devices, interfaces, { SIM_GNMI_GENERATOR: 'templates' });
  sys.spawn('control', 'workers/control.ts', { COLLECTOR_LEASE_MS: String(leaseMs) });
  const collector = await sys.startCollector('collector', { COLLECTOR_LEASE_MS: String(leaseMs), COLLECTOR_MAX_SESSIONS: String(Math.max(1000, devices)) });
  await sys.addDevices(sim.ports, countersProfile(intervalMs), { prefix: 'lease', sessionOptions: { placement: true, placedHeartbeatTimeoutMs: 60_000 } });
  process.stderr.write(`  ${devices} devices x ${interfaces} interfaces every ${intervalMs} ms on one collector; watching its lease (${leaseMs / 1000} s) for ${seconds} s\n`);
  const from = (await sys.db.raw(`SELECT clock_timestamp() AS t`)).rows[0].t as Date;
  const p99s: number[] = [];
  const received0 = await scrape(collector.metricsPort, 'session_points_received_total');
  const t0 = Date.now();
  while (Date.now() - t0 < seconds * 1000) {
    await sleep(5000);
    p99s.push((await scrape(collector.metricsPort, 'event_loop_delay_seconds{quantile="0.99"}')) * 1000);
  }
  const received = (await scrape(collector.metricsPort, 'session_points_received_total')) - received0;
  const streaming = await scrape(collector.metricsPort, 'sessions{state="streaming"}');
  const to = (await sys.db.raw(`SELECT clock_timestamp() AS t`)).rows[0].t as Date;
  const renewals: Array<{ at: Date; lease_until_before: Date }> = (
    await sys.db.raw(`SELECT at, lease_until_before FROM bench_lease_renewals WHERE at BETWEEN ? AND ? ORDER BY at`, [from, to])
  ).rows;
  const gaps = renewals.slice(1).map((r, i) => r.at.getTime() - renewals[i].at.getTime());
  const lapses = renewals.filter((r) => r.at.getTime() > r.lease_until_before.getTime()).length;
  const lost = Number((await sys.db.raw(`SELECT count(*)::int AS n FROM bench_lost_claims WHERE at BETWEEN ? AND ?`, [from, to])).rows[0].n);
  const result = {
    devices,
    interfaces,
    intervalMs,
    seconds,
    leaseMs,
    pointsReceivedPerSecond: Math.round(received / ((Date.now() - t0) / 1000)),
    sessionsStreamingAtEnd: streaming,
    eventLoopP99Ms: { median: Math.round(percentile(p99s, 50)), max: Math.round(Math.max(...p99s)) },
    renewals: renewals.length,
    renewalGapMs: { p50: Math.round(percentile(gaps, 50)), p99: Math.round(percentile(gaps, 99)), max: Math.round(Math.max(...gaps)) },
    renewalsAfterALapse: lapses,
    sessionsClaimedLost: lost,
    // Only where the collector has the lease thread's metrics (ADR 165).
    collectorLeaseLapsesTotal: await scrape(collector.metricsPort, 'collector_lease_lapses_total'),
  };
  console.log(
    `collector lease under saturation: ${streaming} sessions streaming at the end, ${result.pointsReceivedPerSecond} points/s received, event-loop p99 median ${result.eventLoopP99Ms.median} ms (max ${result.eventLoopP99Ms.max} ms); ` +
      `${result.renewals} renewals in ${seconds} s, gap p50 ${result.renewalGapMs.p50} ms, p99 ${result.renewalGapMs.p99} ms, max ${result.renewalGapMs.max} ms (lease ${leaseMs} ms); ` +
      `renewals after a lapse ${lapses}; sessions claimed lost ${lost}`,
  );
  return result;
}
