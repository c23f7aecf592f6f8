/**
 * Live aggregates (issue 17) with an in-process live hub on real PostgreSQL: the web process
 * combines a widget's series from the hub's feed and hands on only the aggregated lines —
 * each site's exact sum of per-series rates, step by step, a step drawn only once every
 * series reached it (a site whose devices report a tick late is never drawn short), the
 * count of series reporting, only the ranked groups of a top N — and the /api/live route
 * streams them for a dashboard's aggregated widgets.
 */
import assert from 'node:assert/strict';
import { SAMPLES_CHANNEL } from '../../core/names';
import { LiveHub } from '../../web/app/lib/live-hub.server';
import { subscribeAggregate, type AggregateChanges } from '../../web/app/lib/live-aggregates.server';
import type { Row } from '../../web/app/lib/widget-data';
import { addWidget, createDashboard } from '../../storage/dashboards';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { createTestUser, routeRequest, cookieFrom } from '../../testkit/web-auth';
import { resetContext, ctx } from '../../web/app/lib/context.server';
import { until } from '../../testkit/until';
import { TEST_SECRETS_KEY } from '../support/system';

const DEVICES = [
  { name: 'la-sw1', site: 'ams' },
  { name: 'la-sw2', site: 'ams' },
  { name: 'la-sw3', site: 'fra' },
];
const IFACES = 4;
const OCTETS = (i: number) => `/interfaces/interface[name=Ethernet${i}]/state/counters/in-octets`;
/** Bytes per second of interface i (1-based) of device d (0-based). */
const rateOf = (d: number, i: number) => (d * IFACES + i) * 100;

/** The chart a client would draw: rows by group and step, changes applied in order. */
class Drawn {
  readonly rows = new Map<string, Row>();
  batches = 0;
  apply(ch: AggregateChanges) {
    this.batches++;
    for (const r of ch.remove) this.rows.delete(`${r.series}|${r.t}`);
    for (const r of ch.insert) if (r.v !== null) this.rows.set(`${r.series}|${r.t}`, r);
  }
  steps(group: string) {
    return [...this.rows.values()].filter((r) => r.series === group).sort((a, b) => a.t - b.t);
  }
}

/** A response body's text as it streams in (`text`), and a way to stop reading it. */
function readAll(res: Response): { text: string; stop: () => Promise<void> } {
  const reader = res.body!.getReader();
  const out = { text: '', stop: async () => (await reader.cancel(), await pump) };
  const pump = (async () => {
    for (;;) {
      const read = await reader.read();
      if (read.done) return;
      out.text += new TextDecoder().decode(read.value);
    }
  })().catch(() => undefined);
  return out;
}

describe('web: live aggregates computed in the web process', function () {
  this.timeout(90_000);
  let tdb: TestDatabase;
  let hub: LiveHub;
  const ids: number[][] = []; // per device, per interface
  let t0: number;

  /** Counters of every series at tick k (1 s apart from t0); the devices in `late` skip it (they report it with the next tick). */
  async function tick(k: number, devices = DEVICES.map((_, d) => d)) {
    const rows = devices.flatMap((d) => ids[d].map((id, i) => [id, t0 + k * 1000, rateOf(d, i + 1) * k] as const));
    await tdb.pool.query(`INSERT INTO samples (time, series_id, value) SELECT to_timestamp(t / 1000.0), s, v FROM unnest($1::bigint[], $2::float8[], $3::float8[]) AS u(s, t, v)`, [
      rows.map((r) => r[0]),
      rows.map((r) => r[1]),
      rows.map((r) => r[2]),
    ]);
    await tdb.pool.query(`SELECT pg_notify($1, $2)`, [SAMPLES_CHANNEL, rows.map((r) => r[0]).join(',')]);
  }

  before(async () => {
    tdb = await createTestDatabase('web_live_aggregates');
    for (const dev of DEVICES) {
      const [{ id: deviceId }] = await tdb.db('devices').insert({ name: dev.name, site: dev.site, protocol: 'gnmi', host: '127.0.0.1', port: 1 }).returning('id');
      const rows = await tdb
        .db('series')
        .insert(Array.from({ length: IFACES }, (_, i) => ({ device_id: deviceId, path: OCTETS(i + 1), kind: 'number' })))
        .returning('id');
      ids.push(rows.map((r: { id: number }) => Number(r.id)));
    }
    hub = new LiveHub({ pool: tdb.pool, connectionString: tdb.url });
    t0 = Math.floor(Date.now() / 1000) * 1000 - 60_000;
  });
  after(async () => {
    await hub?.close();
    await resetContext();
    await tdb?.drop();
  });

  it("a sum of rates per site: each site's exact total per step, never a step short while a device is late, and nothing but the two lines", async () => {
    const drawn = new Drawn();
    const count = new Drawn();
    const top = new Drawn();
    const subs = [
      await subscribeAggregate(hub, tdb.pool, {
        query: { path: 'interfaces: in-octets', rate: true, agg: 'sum', groupBy: 'site' },
        stepMs: 1000,
        since: t0 - 1,
        deliver: (ch) => (drawn.apply(ch), true),
      }),
      await subscribeAggregate(hub, tdb.pool, { query: { path: 'interfaces: in-octets', rate: true, agg: 'count' }, stepMs: 1000, since: t0 - 1, deliver: (ch) => (count.apply(ch), true) }),
      await subscribeAggregate(hub, tdb.pool, {
        query: { path: 'interfaces: in-octets', rate: true, agg: 'sum', groupBy: 'series', top: 2 },
        stepMs: 1000,
        since: t0 - 1,
        onlyGroups: ['la-sw3 Ethernet4', 'la-sw3 Ethernet3'],
        deliver: (ch) => (top.apply(ch), true),
      }),
    ];
    assert.deepEqual(
      subs.map((s) => [s.seriesCount, s.groups]),
      [
        [12, ['ams', 'fra']],
        [12, ['count']],
        [2, ['la-sw3 Ethernet3', 'la-sw3 Ethernet4']],
      ],
    );
    const sum = (site: string) => DEVICES.flatMap((dev, d) => (dev.site === site ? Array.from({ length: IFACES }, (_, i) => rateOf(d, i + 1)) : [])).reduce((a, b) => a + b, 0);

    for (let k = 0; k <= 3; k++) await tick(k);
    await until('steps 1-2 of both sites', () => drawn.steps('ams').length >= 2 && drawn.steps('fra').length >= 2, 30_000);
    // la-sw2 (ams) misses ticks 4 and 5 for now: ams stays at step 3 while fra goes on.
    for (const k of [4, 5]) await tick(k, [0, 2]);
    await until('fra steps 4-5', () => drawn.steps('fra').some((r) => r.t === t0 + 5000), 30_000);
    const amsBefore = drawn.steps('ams').map((r) => r.t - t0);
    assert.ok(!amsBefore.includes(4000) && !amsBefore.includes(5000), `ams drawn short while la-sw2 is late: ${amsBefore}`);
    // la-sw2 reports 4 and 5 late; then everybody 6.
    for (const k of [4, 5]) await tick(k, [1]);
    await tick(6);
    await until('ams and fra at step 6', () => drawn.steps('ams').some((r) => r.t === t0 + 6000) && drawn.steps('fra').some((r) => r.t === t0 + 6000), 30_000);

    for (const site of ['ams', 'fra']) {
      const steps = drawn.steps(site);
      assert.deepEqual(
        steps.map((r) => r.t - t0),
        [1000, 2000, 3000, 4000, 5000, 6000],
        site,
      );
      for (const r of steps) assert.equal(r.v, sum(site), `${site} at ${r.t - t0}`);
    }
    assert.deepEqual([...new Set([...drawn.rows.values()].map((r) => r.series))].sort(), ['ams', 'fra']);
    assert.ok(count.steps('count').length >= 5 && count.steps('count').every((r) => r.v === 12), JSON.stringify(count.steps('count')));
    assert.deepEqual([...new Set([...top.rows.values()].map((r) => r.series))].sort(), ['la-sw3 Ethernet3', 'la-sw3 Ethernet4']);
    assert.ok(top.steps('la-sw3 Ethernet4').every((r) => r.v === rateOf(2, 4)));
    for (const s of subs) s.stop();
  });

  it('/api/live streams a dashboard’s aggregated widgets as aggregate events', async () => {
    process.env.DATABASE_URL = tdb.url;
    process.env.SECRETS_KEY = TEST_SECRETS_KEY;
    process.env.SESSION_SECRET = 'web-live-aggregates-session-secret';
    await resetContext();
    const { loader } = await import('../../web/app/routes/api.live');
    const login = await import('../../web/app/routes/login');
    const user = await createTestUser(tdb.db, 'viewer');
    const res = (await login.action({ request: routeRequest('/login', { form: { email: user.email, password: user.password } }), params: {}, context: {} } as never)) as Response;
    const cookie = cookieFrom(res);
    const { id: userId } = await tdb.db('users').where({ email: user.email }).first('id');
    const dashboardId = await createDashboard(tdb.db, { name: 'live aggregates', timeRange: '15m', live: true }, userId);
    const widgetId = await addWidget(tdb.db, dashboardId, {
      title: 'by site',
      deviceId: null,
      path: 'interfaces: in-octets',
      aggregate: 'sum',
      groupBy: 'site',
      rate: true,
      chart: 'line',
      unit: 'bits/s',
      width: 6,
    });
    // A series-only widget on the same dashboard is not computed here (its series come by id).
    await addWidget(tdb.db, dashboardId, { title: 'one line each', deviceId: null, path: OCTETS(1), aggregate: 'none', groupBy: 'series', rate: true, chart: 'line', unit: 'bits/s', width: 6 });
    const joined = ctx().hub.size;
    const ok = (await loader({ request: routeRequest(`/api/live?dashboard=${dashboardId}&window=900000`, { cookie }), params: {}, context: {} } as never)) as Response;
    assert.equal(ok.status, 200);
    const stream = readAll(ok);
    await until('the aggregate to join the hub', () => ctx().hub.size > joined, 30_000);
    assert.equal(ctx().hub.size, joined + 1, 'one hub subscriber: the aggregated widget');
    // A tick of every series (1 s apart in data time, recent) per look, until a complete step comes back as an aggregate.
    t0 = Math.floor(Date.now() / 1000) * 1000 - 20_000;
    let k = 0;
    await until(
      'an aggregate event',
      async () => {
        if (/"aggregates"/.test(stream.text)) return true;
        await tick(k++);
        return false;
      },
      60_000,
      250,
    );
    const event = JSON.parse(/data: (\{"aggregates".*)\n/.exec(stream.text)![1]) as { aggregates: Array<{ w: number; insert: Row[] }> };
    assert.equal(event.aggregates[0].w, widgetId);
    assert.ok(
      event.aggregates[0].insert.every((r) => r.series === 'ams' || r.series === 'fra'),
      JSON.stringify(event.aggregates[0].insert),
    );
    assert.ok(!('trace' in event.aggregates[0]), 'no trace unless asked');
    await stream.stop();

    // With trace=1 (diagnosis, bench live-aggregate) each aggregate says where its time went, in order.
    const traced = (await loader({ request: routeRequest(`/api/live?dashboard=${dashboardId}&window=900000&trace=1`, { cookie }), params: {}, context: {} } as never)) as Response;
    assert.equal(traced.status, 200);
    const tracedStream = readAll(traced);
    // An aggregate brought by a shared read after a doorbell (the stream's backfill has no doorbell).
    await until(
      'a traced aggregate event from a shared read',
      async () => {
        if (/"aggregates".*"heardAt"/.test(tracedStream.text)) return true;
        await tick(k++);
        return false;
      },
      60_000,
      250,
    );
    const withTrace = JSON.parse(/data: (\{"aggregates".*"heardAt".*)\n/.exec(tracedStream.text)![1]) as { aggregates: Array<{ trace: Record<string, number> }> };
    const trace = withTrace.aggregates[0].trace;
    assert.ok(trace.points > 0 && trace.rows >= trace.points && trace.oldest <= trace.newest && trace.newest >= t0, JSON.stringify(trace));
    const order = [trace.newest, trace.heardAt, trace.readAt, trace.readDoneAt, trace.hubAt, trace.aggregatedAt, trace.sentAt, Date.now()];
    assert.ok(
      order.every((t, i) => i === 0 || order[i - 1] <= t),
      `emit ≤ doorbell ≤ read ≤ read done ≤ hub ≤ aggregated ≤ written ≤ now: ${JSON.stringify(trace)}`,
    );
    await tracedStream.stop();
  });
});
