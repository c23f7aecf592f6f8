/**
 * Live alert markers' server side against PostgreSQL (ADR 226): recording a transition of a
 * device's instance rings the alert-marker doorbell; the live hub hears it on its LISTEN
 * connection and a stream following that device gets the device's whole marker list (the
 * current one at once when it subscribes); a stream following another device reads nothing
 * more; a rule not grouped by device (no `device` label) rings nothing.
 */
import assert from 'node:assert/strict';
import { createAlertRule, recordAlertTransitions, type AlertMarker } from '../../storage/alerts';
import type { AlertTransition } from '../../core/alert-machine';
import { LiveHub } from '../../web/app/lib/live-hub.server';
import { subscribeAlertMarkers } from '../../web/app/lib/live-alert-markers.server';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { until } from '../../testkit/until';

describe('web: live alert markers over the live hub', function () {
  this.timeout(60_000);
  let tdb: TestDatabase;
  let hub: LiveHub;

  before(async () => {
    tdb = await createTestDatabase('web_live_markers');
    await tdb.db('devices').insert([
      { name: 'mk-1', protocol: 'gnmi', host: '127.0.0.1', port: 1, settings: '{}' },
      { name: 'mk-2', protocol: 'gnmi', host: '127.0.0.1', port: 2, settings: '{}' },
    ]);
    hub = new LiveHub({ pool: tdb.pool, connectionString: tdb.url });
  });

  after(async () => {
    await hub?.close();
    await tdb?.drop();
  });

  const transition = (ruleId: number, key: string, to: 'firing' | 'resolved', at: number, labels: Record<string, string>): AlertTransition & { silenced: boolean } => ({
    ruleId, key, to, at, episode: at, value: 1, labels, idempotencyKey: `alert-${ruleId}-${at}-${to}-${key}`, silenced: false,
  } as AlertTransition & { silenced: boolean });

  it("a recorded transition reaches the streams following its device, and only those", async () => {
    const byDevice = await createAlertRule(tdb.db, { name: 'hot', spec: { kind: 'threshold', path: '/x', agg: 'max', groupBy: 'device', op: '>', threshold: 0 }, intervalMs: 1000 });
    const bySite = await createAlertRule(tdb.db, { name: 'site hot', spec: { kind: 'threshold', path: '/x', agg: 'max', groupBy: 'site', op: '>', threshold: 0 }, intervalMs: 1000 });
    const t0 = Date.now();
    const got: Record<string, AlertMarker[][]> = { one: [], two: [] };
    const subs = await Promise.all([
      subscribeAlertMarkers(hub, tdb.db, { devices: ['mk-1'], from: t0 - 60_000, deliver: (m) => (got.one.push(m), true) }),
      subscribeAlertMarkers(hub, tdb.db, { devices: ['mk-2'], from: t0 - 60_000, deliver: (m) => (got.two.push(m), true) }),
    ]);
    assert.deepEqual([got.one, got.two], [[[]], [[]]], 'each stream gets its (empty) list when it subscribes');

    await recordAlertTransitions(tdb.db, [transition(byDevice.id, 'mk-1', 'firing', t0 + 1, { device: 'mk-1', group: 'mk-1' })]);
    await until('the firing on the stream following mk-1', async () => got.one.at(-1)?.length === 1, 20_000, 50);
    assert.deepEqual(got.one.at(-1)!.map((m) => [m.instance, m.transition, m.rule]), [['mk-1', 'firing', 'hot']]);

    await recordAlertTransitions(tdb.db, [transition(byDevice.id, 'mk-1', 'resolved', t0 + 2, { device: 'mk-1', group: 'mk-1' })]);
    await until('the resolution too', async () => got.one.at(-1)?.length === 2, 20_000, 50);
    assert.deepEqual(got.one.at(-1)!.map((m) => m.transition), ['firing', 'resolved'], 'the whole list, oldest first');

    // A site rule's transition has no device: no doorbell. Then mk-2's own: its stream read nothing on mk-1's doorbells.
    await recordAlertTransitions(tdb.db, [transition(bySite.id, 'east', 'firing', t0 + 3, { site: 'east', group: 'east' })]);
    await recordAlertTransitions(tdb.db, [transition(byDevice.id, 'mk-2', 'firing', t0 + 4, { device: 'mk-2', group: 'mk-2' })]);
    await until('the firing on the stream following mk-2', async () => got.two.at(-1)?.length === 1, 20_000, 50);
    assert.equal(got.two.length, 2, "mk-2's stream: its first list and one read for its own doorbell, none for mk-1's");
    assert.equal(got.one.length, 3, "mk-1's stream: its first list and its two transitions; nothing for the site rule's or mk-2's");
    for (const s of subs) s.stop();
  });
});
