/**
 * The Collectors page (issue 20, ADR 110): the collector registry with each collector's
 * sessions, load, version and lease, and Drain / Undrain. Collectors here are registry rows
 * written through storage/collectors.ts (registerCollector, renewLease) as a collector
 * writes them; the test renews them itself, so what the page shows is exactly known.
 */
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { listCollectors, registerCollector, renewLease, type CollectorRegistration } from '../../storage/collectors';
import { createTestUser, signInPage } from '../../testkit/web-auth';
import { startWebStack, type WebStack } from '../support/browser-rig';

/** A lease long enough to stay live through the suite on a loaded machine. */
const LONG_LEASE_MS = 600_000;

const reg = (id: string, leaseMs = LONG_LEASE_MS): CollectorRegistration => ({
  id,
  incarnation: `${id}-1`,
  taskQueue: `device-sessions/${id}/${id}-1`,
  version: '0.1.0-test',
  capacity: 1000,
  leaseMs,
});

describe('web: collectors page drains and undrains', function () {
  this.timeout(120_000);
  let stack: WebStack;
  let tdb: WebStack['tdb'];
  let web: WebStack['web'];
  let page: Page;

  before(async () => {
    stack = await startWebStack({ database: 'e2e_collectors', adminEmail: 'collectors-admin@example.test' });
    ({ tdb, web, page } = stack);
    await registerCollector(tdb.db, reg('col-a'));
    await renewLease(tdb.db, reg('col-a'), { sessions: 3, cpu: 0.25, loopP99Ms: 12 }, [1, 2, 3]);
    await registerCollector(tdb.db, reg('col-b'));
    await renewLease(tdb.db, reg('col-b'), { sessions: 2, cpu: 0.1, loopP99Ms: 8 }, [4, 5]);
    // An idle collector (the no-JavaScript case drains it: no refresh while nothing is left to move).
    await registerCollector(tdb.db, reg('col-idle'));
    // A collector whose lease lapsed (negative lease: already past).
    await registerCollector(tdb.db, reg('col-gone', -60_000));
  });

  after(async () => stack?.stop());

  const row = (p: Page, id: string) => p.getByTestId(`collector-${id}`);
  const draining = async (id: string) => (await listCollectors(tdb.db)).find((c) => c.id === id)?.draining;

  it('lists every collector with sessions, load, version and lease; a lapsed lease shows as stale', async () => {
    await page.goto(`${web.url}/collectors`);
    const a = await row(page, 'col-a').innerText();
    assert.match(a, /live/);
    assert.match(a, /3 \/ 1000/);
    assert.match(a, /25 %/);
    assert.match(a, /12 ms/);
    assert.match(a, /0\.1\.0-test/);
    assert.match(a, /\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/, 'the start time names its zone');
    assert.match(a, /renewed \d+\.\d s ago/);
    assert.match(await row(page, 'col-b').innerText(), /2 \/ 1000/);
    const gone = await row(page, 'col-gone').innerText();
    assert.match(gone, /lost/);
    assert.match(gone, /stale: lapsed/);
    assert.equal(await row(page, 'col-gone').getByTestId('action-drain').count(), 0, 'no Drain for a lost collector');
    assert.equal(await page.getByRole('link', { name: 'Collectors' }).count(), 1, 'the admin has the nav link');
  });

  it('Drain asks first, naming the collector and its sessions; then it drains until empty; Undrain takes it back', async () => {
    await page.goto(`${web.url}/collectors`);
    await row(page, 'col-a').getByTestId('action-drain').click();
    const panel = page.getByTestId('confirm-drain-panel');
    await panel.waitFor({ timeout: 30_000 });
    assert.match(await panel.innerText(), /Drain col-a\? Its 3 sessions move to other collectors/);
    assert.equal(await draining('col-a'), false, 'nothing changed before the confirmation');

    await page.getByTestId('confirm-drain').click();
    await page.getByTestId('flash').filter({ hasText: 'col-a is draining' }).waitFor({ timeout: 30_000 });
    assert.equal(await draining('col-a'), true);
    assert.equal(await draining('col-b'), false);
    assert.match(await row(page, 'col-a').getByTestId('collector-state').innerText(), /draining — 3 sessions left/);

    // The collector hands its sessions over: the open page follows its renewals to "empty".
    await renewLease(tdb.db, reg('col-a'), { sessions: 1 }, [3]);
    await row(page, 'col-a').getByTestId('collector-state').filter({ hasText: 'draining — 1 session left' }).waitFor({ timeout: 60_000 });
    await renewLease(tdb.db, reg('col-a'), { sessions: 0 }, []);
    await row(page, 'col-a').getByTestId('collector-state').filter({ hasText: 'draining — empty' }).waitFor({ timeout: 60_000 });

    await row(page, 'col-a').getByTestId('action-undrain').click();
    await page.getByTestId('flash').filter({ hasText: 'col-a takes sessions again' }).waitFor({ timeout: 30_000 });
    assert.equal(await draining('col-a'), false);
    await row(page, 'col-a').getByTestId('collector-state').filter({ hasText: /^live$/ }).waitFor({ timeout: 30_000 });
  });

  it('Drain without JavaScript: the same two steps as plain HTML', async () => {
    const ctx = await stack.browser.newContext({ javaScriptEnabled: false });
    try {
      const p = await ctx.newPage();
      await signInPage(p, web.url, stack.admin);
      await p.goto(`${web.url}/collectors`);
      await row(p, 'col-idle').getByTestId('action-drain').click();
      assert.match(await p.getByTestId('confirm-drain-panel').innerText(), /Drain col-idle\? It holds no session now/);
      await p.getByTestId('confirm-drain').click();
      assert.match(await p.getByTestId('flash').innerText(), /col-idle is draining/);
      assert.equal(await row(p, 'col-idle').getByTestId('collector-state').innerText(), 'draining — empty');
      assert.equal(await draining('col-idle'), true);
      await row(p, 'col-idle').getByTestId('action-undrain').click();
      assert.match(await p.getByTestId('flash').innerText(), /col-idle takes sessions again/);
      assert.equal(await draining('col-idle'), false);
    } finally {
      await ctx.close();
    }
  });

  it('a viewer sees no collectors page or buttons, and a forged POST is refused', async () => {
    const viewer = await createTestUser(tdb.db, 'viewer', 'collectors-viewer@example.test');
    const ctx = await stack.browser.newContext();
    try {
      const vp = await ctx.newPage();
      await signInPage(vp, web.url, viewer);
      assert.equal(await vp.getByRole('link', { name: 'Collectors' }).count(), 0, 'no nav link for a viewer');
      const res = await vp.goto(`${web.url}/collectors`);
      assert.equal(res?.status(), 403);
      assert.match(await vp.getByTestId('error').innerText(), /Not allowed/);
      assert.equal(await vp.getByTestId('action-drain').count(), 0);
      assert.equal(await vp.getByTestId('action-undrain').count(), 0);
      const post = await vp.request.post(`${web.url}/collectors`, {
        form: { intent: 'drain', collector: 'col-a', confirmed: 'yes' },
        headers: { origin: web.url },
        maxRedirects: 0,
      });
      assert.equal(post.status(), 403);
      assert.equal(await draining('col-a'), false, 'the forged drain changed nothing');
    } finally {
      await ctx.close();
    }
  });
});
