/**
 * Issue 14 item 10 against the collector process itself: a NETCONF device streaming over
 * SSH sends a base:1.1 message made of 1-byte chunks up to the device's message budget and
 * one byte more. The collector's RSS (read from /proc) stays within a stated bound — a
 * decoder holding one buffer object per chunk took ~107 bytes of heap per byte, over 1.7 GB
 * for the 16 MiB default — and the session ends with a typed PROTOCOL_ERROR counted as
 * `too-large`; the workflow retries it and the device streams again.
 */
import assert from 'node:assert/strict';
import type { Client } from '@temporalio/client';
import { startFleet, type Fleet } from '../../simulator/fleet';
import type { DeviceRow } from '../../storage/devices';
import type { NetconfFaults } from '../../simulator/netconf/faults';
import { startDeviceSession } from '../../temporal/fleet-client';
import { waitFor } from '../../scripts/infra/proc';
import { endRunningWorkflows } from '../support/browser-rig';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { mib, rssBytes } from '../support/faults-proc';
import { scrapeCounter, startWorkers, testClient, type Workers } from '../support/system';
import { registerSimNetconfDevice, waitForState, waitForStatus } from './session-support';

/** The device's message budget: the default of `settings.netconf.maxMessageBytes`. */
const BUDGET = 16 * 1024 * 1024;
/**
 * Stated bound on the collector's RSS growth: the one message buffer (grown by doubling: at most
 * twice the budget, plus the copy while it grows) and SSH's buffers for 80 MiB on the wire.
 * Measured: +70 MiB; the per-chunk decoder would need over 1.7 GB.
 */
const RSS_BOUND = 8 * BUDGET;

describe('NETCONF 1-byte chunks against the collector process (issue 14 item 10)', function () {
  this.timeout(240_000);
  let tdb: TestDatabase;
  let fleet: Fleet;
  let client: Client;
  let workers: Workers;
  let device: DeviceRow;

  before(async () => {
    tdb = await createTestDatabase('e2e_nc_chunks');
    fleet = await startFleet({ gnmiCount: 0, netconfCount: 1, interfaces: 2, namePrefix: 'chunks' });
    client = await testClient();
    await endRunningWorkflows(client, 'netconf chunks suite: workflow ids are per device id, and every suite numbers devices from 1');
    device = await registerSimNetconfDevice(tdb.db, fleet.members[0]);
    workers = await startWorkers(tdb.url);
    await startDeviceSession(client, device);
  });

  after(async () => {
    await workers?.stop();
    await client?.connection.close();
    await fleet?.close();
    await tdb?.drop();
  });

  it('RSS stays within 8 × the budget, the session ends with PROTOCOL_ERROR (too-large) and streams again', async () => {
    await waitForState(client, device.id, 'streaming', 90_000);
    const collector = workers.collectors[0];
    const pid = collector.child.pid!;
    const hostile = () => scrapeCounter(collector.metricsPort, 'netconf_hostile_messages_total');
    const hostileBefore = await hostile();
    const before = rssBytes(pid)!;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, rssBytes(pid) ?? 0)), 20);
    const started = Date.now();
    try {
      (fleet.members[0].faults as unknown as NetconfFaults).sendOneByteChunks(BUDGET + 1);
      await waitFor('the collector counts a hostile message', async () => (await hostile()) > hostileBefore, 120_000, 100);
    } finally {
      clearInterval(sampler);
    }
    const ms = Date.now() - started;
    peak = Math.max(peak, rssBytes(pid) ?? 0);
    const metrics = await (await fetch(`http://127.0.0.1:${collector.metricsPort}/metrics`)).text();
    assert.match(metrics, /^netconf_hostile_messages_total\{[^}]*reason="too-large"[^}]*\} [1-9]/m, 'counted as too-large');
    const failed = await waitForStatus(client, device.id, (s) => /PROTOCOL_ERROR/.test(s.lastError ?? ''), 'the attempt failed with PROTOCOL_ERROR', 60_000);
    assert.match(failed.lastError ?? '', /too-large|larger than/, failed.lastError);
    console.log(`      1-byte chunks to ${BUDGET / 1048576} MiB (${mib((BUDGET + 1) * 5)} on the wire): counted after ${ms} ms; collector RSS ${mib(before)} → peak ${mib(peak)}`);
    assert.ok(peak - before < RSS_BOUND, `collector RSS grew by ${mib(peak - before)} (bound ${mib(RSS_BOUND)})`);
    // A protocol error is retried: the device streams again.
    await waitForState(client, device.id, 'streaming', 90_000);
  });
});
