/**
 * Sessions started before any collector registered (ADR 292), through the real pieces: the control
 * worker and collector processes on the test Temporal server, simulated gNMI targets in this process.
 * Placement finds no live collector, so each first attempt runs on the shared queue, flagged
 * unplaced. The collector that takes them keeps them while it is the only one; once a second
 * collector is live it hands them over (make before break: no gap), at most PLACEMENT_MAX_MOVES at a
 * time, and they come under placement: every session placed on a live collector's own queue,
 * spread within its share by rebalancing.
 */
import assert from 'node:assert/strict';
import type { Client } from '@temporalio/client';
import { startDeviceSession, stopDeviceSession } from '../../temporal/fleet-client';
import { deviceSessionWorkflowId, type DeviceSessionOptions } from '../../core/names';
import { withinShare } from '../../core/placement';
import { freePort, waitFor, type ManagedChild } from '../../scripts/infra/proc';
import { startFleet, type Fleet } from '../../simulator/fleet';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { processEnv, scrapeCounter, spawnEntry, startCollector, testClient } from '../support/system';
import { until } from '../../testkit/until';
import { streamingOn } from '../../bench/lib/collectors';
import { recordHistories, registerSimDevice } from './session-support';

const DEVICES = 6;
const MAX_MOVES = 2;
const PLACED_HEARTBEAT_TIMEOUT_MS = 60_000;
const OPTIONS: DeviceSessionOptions = { heartbeatTimeoutMs: 4000, initialBackoffMs: 500, maxBackoffMs: 3000, placement: true, placedHeartbeatTimeoutMs: PLACED_HEARTBEAT_TIMEOUT_MS };
const ENV = {
  SESSION_HEARTBEAT_TIMEOUT_MS: '4000',
  SESSION_PLACED_HEARTBEAT_TIMEOUT_MS: String(PLACED_HEARTBEAT_TIMEOUT_MS),
  COLLECTOR_LEASE_MS: '3000',
  PLACEMENT_MAX_MOVES: String(MAX_MOVES),
  INGEST_FLUSH_MS: '100',
};

type Collector = ManagedChild & { metricsPort: number };

describe('sessions started before any collector registered: moved onto placement once two are live (ADR 292)', function () {
  this.timeout(180_000);
  let tdb: TestDatabase;
  let fleet: Fleet;
  let client: Client;
  let control: ManagedChild;
  let controlPort: number;
  const collectors: Collector[] = [];
  const ids: number[] = [];

  /** Streaming sessions on a collector, from its /metrics. */
  const streaming = (c: Collector) => streamingOn(c.metricsPort);

  /** Device → the live collector whose own queue its placement names (absent: not placed on a live collector). */
  async function placedOn(): Promise<Map<number, string>> {
    const { rows } = await tdb.db.raw(`SELECT p.device_id, c.id FROM session_placements p JOIN collectors c ON c.task_queue = p.task_queue AND c.lease_until > now() WHERE p.device_id = ANY(?)`, [
      ids,
    ]);
    return new Map(rows.map((r: { device_id: number; id: string }) => [Number(r.device_id), String(r.id)]));
  }

  before(async () => {
    tdb = await createTestDatabase('e2e_unplaced');
    fleet = await startFleet({ gnmiCount: DEVICES, interfaces: 1, namePrefix: 'unplaced' });
    controlPort = await freePort();
    control = spawnEntry('control', 'workers/control.ts', processEnv(tdb.url, { ...ENV, CONTROL_HEALTH_PORT: String(controlPort) }));
    client = await testClient();
    for (const m of fleet.members) ids.push((await registerSimDevice(tdb.db, m)).id);
  });

  after(async () => {
    await recordHistories(client, ids.map(deviceSessionWorkflowId), 'device-session');
    for (const id of ids) await stopDeviceSession(client, id, 'test over').catch(() => undefined);
    await Promise.allSettled([control?.stop(), ...collectors.map((c) => c.stop()), fleet?.close()]);
    await client?.connection.close();
    await tdb?.drop();
  });

  it('runs them unplaced on the only collector, then hands them to a second one without a gap and spreads them by placement', async () => {
    // No collector yet: every first attempt asks placement and gets none.
    for (const [i, id] of ids.entries()) await startDeviceSession(client, { id, name: fleet.members[i].name, protocol: 'gnmi' }, OPTIONS);
    // waitFor: the control worker's /metrics may not answer yet.
    await waitFor('every session asked placement', async () => (await scrapeCounter(controlPort, 'placement_asked_total')) >= DEVICES, 60_000, 200);
    assert.equal((await placedOn()).size, 0, 'none placed: no collector was registered');

    // The first collector takes them from the shared queue and keeps them: there is nowhere to move them.
    const a = await startCollector(tdb.url, ENV, 'collector-a');
    collectors.push(a);
    await until('collector A streams every session, unplaced', async () => (await streaming(a)) === DEVICES && (await scrapeCounter(a.metricsPort, 'sessions_unplaced')) === DEVICES, 60_000, 200);
    assert.equal(await scrapeCounter(a.metricsPort, 'session_unplaced_moves_total'), 0, 'alone, collector A moves none of them');

    // A second collector: A hands its unplaced sessions over to it, a few at a time, keeping each stream until B streams it.
    const bStartedAt = new Date();
    const b = await startCollector(tdb.url, ENV, 'collector-b');
    collectors.push(b);
    let mostUnplacedMoving = 0;
    await until(
      'every session placed on a live collector, none left unplaced',
      async () => {
        const [unplaced, moves] = await Promise.all([scrapeCounter(a.metricsPort, 'sessions_unplaced'), scrapeCounter(a.metricsPort, 'session_unplaced_moves_total')]);
        mostUnplacedMoving = Math.max(mostUnplacedMoving, moves - (DEVICES - unplaced));
        return unplaced === 0 && (await placedOn()).size === DEVICES;
      },
      90_000,
      100,
    );
    assert.equal(await scrapeCounter(a.metricsPort, 'session_unplaced_moves_total'), DEVICES, 'each unplaced session was moved once');
    assert.ok(mostUnplacedMoving <= MAX_MOVES, `at most PLACEMENT_MAX_MOVES (${MAX_MOVES}) in flight; seen ${mostUnplacedMoving}`);
    assert.ok((await scrapeCounter(b.metricsPort, 'session_warm_starts_total')) >= DEVICES, 'collector B dialled each at once when it was placed there (warm hand-over)');

    // Under placement, rebalancing spreads them over both.
    let counts: number[] = [];
    await until(
      'both collectors within their share',
      async () => {
        counts = await Promise.all([a, b].map(streaming));
        return counts[0] + counts[1] === DEVICES && counts.every((n) => withinShare(n, DEVICES / 2));
      },
      90_000,
      200,
    );
    const placed = await placedOn();
    assert.equal(placed.size, DEVICES, 'every session placed on a live collector');
    assert.equal(new Set(placed.values()).size, 2, `placed on both collectors (${counts.join(' / ')} streaming)`);
    // Make before break: the moves cost no gap.
    const { rows } = await tdb.db.raw(`SELECT device_id, reason FROM gaps WHERE device_id = ANY(?) AND ended_at > ?`, [ids, bStartedAt]);
    assert.deepEqual(rows, [], 'no gap recorded by the moves');
    const [received, written, duplicate, dropped] = await Promise.all(
      ['ingest_points_received_total', 'ingest_points_written_total', 'ingest_points_duplicate_total', 'ingest_points_dropped_total'].map((n) =>
        Promise.all([a, b].map((c) => scrapeCounter(c.metricsPort, n))).then((x) => x[0] + x[1]),
      ),
    );
    assert.equal(dropped, 0, 'no point dropped');
    assert.ok(received > 0 && received >= written + duplicate, `points received ${received}, written ${written}`);
  });
});
