/**
 * Fault case of the alerting guarantee (issue 18), in the fault matrix (`npm run faults`) and
 * fast enough for `npm test`: a rule is firing and its notification is held by a slow webhook
 * receiver when the control worker AND the Temporal server are killed (SIGKILL); the value
 * clears while both are down; the server is started again on the same SQLite file and a new
 * control worker comes up. The receiver, deduplicating on Idempotency-Key, ends with the firing
 * and the resolution once each — none lost, none twice — every request signed.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { role } from '../../core/roles';
import { createAlertRule, createContactPoint, deliveryAttempts, recentAlertTransitions } from '../../storage/alerts';
import { parseKeyring } from '../../storage/secrets';
import { alertRuleStatus, startAlertRule } from '../../temporal/alert-client';
import { freePort } from '../../scripts/infra/proc';
import { faultCase, faultSetup } from '../../testkit/faults-report';
import { until } from '../../testkit/until';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { spawnCaptured, type CapturedChild } from '../support/faults-proc';
import { startKillableTemporal } from '../support/faults-temporal';
import { processEnv, TEST_SECRETS_KEY } from '../support/system';
import { startWebhookReceiver } from '../support/webhook-receiver';

const SECRET = 'fault-receiver-secret';
const PATH = '/system/cpu/utilization';
const CASE = 'alert firing, slow receiver: control worker and Temporal server killed (-9), restarted';
const CHECKS = 'the receiver, deduplicating on Idempotency-Key, gets the firing and the resolution (cleared while both were down) once each, none lost; every request signed; attempts recorded';

describe('reliability (fast): alert delivery through a control worker and Temporal server kill', function () {
  this.timeout(360_000);
  let temporal: CapturedChild | undefined;
  let port: number;
  let dir: string;
  let tdb: TestDatabase;
  let connection: Connection;
  let client: Client;
  let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
  const controls: CapturedChild[] = [];

  before(async () => {
    await faultSetup([{ name: CASE, checks: CHECKS }], async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faults-alerting-'));
      port = await freePort();
      temporal = await startKillableTemporal(port, path.join(dir, 'temporal.db'));
      connection = await Connection.connect({ address: `127.0.0.1:${port}` });
      client = new Client({ connection });
      tdb = await createTestDatabase('reliability_alerting');
      receiver = await startWebhookReceiver(SECRET);
    });
  });

  after(async () => {
    await Promise.allSettled(controls.map((c) => c.stop(10_000)));
    await receiver?.close();
    await connection?.close();
    await temporal?.stop(10_000);
    await tdb?.drop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Start a control worker process on this case's Temporal server; resolves once its /healthz says it polls. */
  async function startControl(name: string): Promise<CapturedChild> {
    const control = role('control');
    const healthPort = await freePort();
    const child = spawnCaptured(name, control.entry, processEnv(tdb.url, { TEMPORAL_ADDRESS: `127.0.0.1:${port}`, [control.port!.env]: String(healthPort) }));
    controls.push(child);
    const ready = () => fetch(`http://127.0.0.1:${healthPort}${control.healthPath}`, { signal: AbortSignal.timeout(5000) }).then((r) => r.status === 200, () => false);
    await until(`${name} to be ready`, async () => {
      if (!child.alive()) throw new Error(`${name} exited: ${child.output().slice(-2000)}`);
      return ready();
    }, 180_000, 250);
    return child;
  }

  it('each transition reaches the deduplicating receiver once, none lost', () =>
    faultCase(CASE, CHECKS, async (note) => {
      const contactPointId = (await createContactPoint(tdb.db, parseKeyring(TEST_SECRETS_KEY), { name: 'receiver', url: receiver.url, secret: SECRET })).id;
      const [device] = await tdb.db('devices').insert({ name: 'leaf-fault', protocol: 'gnmi', host: '127.0.0.1', port: 1, enabled: false }).returning('id');
      const [series] = await tdb.db('series').insert({ device_id: device.id, path: PATH, kind: 'number' }).returning('id');
      /** A sample of the CPU series now, as the collector would store it. */
      const store = (value: number) => tdb.db('samples').insert({ time: new Date(), series_id: series.id, value });
      const rule = await createAlertRule(tdb.db, {
        name: 'cpu hot (fault)',
        spec: { kind: 'threshold', path: PATH, agg: 'last', groupBy: 'device', op: '>', threshold: 80, recovery: 50, windowMs: 60_000 },
        severity: 'critical',
        intervalMs: 1000,
        contactPointId,
      });
      // The slow receiver: the first firing request is never answered; its sender dies with it open.
      const firingKey = receiver.holdFirst('-firing-');
      const first = await startControl('control-a');
      await startAlertRule(client, rule, { deliveryAttemptTimeoutMs: 5000, deliveryMaxIntervalMs: 2000 });
      await store(99);
      await until('the firing request to reach the slow receiver', () => firingKey() !== undefined, 120_000, 100);
      assert.equal((await alertRuleStatus(client, rule.id))?.counts.firing, 1, 'the alert is firing when the fault strikes');

      const killedAt = Date.now();
      await first.kill9();
      await temporal!.kill9();
      // The value clears while nothing runs: the resolution must still be found and delivered.
      await store(5);
      const restartAt = Date.now();
      temporal = await startKillableTemporal(port, path.join(dir, 'temporal.db'));
      const serverUp = Date.now();
      await startControl('control-b');
      const workerUp = Date.now();
      await until('the retried firing notification to be answered', async () => receiver.deduplicated(rule.id).has(firingKey()!), 180_000, 100);
      const firingAt = Date.now();
      await until('the resolved notification', async () => [...receiver.deduplicated(rule.id).values()].some((a) => a.body.status === 'resolved'), 180_000, 100);
      const resolvedAt = Date.now();
      receiver.setHold(undefined);
      await until('every attempt recorded', async () => (await recentAlertTransitions(tdb.db, 10, rule.id)).every((t) => t.deliveredAt !== null), 60_000, 200);

      const raw = receiver.arrivals.filter((a) => a.body.rule?.id === rule.id);
      const kept = [...receiver.deduplicated(rule.id).values()];
      const attempts = await deliveryAttempts(tdb.db, firingKey()!);
      note(`Temporal down ${((restartAt - killedAt) / 1000).toFixed(1)} s, back ${((serverUp - restartAt) / 1000).toFixed(1)} s after its start; new control worker ready ${((workerUp - serverUp) / 1000).toFixed(1)} s later`);
      note(`firing answered ${((firingAt - killedAt) / 1000).toFixed(1)} s after the kill, resolution ${((resolvedAt - killedAt) / 1000).toFixed(1)} s after it`);
      note(`requests ${raw.length} (firing ${raw.filter((a) => a.key === firingKey()).length}), kept after deduplication ${kept.length}: ${kept.map((a) => a.body.status).join(', ')}; firing attempts recorded ${attempts.length}`);
      assert.deepEqual(kept.map((a) => a.body.status), ['firing', 'resolved'], 'each transition once after deduplication, none lost');
      assert.ok(raw.filter((a) => a.key === firingKey()).length >= 2, 'the killed attempt and its retry both reached the receiver');
      assert.ok(raw.every((a) => a.signatureOk), 'every request signed with the contact point secret');
      assert.deepEqual((await recentAlertTransitions(tdb.db, 10, rule.id)).map((t) => t.transition).sort(), ['firing', 'resolved'], 'two transitions recorded');
      assert.ok(attempts.some((a) => a.ok), 'the delivered attempt recorded');
      assert.equal(kept[1].body.value, 5, 'resolved by the value stored while everything was down');
    }));
});
