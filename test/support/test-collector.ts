/**
 * A collector as the placed-session integration tests need it, in the test's process: the real
 * session activities (activities/session.ts over workers/collector-session-runner.ts) with a fake protocol and fake device loading, on the
 * collector's own queue with a heartbeat throttle minutes long (as placed sessions in production:
 * only a direct stop or the collector itself ends a session promptly), its stop queue (ADR 230),
 * and the real lease loop reporting the devices it runs (ADR 110, 165).
 */
import type { Client } from '@temporalio/client';
import { Worker, type NativeConnection } from '@temporalio/worker';
import type { Knex } from 'knex';
import { createSessionActivities } from '../../activities/session';
import { GnmiDeviceSettings, NetconfDeviceSettings } from '../../core/device';
import { MetricsRegistry } from '../../core/metrics';
import { collectorStopQueue } from '../../core/names';
import type { Logger, ProtocolSession } from '../../core/session';
import type { LocalPauses } from '../../workers/collector-bulk-pause';
import { holdLease, newRegistration } from '../../workers/collector-lease';
import { createSessionRunner } from '../../workers/collector-session-runner';
import { localStopWorkerOptions } from '../../workers/collector-stops';

/** What the test collector is given. */
export interface TestCollectorOptions {
  connection: NativeConnection;
  namespace: string;
  client: Client;
  db: Knex;
  databaseUrl: string;
  log: Logger;
  /** Its registry id. */
  id: string;
  protocol: ProtocolSession;
  /** Activity slots of its own queue (1: a collector at COLLECTOR_MAX_SESSIONS). */
  sessionSlots?: number;
  /** Filled by the session activities for bulk pauses (ADR 250). */
  pauses?: LocalPauses;
}

/** A running test collector. */
export interface TestCollector {
  taskQueue: string;
  stopQueue: string;
  metrics: MetricsRegistry;
  stop(): Promise<void>;
}

/** Start a collector (workers and lease); every device loads as an enabled gNMI device with one profile. */
export async function startTestCollector(o: TestCollectorOptions): Promise<TestCollector> {
  const reg = newRegistration({ id: o.id, capacity: 10, leaseMs: 3000 });
  const handovers = new Map<number, () => void>();
  const metrics = new MetricsRegistry();
  const runner = createSessionRunner({
    db: o.db,
    keyring: undefined as never,
    sink: { push: () => undefined },
    getProtocol: async () => o.protocol,
    client: o.client,
    metrics,
    handovers,
    pauses: o.pauses,
    lastStoredAt: async () => undefined,
    saveGap: async () => undefined,
    loadDevice: async (id) => ({
      enabled: true,
      config: { id, name: `device-${id}`, protocol: 'gnmi', host: '127.0.0.1', port: 1, secrets: {}, gnmi: GnmiDeviceSettings.parse({}), netconf: NetconfDeviceSettings.parse({}) },
      profiles: [{ id: 1, name: 'p', protocol: 'gnmi' }],
    }),
  });
  const sessions = createSessionActivities({ runner });
  const workers = [
    await Worker.create({
      connection: o.connection,
      namespace: o.namespace,
      taskQueue: reg.taskQueue,
      activities: sessions,
      ...(o.sessionSlots ? { maxConcurrentActivityTaskExecutions: o.sessionSlots } : {}),
      maxHeartbeatThrottleInterval: '5 minutes',
      defaultHeartbeatThrottleInterval: '5 minutes',
      shutdownGraceTime: '1 second',
    }),
    await Worker.create({ connection: o.connection, namespace: o.namespace, ...localStopWorkerOptions(reg.taskQueue, sessions), shutdownGraceTime: '1 second' }),
  ];
  const runs = workers.map((w) => w.run());
  const lease = await holdLease(
    {
      databaseUrl: o.databaseUrl,
      stallMs: 30_000,
      db: o.db,
      log: o.log,
      capacity: 10,
      leaseMs: 3000,
      renewMs: 300,
      runningDevices: () => [...handovers.keys()],
      loopP99Seconds: () => 0,
      handOver: (id) => handovers.get(id)?.(),
      onEvicted: () => undefined,
    },
    reg,
  );
  return {
    taskQueue: reg.taskQueue,
    stopQueue: collectorStopQueue(reg.taskQueue),
    metrics,
    async stop() {
      await lease.stop(true);
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await Promise.allSettled(runs);
    },
  };
}

/**
 * A fake gNMI device per session: connects and sends a point every 100 ms until the session's
 * signal aborts; `refuse` may fail a device's session at once; `started` and `ended` (with the
 * abort signal's reason: why the session was ended) are told each stream.
 */
export function streamingProtocol(hooks: { refuse?(deviceId: number): Error | undefined; started?(deviceId: number): void; ended?(deviceId: number, why: string): void }): ProtocolSession {
  return {
    protocol: 'gnmi',
    async run(ctx) {
      const id = ctx.device.id;
      const refused = hooks.refuse?.(id);
      if (refused) throw refused;
      hooks.started?.(id);
      ctx.onEvent({ type: 'connected' });
      while (!ctx.signal.aborted) {
        await ctx.sink.push([{ deviceId: id, path: '/x', timestamp: Date.now(), value: 1 } as never]);
        // The fake device's sample interval (behaviour, not synchronisation).
        await new Promise((r) => setTimeout(r, 100));
      }
      hooks.ended?.(id, String(ctx.signal.reason));
    },
  };
}
