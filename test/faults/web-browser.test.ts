/**
 * Fault matrix, web: Chromium shows a device page with its live chart; the
 * web process is restarted (SIGTERM, then started again on the same port).
 * EventSource reconnects by itself with Last-Event-ID, the chart goes back to
 * live and keeps growing, and the points the page received over the stream
 * cover every stored point of the series since the page opened: no gap
 * beyond the restart, none twice.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { CHROMIUM_ARGS, ensureChromium } from '../../scripts/infra/chromium';
import { artifactsDir } from '../support/env';
import { startRig, type Rig } from '../support/faults-rig';
import { mib, RssSampler } from '../support/faults-proc';
import { faultCase, faultSetup } from '../../testkit/faults-report';
import { until } from '../../testkit/until';
import { webClient } from '../support/faults-web';

const IN_OCTETS = '/interfaces/interface[name=Ethernet1]/state/counters/in-octets';

/** Records every EventSource event the page sees (installed before the page's scripts run). */
const RECORDER = `(() => {
  const log = (window.__sse = []);
  const Native = window.EventSource;
  window.EventSource = function (url, init) {
    const es = new Native(url, init);
    es.addEventListener('open', () => log.push({ type: 'open', at: Date.now() }));
    es.addEventListener('error', () => log.push({ type: 'error', at: Date.now(), state: es.readyState }));
    es.addEventListener('message', (e) => {
      try { log.push({ type: 'data', at: Date.now(), id: e.lastEventId, points: JSON.parse(e.data).points }); } catch {}
    });
    return es;
  };
  window.EventSource.prototype = Native.prototype;
  Object.assign(window.EventSource, { CONNECTING: 0, OPEN: 1, CLOSED: 2 });
})();`;

interface SseRecord {
  type: 'open' | 'error' | 'data';
  at: number;
  id?: string;
  points?: Array<{ s: number; t: number; v: number }>;
}

describe('faults: web process restarted while a browser is connected', function () {
  this.timeout(240_000);
  let rig: Rig;
  let browser: Browser | undefined;

  before(async () => {
    await faultSetup([{ name: 'web restart with Chromium connected', checks: 'EventSource reconnects (Last-Event-ID); chart back to live and growing; every stored point since page load delivered once; web RSS' }], async () => {
      rig = await startRig({ label: 'faults_web', devices: 2, interfaces: 2, sampleMs: 250, web: true });
    });
  });
  after(async () => {
    await browser?.close();
    await rig?.stop();
  });

  it('EventSource reconnects and the chart shows no gap beyond the restart', () =>
    faultCase('web restart with Chromium connected', 'EventSource reconnects (Last-Event-ID); chart back to live and growing; every stored point since page load delivered once; web RSS', async (note) => {
      const web = rig.web!;
      const device = rig.devices[0];
      const series = await rig.seriesId(device.id, IN_OCTETS);
      const client = await webClient(web.url);
      browser = await chromium.launch({ executablePath: await ensureChromium(), args: CHROMIUM_ARGS });
      const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
      const [name, ...value] = client.cookie.split('=');
      await context.addCookies([{ name, value: value.join('='), url: web.url }]);
      await context.addInitScript(RECORDER);
      const page = await context.newPage();
      const openedAt = Date.now();
      await page.goto(`${web.url}/devices/${device.id}`);
      const chart = page.getByTestId('live-chart').first();
      await chart.waitFor({ timeout: 30_000 });
      const isLive = () => page.waitForFunction(() => document.querySelector('[data-testid=live-chart]')?.getAttribute('data-status') === 'live', null, { timeout: 30_000 });
      await isLive();
      const pointCount = async () => Number(await chart.getAttribute('data-point-count'));
      const drawnWhenLive = await pointCount();
      await until('live points drawn on the chart', async () => (await pointCount()) >= drawnWhenLive + 5, 30_000, 250);
      const rss = new RssSampler(() => rig.web?.pid);
      const countBefore = await pointCount();
      const stoppedAt = Date.now();
      await web.stop(15_000);
      await rig.waitSamplesSince(series, Date.now()); // points stored while no web process runs
      await rig.startWeb(web.port);
      const upAt = Date.now();
      // EventSource retries by itself (retry: 2000); wait until points from after the restart arrived.
      await page.waitForFunction(
        (t) => ((window as unknown as { __sse: SseRecord[] }).__sse ?? []).some((r) => r.type === 'data' && (r.points ?? []).some((p) => p.t > t)),
        upAt + 1000,
        { timeout: 60_000, polling: 250 },
      );
      const caughtUp = Date.now();
      await isLive();
      await until('the chart growing past its count before the restart', async () => (await pointCount()) > countBefore, 30_000, 250).catch(() => undefined); // asserted below
      const countAfter = await pointCount();
      const records = (await page.evaluate(() => (window as unknown as { __sse: SseRecord[] }).__sse)) as SseRecord[];
      await page.screenshot({ path: path.join(artifactsDir(), 'faults-web-restart.png') });
      rss.stop();
      const opens = records.filter((r) => r.type === 'open').length;
      const got = records.filter((r) => r.type === 'data').flatMap((r) => r.points ?? []).filter((p) => p.s === series).map((p) => p.t);
      const firstT = Math.min(...got);
      const lastT = Math.max(...got);
      const { rows } = await rig.tdb.pool.query<{ t: number }>(
        `SELECT (extract(epoch FROM time) * 1000)::float8 AS t FROM samples WHERE series_id = $1
            AND time >= to_timestamp($2::float8 / 1000) AND time <= to_timestamp($3::float8 / 1000) ORDER BY time`,
        [series, firstT, lastT],
      );
      const gotSet = new Set(got.map((t) => t.toFixed(3)));
      const missing = rows.filter((r) => !gotSet.has(r.t.toFixed(3)));
      const dupes = got.length - gotSet.size;
      note(`web down ${((upAt - stoppedAt) / 1000).toFixed(1)} s; page caught up ${((caughtUp - upAt) / 1000).toFixed(1)} s after the restart; EventSource opened ${opens}×`);
      note(`${got.length} points over SSE for the series, ${rows.length} stored in that span, ${missing.length} missing, ${dupes} twice; chart points ${countBefore} → ${countAfter}; restarted web RSS max ${mib(rss.max)}; page open ${((Date.now() - openedAt) / 1000).toFixed(0)} s`);
      assert.ok(opens >= 2, 'EventSource reconnected on its own');
      assert.equal(missing.length, 0, 'no stored point missing from the stream (no gap beyond the restart)');
      assert.equal(dupes, 0);
      assert.ok(got.some((t) => t > stoppedAt && t < upAt), 'points stored while the web process was down reached the page');
      assert.ok(countAfter > countBefore, 'the chart kept growing');
    }));
});
