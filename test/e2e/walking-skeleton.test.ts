/**
 * One simulated switch to a live chart, through the real pieces: simulator →
 * gNMI session activity (collector process) → PostgreSQL → web process (SSE)
 * → Chromium, with the session held by a workflow on the real Temporal server.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { Browser } from 'playwright-core';
import { createDevice } from '../../storage/devices';
import { parseKeyring } from '../../storage/secrets';
import { startDeviceSession, stopDeviceSession } from '../../temporal/fleet-client';
import { deviceSessionWorkflowId } from '../../core/names';
import { waitFor } from '../../scripts/infra/proc';
import { DEFAULT_GNMI_PROFILE } from '../../core/default-profiles';
import { ensureProfile } from '../../storage/profiles';
import { startFleet, type Fleet } from '../../simulator/fleet';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { artifactsDir } from '../support/env';
import { launchBrowser } from '../support/browser-rig';
import { TEST_SECRETS_KEY, startWeb, startWorkers, testClient, type Workers } from '../support/system';
import { createTestUser, signIn, signInPage, type TestUser } from '../../testkit/web-auth';

const IN_OCTETS = '/interfaces/interface[name=Ethernet1]/state/counters/in-octets';

describe('walking skeleton: one simulated switch to a live chart', function () {
  this.timeout(120_000);
  let tdb: TestDatabase;
  let fleet: Fleet;
  let workers: Workers;
  let web: Awaited<ReturnType<typeof startWeb>>;
  let client: Client;
  let deviceId: number;
  let seriesId: number;
  let admin: TestUser;

  before(async () => {
    tdb = await createTestDatabase('e2e_skeleton');
    fleet = await startFleet({ gnmiCount: 1, interfaces: 2, namePrefix: 'e2e' });
    [workers, web, client] = await Promise.all([startWorkers(tdb.url), startWeb(tdb.url), testClient()]);
    admin = await createTestUser(tdb.db);
  });

  after(async () => {
    if (client && deviceId) await stopDeviceSession(client, deviceId, 'test over').catch(() => undefined);
    await Promise.allSettled([workers?.stop(), web?.stop(), fleet?.close()]);
    await client?.connection.close();
    await tdb?.drop();
  });

  it('starts a workflow for a new device, findable by its DeviceId search attribute', async () => {
    const sim = fleet.members[0];
    const profileId = await ensureProfile(tdb.db, 'gnmi', DEFAULT_GNMI_PROFILE);
    const device = await createDevice(tdb.db, parseKeyring(TEST_SECRETS_KEY), {
      name: sim.name,
      protocol: 'gnmi',
      host: sim.host,
      port: sim.port,
      username: 'admin',
      settings: { gnmi: { tls: 'insecure', allowPlaintextCredentials: true } },
      secrets: { password: 'admin' },
      profileIds: [profileId],
    });
    deviceId = device.id;
    await startDeviceSession(client, device);
    // Starting again is idempotent: same workflow, same run.
    const first = await client.workflow.getHandle(deviceSessionWorkflowId(deviceId)).describe();
    const again = await startDeviceSession(client, device);
    assert.equal((await again.describe()).runId, first.runId);

    let found: string[] = [];
    await waitFor(
      'the workflow in visibility',
      async () => {
        found = [];
        for await (const wf of client.workflow.list({ query: `DeviceId = '${deviceId}'` })) found.push(wf.workflowId);
        return found.length > 0;
      },
      20_000,
    );
    assert.deepEqual(found, [deviceSessionWorkflowId(deviceId)]);
  });

  it('stores the samples the simulator emitted within seconds', async () => {
    const sim = fleet.members[0].device;
    const before = sim.interfaces[0].inOctets;
    await waitFor(
      'in-octets samples in PostgreSQL',
      async () => {
        const row = await tdb.db('series').where({ device_id: deviceId, path: IN_OCTETS }).first('id');
        if (!row) return false;
        seriesId = row.id;
        const { rows } = await tdb.pool.query('SELECT count(*)::int AS n FROM samples WHERE series_id = $1', [seriesId]);
        return rows[0].n >= 3;
      },
      30_000,
    );
    const { rows } = await tdb.pool.query<{ v: number }>('SELECT value AS v FROM samples WHERE series_id = $1 ORDER BY time', [seriesId]);
    const values = rows.map((r) => r.v);
    // Values are the simulator's own counter: growing, and never ahead of it.
    for (let i = 1; i < values.length; i++) assert.ok(values[i] >= values[i - 1], 'counter values never decrease');
    assert.ok(values[values.length - 1] > Number(before) - 1e12 && values[values.length - 1] <= Number(sim.interfaces[0].inOctets));
    const status = await client.workflow.getHandle(deviceSessionWorkflowId(deviceId)).query('status');
    assert.equal((status as { state: string }).state, 'streaming');
  });

  it('delivers new points over server-sent events', async () => {
    const controller = new AbortController();
    const cookie = await signIn(web.url, admin.email, admin.password);
    const res = await fetch(`${web.url}/api/live?series=${seriesId}&since=${Date.now()}`, { signal: controller.signal, headers: { cookie } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    const reader = res.body!.getReader();
    let text = '';
    const deadline = Date.now() + 15_000;
    while (!/\ndata: /.test(text) && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    controller.abort();
    const dataLine = text.split('\n').find((l) => l.startsWith('data: '));
    assert.ok(dataLine, `an SSE data event arrived; got ${JSON.stringify(text.slice(0, 200))}`);
    const { points } = JSON.parse(dataLine.slice(6)) as { points: Array<{ s: number; t: number; v: number }> };
    assert.ok(points.length > 0 && points.every((p) => p.s === seriesId));
    // The pushed point is a stored sample, not something the web invented.
    const { rows } = await tdb.pool.query(
      'SELECT 1 FROM samples WHERE series_id = $1 AND value = $2 AND abs(extract(epoch FROM time) * 1000 - $3) < 1',
      [seriesId, points[0].v, points[0].t],
    );
    assert.equal(rows.length, 1);
  });

  it('draws the live chart in Chromium and keeps adding points', async () => {
    let browser: Browser | undefined;
    try {
      const launched = await launchBrowser({ width: 1200, height: 800 });
      browser = launched.browser;
      const page = launched.page;
      await signInPage(page, web.url, admin);
      await page.goto(`${web.url}/devices/${deviceId}`);
      const chart = page.getByTestId('live-chart');
      await chart.waitFor();
      await page.waitForFunction(() => document.querySelector('[data-testid=live-chart]')?.getAttribute('data-status') === 'live', null, { timeout: 20_000 });
      const initial = Number(await chart.getAttribute('data-point-count'));
      await page.waitForFunction(
        (n) => Number(document.querySelector('[data-testid=live-chart]')?.getAttribute('data-point-count')) >= n + 2,
        initial,
        { timeout: 20_000 },
      );
      // Vega drew an SVG line path.
      assert.ok((await page.locator('[data-testid=live-chart] svg path').count()) > 0);
      await page.screenshot({ path: path.join(artifactsDir(), 'walking-skeleton-device.png') });
    } finally {
      await browser?.close();
    }
  });
});
