/**
 * Links into Temporal Web with a List Filter (issue 21, ADR 126): the queries the device
 * and devices pages link to are valid visibility queries that select the right sessions,
 * and both UIs this project serves — the dev server's own (`npm start`) and the UI
 * server it builds (ui-server, topology and deployments) — open their workflow list
 * filtered by the link's `query` parameter. Sessions are started without a worker
 * (their state set by search attribute), so each stays in the state it was given.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { Browser, Page } from 'playwright-core';
import { freePort } from '../../scripts/infra/proc';
import { startDevServer, type TemporalServer } from '../../scripts/infra/temporal-dev-server';
import { startTemporalUi, type RunningTemporalUi } from '../../scripts/infra/temporal-server';
import { SA, WORKFLOW_TYPES, deviceSessionWorkflowId, type SessionState } from '../../core/names';
import { SESSION_VIEWS, deviceSessionQuery, workflowListUrl } from '../../web/app/lib/temporal-links';
import { launchBrowser } from '../support/browser-rig';
import { until } from '../../testkit/until';

/** Device id → the state its session is started in. */
const SESSIONS: Array<[number, SessionState]> = [
  [71, 'streaming'],
  [72, 'auth-failed'],
  [73, 'config-invalid'],
  [74, 'backoff'],
];

describe('Temporal Web links with a list filter', function () {
  this.timeout(240_000);
  let temporal: TemporalServer;
  let ui: RunningTemporalUi;
  let conn: Connection;
  let client: Client;
  let browser: Browser;
  let page: Page;
  let dir: string;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'temporal-links-'));
    temporal = await startDevServer({ port: await freePort(), uiPort: await freePort(), quiet: true });
    ui = await startTemporalUi({ address: temporal.address, namespace: temporal.namespace, port: await freePort(), dir, quiet: true });
    conn = await Connection.connect({ address: temporal.address });
    client = new Client({ connection: conn, namespace: temporal.namespace });
    for (const [id, state] of SESSIONS) {
      await client.workflow.start(WORKFLOW_TYPES.deviceSession, {
        workflowId: deviceSessionWorkflowId(id),
        taskQueue: 'temporal-links-test-no-worker',
        args: [{ deviceId: id, deviceName: `sw-${id}`, protocol: 'gnmi' }],
        typedSearchAttributes: [
          { key: SA.DeviceId, value: String(id) },
          { key: SA.DeviceName, value: `sw-${id}` },
          { key: SA.Protocol, value: 'gnmi' },
          { key: SA.SessionState, value: state },
        ],
      });
    }
    // Another workflow type in the namespace, as the reconcile and maintenance runs are.
    await client.workflow.start(WORKFLOW_TYPES.fleetReconcile, { workflowId: 'links-test-reconcile', taskQueue: 'temporal-links-test-no-worker', args: [] });
    ({ browser, page } = await launchBrowser({ width: 1400, height: 900 }));
  });

  after(async () => {
    await browser?.close();
    await conn?.close();
    await ui?.stop();
    await temporal?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Workflow ids a visibility query lists. */
  async function listed(query: string): Promise<string[]> {
    const ids: string[] = [];
    for await (const w of client.workflow.list({ query })) ids.push(w.workflowId);
    return ids.sort();
  }

  it('each query selects the sessions it names (and never the reconcile run)', async () => {
    const want: Record<string, number[]> = {
      [SESSION_VIEWS.running]: [71, 72, 73, 74],
      [SESSION_VIEWS.parked]: [72, 73],
      [SESSION_VIEWS.backoff]: [74],
      [SESSION_VIEWS.notStreaming]: [72, 73, 74],
      [deviceSessionQuery(73)]: [73],
    };
    for (const [query, ids] of Object.entries(want)) {
      const expected = ids.map(deviceSessionWorkflowId).sort();
      // Visibility is eventually consistent: wait until the list holds what was started.
      let got: string[] = [];
      await until(`${query} to list ${expected.join(', ')}`, async () => (got = await listed(query)).join() === expected.join(), 30_000, 250).catch((err) => {
        throw new Error(`${(err as Error).message}; listed ${got.join(', ') || 'nothing'}`);
      });
    }
  });

  /** Open a link in a UI and wait until its list shows `shown`; then none of `hidden` is on the page. */
  async function opens(base: string, query: string, shown: number[], hidden: number[]): Promise<void> {
    const url = workflowListUrl(base, temporal.namespace, query);
    await page.goto(url);
    const ids = shown.map(deviceSessionWorkflowId);
    await page.waitForFunction((want) => want.every((id) => document.body.innerText.includes(id)), ids, { timeout: 60_000 });
    const text = await page.locator('body').innerText();
    for (const id of hidden.map(deviceSessionWorkflowId)) assert.ok(!text.includes(id), `${id} is not in the list filtered by ${query}`);
    assert.ok(!text.includes('links-test-reconcile'), 'the reconcile run is filtered out');
    // The UI shows the filter it applied (the query box or the filter chips): at least the state it filters by.
    assert.equal(new URL(page.url()).searchParams.get('query'), query, 'the UI kept the filter in its URL');
  }

  it('the dev server’s Temporal Web (npm start) opens each link filtered', async () => {
    assert.ok(temporal.uiUrl, 'the dev server serves its UI');
    await opens(temporal.uiUrl, SESSION_VIEWS.parked, [72, 73], [71, 74]);
    await opens(temporal.uiUrl, SESSION_VIEWS.backoff, [74], [71, 72, 73]);
    await opens(temporal.uiUrl, deviceSessionQuery(71), [71], [72, 73, 74]);
  });

  it('the UI server this project builds (topology, deployments) opens each link filtered', async () => {
    await opens(ui.url, SESSION_VIEWS.parked, [72, 73], [71, 74]);
    await opens(ui.url, SESSION_VIEWS.notStreaming, [72, 73, 74], [71]);
    await opens(ui.url, deviceSessionQuery(74), [74], [71, 72, 73]);
  });
});
