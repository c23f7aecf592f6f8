/**
 * Fast reliability case (part of `npm test`): the web process restarted while
 * a live stream is open. The client reconnects with Last-Event-ID (as
 * EventSource does) and receives exactly what it missed: the points of both
 * connections together are every stored point of the series in that window,
 * none twice. (The long suite does the same with Chromium and the chart.)
 */
import assert from 'node:assert/strict';
import { startRig, type Rig } from '../support/faults-rig';
import { readSse, sseEvents, webClient } from '../support/faults-web';
import { until } from '../../testkit/until';

const IN_OCTETS = '/interfaces/interface[name=Ethernet1]/state/counters/in-octets';

describe('reliability (fast): web process restarted under a live stream', function () {
  this.timeout(180_000);
  let rig: Rig;

  before(async () => {
    rig = await startRig({ label: 'rel_web', devices: 1, interfaces: 2, sampleMs: 200, web: true });
  });
  after(async () => {
    await rig?.stop();
  });

  it('reconnecting with Last-Event-ID resumes exactly where the stream broke: no gap, no duplicates', async () => {
    const web = rig.web!;
    const series = await rig.seriesId(rig.devices[0].id, IN_OCTETS);
    const client = await webClient(web.url);
    const openedAt = Date.now();
    const first = await client.fetch(`/api/live?series=${series}&since=${openedAt}`, { headers: { accept: 'text/event-stream' }, signal: AbortSignal.timeout(60_000) });
    assert.equal(first.status, 200, 'the live stream opened');
    // Read while the web process is stopped under the open stream.
    let sofar = '';
    const reading = readSse(first, 30_000, undefined, (t) => (sofar = t));
    await until('three events on the first stream', () => sseEvents(sofar).length >= 3, 20_000);
    const stoppedAt = Date.now();
    await web.stop(15_000);
    const text1 = await reading.catch((err: Error) => `${(err as { partial?: string }).partial ?? ''}`);
    if (process.env.TEST_VERBOSE) console.log(`      stopped in ${Date.now() - stoppedAt} ms; first stream ${text1.length} bytes`);
    const events1 = sseEvents(text1);
    assert.ok(events1.length > 0, 'events arrived before the restart');
    const lastId = events1[events1.length - 1].id!;
    await rig.waitSamplesSince(series, Date.now()); // points stored while no web process runs
    await rig.startWeb(web.port);
    const upAt = Date.now();
    const second = await client.fetch(`/api/live?series=${series}`, { headers: { accept: 'text/event-stream', 'last-event-id': String(lastId) }, signal: AbortSignal.timeout(60_000) });
    assert.equal(second.status, 200);
    const text2 = await readSse(second, 20_000, (t) => sseEvents(t).some((e) => e.points.some((p) => p.t > upAt + 1000)));
    const firstEventAfter = Date.now();
    const got = [...events1, ...sseEvents(text2)].flatMap((e) => e.points).map((p) => p.t);
    const newest = Math.max(...got);
    const { rows } = await rig.tdb.pool.query<{ t: number }>(
      `SELECT (extract(epoch FROM time) * 1000)::float8 AS t FROM samples
        WHERE series_id = $1 AND time > to_timestamp($2::float8 / 1000) AND time <= to_timestamp($3::float8 / 1000) ORDER BY time`,
      [series, openedAt, newest],
    );
    const stored = rows.map((r) => r.t);
    const dupes = got.length - new Set(got).size;
    const missing = stored.filter((t) => !got.some((g) => Math.abs(g - t) < 0.01));
    console.log(
      `      web down ${((upAt - stoppedAt) / 1000).toFixed(1)} s; caught up ${((firstEventAfter - upAt) / 1000).toFixed(1)} s after restart; ${got.length} points delivered, ${stored.length} stored in the window, ${missing.length} missing, ${dupes} duplicates`,
    );
    assert.equal(dupes, 0, 'no point delivered twice');
    assert.deepEqual(missing, [], 'every stored point of the window was delivered');
    assert.ok(got.some((t) => t > stoppedAt && t < upAt), 'points stored while the web process was down were delivered on reconnect');
  });
});
