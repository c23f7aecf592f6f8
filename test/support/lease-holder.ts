/**
 * A collector's lease alone, as a process of its own (test/integration/collector-lease-thread.test.ts):
 * the real holdLease (renewals on their thread, ADR 165) for one registered collector
 * running LEASE_DEVICES. SIGUSR2 blocks its main event loop with a busy loop for
 * LEASE_BLOCK_MS — a saturated or hung collector — then it prints `unblocked`.
 * Prints `ready <taskQueue>` once the lease is held. LEASE_LIVENESS=false: no liveness lock (ADR 296).
 */
import { createKnex } from '../../storage/pool';
import { createLogger } from '../../core/log';
import { holdLease, newRegistration } from '../../workers/collector-lease';

async function main() {
  const env = (name: string) => {
    const v = process.env[name];
    if (!v) throw new Error(`${name} is required`);
    return v;
  };
  const databaseUrl = env('DATABASE_URL');
  const leaseMs = Number(env('LEASE_MS'));
  const blockMs = Number(env('LEASE_BLOCK_MS'));
  const devices = env('LEASE_DEVICES').split(',').map(Number);
  const db = createKnex(databaseUrl, 2);
  const reg = newRegistration({ id: env('LEASE_COLLECTOR_ID'), capacity: 100, leaseMs });
  const lease = await holdLease(
    {
      db,
      databaseUrl,
      log: createLogger('lease-holder'),
      capacity: 100,
      leaseMs,
      renewMs: Number(env('LEASE_RENEW_MS')),
      stallMs: Number(env('LEASE_STALL_MS')),
      livenessLock: process.env.LEASE_LIVENESS !== 'false',
      runningDevices: () => devices,
      loopP99Seconds: () => 0,
      handOver: () => undefined,
      onEvicted: () => undefined,
    },
    reg,
  );
  process.on('SIGUSR2', () => {
    process.stdout.write('blocking\n');
    const until = Date.now() + blockMs;
    // The saturated main thread: nothing else runs on it meanwhile.
    while (Date.now() < until);
    process.stdout.write('unblocked\n');
  });
  process.on('SIGTERM', () => {
    void lease.stop(true).finally(() => db.destroy().finally(() => process.exit(0)));
  });
  process.stdout.write(`ready ${reg.taskQueue}\n`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
