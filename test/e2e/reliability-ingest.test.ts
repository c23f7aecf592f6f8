/**
 * Fast reliability cases (part of `npm test`; the long matrix is `npm run
 * faults`): five simulated switches under steady load, each behind a TCP
 * proxy, real control and collector processes.
 *
 * - PostgreSQL connections terminated mid-stream (pg_terminate_backend, three
 *   times): every received point is stored, nothing is dropped or duplicated.
 * - Reconnect storm: every device connection reset (RST) at once: all sessions
 *   come back, their retry delays are jittered (the end-to-end dial spread is
 *   reported; the long suite asserts it), gaps are recorded,
 *   and every received point is stored exactly once.
 */
import assert from 'node:assert/strict';
import { terminateBackends } from '../support/db';
import { describeAccounting, startRig, type Rig } from '../support/faults-rig';
import { instrumentSimulator } from '../support/faults-sim';

describe('reliability (fast): database connections terminated, reconnect storm', function () {
  this.timeout(180_000);
  let rig: Rig;

  before(async () => {
    rig = await startRig({
      label: 'rel_ingest',
      devices: 5,
      interfaces: 4,
      sampleMs: 200,
      proxy: true,
      sessionOptions: { initialBackoffMs: 1000, maxBackoffMs: 5000 },
    });
  });

  after(async () => {
    await rig?.stop();
  });

  it('PostgreSQL connections terminated mid-stream: no loss, no duplicates, ingest resumes', async () => {
    const before = await rig.accounting();
    let terminated = 0;
    let last = Date.now();
    for (let i = 0; i < 3; i++) {
      // Mid-stream: every device is storing points again since the last termination.
      await rig.waitAllFlowing(last, 30_000);
      terminated += await terminateBackends(rig.tdb.name);
      last = Date.now();
    }
    const faultEnd = Date.now();
    assert.ok(terminated >= 3, `terminated ${terminated} backends (the collector's connections among them)`);
    const recovered = await rig.waitAllFlowing(faultEnd, 30_000);
    const a = await rig.quiesce();
    const c = rig.collectors[0];
    const health = await fetch(`http://127.0.0.1:${c.metricsPort}/healthz`);
    console.log(`      pg_terminate_backend ×3 (${terminated} backends): recovery ${((recovered - faultEnd) / 1000).toFixed(1)} s; ${describeAccounting(a)}`);
    assert.ok(a.received > before.received, 'points kept arriving');
    assert.equal(a.dropped, 0, 'no point dropped');
    assert.equal(a.stored, a.received - a.dropped, `stored = received − dropped (${describeAccounting(a)})`);
    assert.equal(a.emitted, a.received, 'every emitted point was received (no stream broke)');
    assert.equal(a.duplicates, 0);
    assert.equal(health.status, 200, `collector /healthz after recovery: ${await health.text()}`);
    assert.ok(c.alive() && rig.control.alive(), 'processes stayed up');
  });

  it('every device connection reset at once: all sessions recover, retry delays are jittered, nothing stored twice', async () => {
    const sim = instrumentSimulator();
    const names = rig.devices.map((d) => d.name);
    const subscribesBefore = new Map(names.map((n) => [n, sim.subscribes.get(n)?.length ?? 0]));
    const resetAt = Date.now();
    let reset = 0;
    for (const d of rig.devices) reset += d.proxy!.resetAll();
    assert.ok(reset >= rig.devices.length, `reset ${reset} connections`);
    const recovered = await rig.waitAllFlowing(Date.now() + 200, 60_000);
    // Each device's first new Subscribe after the reset.
    const reconnects = names.map((n) => (sim.subscribes.get(n) ?? []).slice(subscribesBefore.get(n)).find((t) => t >= resetAt));
    assert.ok(reconnects.every((t) => t !== undefined), `every device subscribed again: ${JSON.stringify(reconnects)}`);
    const delays = (reconnects as number[]).map((t) => t - resetAt).sort((x, y) => x - y);
    const spread = delays[delays.length - 1] - delays[0];
    const a = await rig.quiesce();
    const gaps = await rig.gapsSince(resetAt - 60_000);
    const statuses = await rig.statuses();
    console.log(
      `      reconnect storm (${reset} connections): reconnect delays ${delays.map((d) => (d / 1000).toFixed(2)).join(', ')} s (spread ${(spread / 1000).toFixed(2)} s); recovery ${((recovered - resetAt) / 1000).toFixed(1)} s; gaps recorded for ${gaps.size}/${rig.devices.length} devices; ${describeAccounting(a)}`,
    );
    // What the workflows said about the break (their backoff line carries the jittered delay).
    const backoffs = statuses.map((st) => (st.recent ?? []).filter((r) => r.at >= resetAt && r.state === 'backoff').map((r) => r.detail?.replace(/^.*; /, '')).join(' ') || 'no backoff');
    console.log(`      workflow backoffs after the reset: ${backoffs.join(' | ')}`);
    // The workflows draw their retry delays with jitter (checked here). Whether the dials that
    // follow stay spread end to end is asserted in the long suite (test/faults/network.test.ts,
    // 20 devices); here the spread is reported only, see docs/reliability.md (known gaps).
    const drawn = statuses.map((st) => (st.recent ?? []).find((r) => r.at >= resetAt && r.state === 'backoff')?.detail?.match(/in ([\d.]+) s/)?.[1]);
    assert.ok(drawn.every((d) => d !== undefined), `every workflow backed off after the break: ${backoffs.join(' | ')}`);
    assert.ok(new Set(drawn).size >= 2, `the workflows' retry delays are jittered: ${backoffs.join(' | ')}`);
    assert.ok(recovered - resetAt < 30_000, 'recovered within 30 s');
    assert.equal(a.stored, a.received - a.dropped, `stored = received − dropped (${describeAccounting(a)})`);
    assert.equal(a.dropped, 0);
    assert.equal(a.duplicates, 0);
    assert.ok(a.emitted - a.received >= 0, 'never more received than emitted');
    assert.equal(gaps.size, rig.devices.length, 'a gap is recorded for every device whose stream broke');
    assert.ok(statuses.every((s) => s.state === 'streaming'), `all sessions streaming again: ${statuses.map((s) => s.state).join(', ')}`);
  });
});
