/**
 * Fault matrix, Temporal: a dev server of its own with a SQLite file (the
 * in-memory one forgets every workflow on restart), five simulated switches,
 * control and collector workers. The server is killed (SIGKILL) for 20 s and
 * started again on the same port and file: sessions keep collecting while it
 * is gone, workflows and workers carry on afterwards, and the collector's
 * /healthz says what is true during the outage.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../scripts/infra/proc';
import { describeAccounting, startRig, type Rig } from '../support/faults-rig';
import { mib, RssSampler, type CapturedChild } from '../support/faults-proc';
import { startKillableTemporal as startTemporal } from '../support/faults-temporal';
import { faultCase, faultSetup } from '../../testkit/faults-report';
import { until } from '../../testkit/until';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const OUTAGE_MS = 20_000;

async function healthz(port: number): Promise<{ status: number; body: string }> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(10_000) });
    return { status: res.status, body: await res.text() };
  } catch (err) {
    return { status: 0, body: (err as Error).message };
  }
}

describe('faults: Temporal server killed and restarted', function () {
  this.timeout(300_000);
  let rig: Rig;
  let temporal: CapturedChild | undefined;
  let port: number;
  let dir: string;

  before(async () => {
    await faultSetup([{ name: 'Temporal dev server killed 20 s, restarted', checks: 'sessions keep collecting during the outage; same workflow runs afterwards, queryable; workers reconnect; /healthz tells the truth; stored = received − dropped; no duplicates' }], async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faults-temporal-'));
      port = await freePort();
      temporal = await startTemporal(port, path.join(dir, 'temporal.db'));
      rig = await startRig({ label: 'faults_temporal', devices: 5, interfaces: 4, sampleMs: 500, temporalAddress: `127.0.0.1:${port}` });
    });
  });

  after(async () => {
    await rig?.stop();
    await temporal?.stop(10_000);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('sessions keep collecting while Temporal is down and carry on after its restart', () =>
    faultCase('Temporal dev server killed 20 s, restarted', 'sessions keep collecting during the outage; same workflow runs afterwards, queryable; workers reconnect; /healthz tells the truth; stored = received − dropped; no duplicates', async (note) => {
      const c = rig.collectors[0];
      const rss = new RssSampler(() => c.pid);
      const runsBefore = await Promise.all(rig.devices.map((d) => rig.client.workflow.getHandle(`device-session/${d.id}`).describe().then((x) => x.runId)));
      const killedAt = Date.now();
      await temporal!.kill9();
      let healthDuring = await healthz(c.metricsPort);
      // /healthz during the outage: wait for it to notice (the assertion below checks what it says).
      await until('/healthz to notice Temporal is down', async () => {
        healthDuring = await healthz(c.metricsPort);
        return healthDuring.status !== 200 || /temporal/i.test(healthDuring.body);
      }, OUTAGE_MS, 500).catch(() => undefined);
      // The outage is the fault under test: it lasts OUTAGE_MS from the kill.
      await sleep(Math.max(0, killedAt + OUTAGE_MS - Date.now()));
      const latestDuring = await rig.latestPerDevice();
      const collectedDuring = rig.devices.filter((d) => (latestDuring.get(d.id) ?? 0) > killedAt + OUTAGE_MS - 5000).length;
      const restartAt = Date.now();
      temporal = await startTemporal(port, path.join(dir, 'temporal.db'));
      const serverUp = Date.now();
      // Workers reconnect: the control worker answers queries again, and sessions report streaming.
      await rig.waitAllStreaming(120_000, 1000);
      const answered = Date.now();
      const recovered = await rig.waitAllFlowing(answered, 60_000);
      const runsAfter = await Promise.all(rig.devices.map((d) => rig.client.workflow.getHandle(`device-session/${d.id}`).describe()));
      // /healthz after: it re-checks Temporal on its own schedule, so wait for it to say 200 (the assertion below checks it did).
      let healthAfter = await healthz(c.metricsPort);
      await until('/healthz to report 200 after the restart', async () => (healthAfter = await healthz(c.metricsPort)).status === 200, 60_000, 500).catch(() => undefined);
      const healthyAfterMs = Date.now() - answered;
      const a = await rig.quiesce();
      rss.stop();
      const gaps = await rig.gapsSince(killedAt);
      note(`${collectedDuring}/${rig.devices.length} devices stored points during the outage; /healthz during it: ${healthDuring.status} ${healthDuring.body.slice(0, 160)}`);
      note(`server back ${((serverUp - restartAt) / 1000).toFixed(1)} s after start; all sessions answering 'streaming' ${((answered - serverUp) / 1000).toFixed(1)} s later; /healthz after: ${healthAfter.status} (${(healthyAfterMs / 1000).toFixed(1)} s after)`);
      note(`workflow runs kept: ${runsAfter.filter((r, i) => r.runId === runsBefore[i] || r.status.name === 'RUNNING').length}/${rig.devices.length}; gaps recorded ${[...gaps.values()].reduce((x, y) => x + y, 0)}; ${describeAccounting(a)}; collector RSS max ${mib(rss.max)}`);
      assert.equal(collectedDuring, rig.devices.length, 'every session kept collecting while Temporal was down');
      assert.ok(runsAfter.every((r) => r.status.name === 'RUNNING'), 'the workflows survived the restart');
      assert.ok(recovered > 0);
      assert.equal(healthAfter.status, 200);
      assert.equal(a.stored, a.received - a.dropped);
      assert.equal(a.duplicates, 0);
      assert.ok(rig.control.alive() && c.alive(), 'workers stayed up');
      assert.ok(rss.max < 700 * 1024 * 1024, 'collector RSS bounded');
      assert.ok(healthDuring.status !== 200 || /temporal/i.test(healthDuring.body), `/healthz tells the truth while Temporal is down (got ${healthDuring.status} ${healthDuring.body})`);
    }));
});
