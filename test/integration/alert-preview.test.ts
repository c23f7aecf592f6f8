/**
 * The rule editor's 24 h preview (query/alert-preview.ts) on real PostgreSQL: a day of CPU
 * samples on two devices, rolled up as the maintenance run does, then a threshold rule
 * (> 90 for 5 min, recovery 70, every minute) previewed in one fleet query — the breach
 * that lasts goes pending, fires after 5 min and, held by the recovery threshold while the
 * value sits between 70 and 90, resolves only once below 70; a 2-minute spike goes pending
 * and clears without a notification; a 30-minute hole is counted as evaluations without
 * data; the calm device never leaves inactive. The query budget: raw data over it is read
 * as 1-minute rollups instead (and the answer says so); over it even then, refused. The day read
 * in several statements answers as one statement over it (values and rates across the seams).
 */
import assert from 'node:assert/strict';
import { previewAlertRule, type PreviewableRule } from '../../query/alert-preview';
import { QueryRefusedError } from '../../query/fleet-query';
import { overBudget } from '../../web/app/lib/query-budget';
import { runMaintenance } from '../../storage/storage-mode';
import { createTestDatabase, type TestDatabase } from '../support/db';

const MIN = 60_000;
/** The preview's end: a whole minute, so steps and samples line up as written below. */
const NOW = Math.floor(Date.now() / MIN) * MIN - 2 * MIN;
const CPU = '/system/cpu/state/utilization';
/** Minutes before NOW of the step each sample falls in (sample at the step's middle). */
const BREACH = { from: 600, to: 581 }; // 20 steps at 95
const HELD = { from: 580, to: 571 }; // 10 steps at 80: above recovery, below threshold
const SPIKE = { from: 300, to: 299 }; // 2 steps at 95
const HOLE = { from: 180, to: 151 }; // 30 steps without samples

const within = (k: number, r: { from: number; to: number }) => k <= r.from && k >= r.to;
/** Evaluation time of the step starting `k` minutes before NOW (its end). */
const evalAt = (k: number) => NOW - k * MIN + MIN;

const RULE: PreviewableRule = {
  spec: { kind: 'threshold', path: CPU, rate: false, agg: 'avg', groupBy: 'device', op: '>', threshold: 90, recovery: 70, windowMs: MIN },
  forMs: 5 * MIN,
  intervalMs: MIN,
};

describe('alert rule preview over 24 h of stored samples', function () {
  this.timeout(120_000);
  let tdb: TestDatabase;

  before(async () => {
    tdb = await createTestDatabase('alert_preview');
    const rows: Array<{ s: number; t: number; v: number }> = [];
    for (const [name, value] of [
      ['pv-busy', (k: number) => (within(k, BREACH) || within(k, SPIKE) ? 95 : within(k, HELD) ? 80 : 40)],
      ['pv-calm', () => 20],
    ] as const) {
      const [dev] = await tdb.db('devices').insert({ name, protocol: 'gnmi', host: '127.0.0.1', port: 1, site: 'lab' }).returning('id');
      const [series] = await tdb.db('series').insert({ device_id: dev.id, path: CPU, kind: 'number' }).returning('id');
      for (let k = 1445; k >= 1; k--) {
        if (name === 'pv-busy' && within(k, HOLE)) continue;
        rows.push({ s: Number(series.id), t: NOW - k * MIN + 30_000, v: value(k) });
      }
    }
    await tdb.pool.query(
      `INSERT INTO samples (time, series_id, value) SELECT to_timestamp(t / 1000), s, v FROM unnest($1::float8[], $2::bigint[], $3::float8[]) AS u(t, s, v)`,
      [rows.map((r) => r.t), rows.map((r) => r.s), rows.map((r) => r.v)],
    );
    await runMaintenance(tdb.db, { retentionDays: 30, rollupRetentionDays: 400, partitionsAheadDays: 2, lateSpanPerRunMs: 48 * 3_600_000 });
  });
  after(async () => tdb?.drop());

  it('replays the rule at its interval: pending, firing after for, held by recovery, resolved; a short spike clears; the hole is no data', async () => {
    const p = await previewAlertRule(tdb.pool, RULE, { now: NOW });
    assert.equal(p.stepMs, MIN);
    assert.equal(p.coarser, undefined, 'evaluated at the rule interval');
    assert.equal(p.resolution, '1m');
    assert.equal(p.seriesCount, 2);
    assert.equal(p.steps, 1440, 'one evaluation a minute over 24 h, each at the end of its step');
    assert.equal(p.quietInstances, 1, 'pv-calm never left inactive');
    assert.deepEqual(
      p.instances.map((i) => i.key),
      ['pv-busy'],
    );
    const busy = p.instances[0];
    assert.deepEqual(
      busy.events.map((e) => [e.to, e.at, e.value]),
      [
        ['pending', evalAt(BREACH.from), 95],
        ['firing', evalAt(BREACH.from - 5), 95],
        ['resolved', evalAt(HELD.to - 1), 40],
        ['pending', evalAt(SPIKE.from), 95],
        ['cleared', evalAt(SPIKE.to - 1), 40],
      ],
    );
    assert.equal(busy.notifications, 2);
    assert.equal(p.notifications, 2);
    assert.equal(busy.noDataSteps, HOLE.from - HOLE.to + 1, 'each step of the hole is an evaluation without data');
    assert.equal(busy.state, 'inactive', 'the spike cleared last');
    // The day is read in statements of PREVIEW_CHUNK_STEPS steps: the same answer as one statement over it.
    const whole = await previewAlertRule(tdb.pool, RULE, { now: NOW, chunkSteps: Number.POSITIVE_INFINITY });
    assert.deepEqual(p, whole);
    const rate = { ...RULE, spec: { ...RULE.spec, rate: true, agg: 'max' as const, threshold: 0, recovery: undefined } };
    assert.deepEqual(await previewAlertRule(tdb.pool, rate, { now: NOW, chunkSteps: 100 }), await previewAlertRule(tdb.pool, rate, { now: NOW, chunkSteps: Number.POSITIVE_INFINITY }), 'rates across part boundaries too');
  });

  it('reads 1-minute rollups when raw data at the interval would pass the query budget, and says so; refuses past it even then', async () => {
    const fast: PreviewableRule = { ...RULE, intervalMs: 10_000 };
    const budget = (max: number) => (c: { seriesCount: number; from: number; to: number; widthPx: number }) => overBudget(c.seriesCount, c.from, c.to, c.widthPx, max);
    const unbounded = await previewAlertRule(tdb.pool, fast, { now: NOW });
    assert.equal(unbounded.stepMs, 30_000, '8,640 evaluations are more than the replay takes: 30 s steps');
    assert.match(unbounded.coarser ?? '', /8,640 evaluations would be too many to replay/);

    const p = await previewAlertRule(tdb.pool, fast, { now: NOW, budget: budget(100_000) });
    assert.equal(p.stepMs, MIN);
    assert.equal(p.resolution, '1m');
    assert.match(p.coarser ?? '', /query budget, so 1-minute rollups were read/);
    assert.deepEqual(
      p.instances[0].events.map((e) => e.to),
      ['pending', 'firing', 'resolved', 'pending', 'cleared'],
    );

    await assert.rejects(previewAlertRule(tdb.pool, fast, { now: NOW, budget: budget(1_000) }), (err: Error) => {
      assert.ok(err instanceof QueryRefusedError);
      assert.match(err.message, /would scan about 2,880 points of 1-minute rollups .* the limit is 1,000/);
      return true;
    });
  });
});
