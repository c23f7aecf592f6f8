/**
 * Alert evaluation shared per step (ADR 190) against real PostgreSQL: many threshold rules
 * asking the same few questions with their own thresholds, evaluated at once at the same
 * step through the real activity, issue the fleet statements of one evaluation per question;
 * each rule still gets its own comparison; at most ALERT_EVAL_CONCURRENCY statements run at
 * once; another step asks again; an evaluation without a step shares nothing.
 */
import assert from 'node:assert/strict';
import type { Client } from '@temporalio/client';
import { createAlertActivities } from '../../activities/alerts';
import type { AlertRuleDefinition, AlertSpec } from '../../core/alert-rules';
import type { Queryable } from '../../query/router';
import { parseKeyring } from '../../storage/secrets';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { TEST_SECRETS_KEY } from '../support/system';

const PATH = '/interfaces/interface[name=*]/state/counters/in-octets';

/** A pool that counts the statements it runs and the most it ran at once. */
function countingPool(pool: Queryable) {
  const c = { statements: 0, running: 0, maxRunning: 0 };
  const counted: Queryable = {
    async query<R>(text: string, values?: unknown[]) {
      c.statements++;
      c.running++;
      c.maxRunning = Math.max(c.maxRunning, c.running);
      try {
        return await pool.query<R>(text, values);
      } finally {
        c.running--;
      }
    },
  };
  return { counts: c, pool: counted };
}

describe('alert evaluation shared per step', function () {
  this.timeout(120_000);
  let tdb: TestDatabase;

  before(async function () {
    this.timeout(60_000);
    tdb = await createTestDatabase('alert_shared');
    // 6 devices in 3 sites, 4 interfaces each; in-octets of series s grows by 100 × s octets a second over the last 5 minutes.
    await tdb.db.raw(`INSERT INTO devices (name, protocol, host, port, site, enabled)
                      SELECT 'leaf-' || g, 'gnmi', '127.0.0.1', 1, 'site-' || (g % 3), false FROM generate_series(1, 6) g`);
    await tdb.db.raw(`INSERT INTO series (device_id, path, kind)
                      SELECT d.id, '/interfaces/interface[name=Ethernet' || i || ']/state/counters/in-octets', 'number'
                        FROM devices d CROSS JOIN generate_series(1, 4) i`);
    await tdb.db.raw(`INSERT INTO samples (time, series_id, value)
                      SELECT now() - make_interval(secs => t * 5), s.id, (300 - t * 5) * 100.0 * s.id
                        FROM series s CROSS JOIN generate_series(0, 60) t`);
  });

  after(async () => {
    await tdb?.drop();
  });

  const rule = (id: number, spec: AlertSpec): AlertRuleDefinition => ({
    id, name: `r${id}`, spec, severity: 'warning', forMs: 0, intervalMs: 60_000, labels: {}, contactPointId: null, enabled: true, version: 1,
  });
  const questions: Array<(threshold: number) => AlertSpec> = [
    (t) => ({ kind: 'threshold', path: PATH, rate: true, agg: 'max', groupBy: 'site', op: '>', threshold: t, windowMs: 60_000 }),
    (t) => ({ kind: 'threshold', path: PATH, rate: true, agg: 'sum', groupBy: 'interface[name]', op: '>', threshold: t, windowMs: 60_000 }),
    (t) => ({ kind: 'threshold', path: PATH, rate: true, agg: 'avg', op: '>', threshold: t, windowMs: 60_000 }),
  ];
  const thresholds = [0, 500, 1000, 1500, 2000, 2500, 3000, 4000, 6000, 1e9];

  it('rules sharing a question at a step run its fleet query once, each with its own comparison, within the concurrency bound', async () => {
    const { counts, pool } = countingPool(tdb.pool);
    const acts = createAlertActivities({ db: tdb.db, pool, ring: parseKeyring(TEST_SECRETS_KEY), client: {} as Client, evalConcurrency: 2 });
    const now = Date.now();
    // What one evaluation of each question issues (after a first that also matches the series), unshared.
    await Promise.all(questions.map((q, i) => acts.evaluateAlertRule(rule(i, q(0)))));
    const before = counts.statements;
    for (const [i, q] of questions.entries()) await acts.evaluateAlertRule(rule(i, q(0)), { at: now - 1 });
    const perStep = counts.statements - before;
    assert.ok(perStep >= questions.length, `each question runs at least one statement (${perStep})`);

    // 30 rules (3 questions × 10 thresholds) at once, at one step.
    counts.maxRunning = 0;
    const rules = questions.flatMap((q, qi) => thresholds.map((t, ti) => rule(100 + qi * 100 + ti, q(t))));
    const start = counts.statements;
    const evaluations = await Promise.all(rules.map((r) => acts.evaluateAlertRule(r, { at: now })));
    assert.equal(counts.statements - start, perStep, 'the statements of one evaluation per question');
    assert.ok(counts.maxRunning <= 2, `at most 2 statements at once (${counts.maxRunning})`);

    for (const [qi] of questions.entries()) {
      const mine = evaluations.slice(qi * thresholds.length, (qi + 1) * thresholds.length);
      const values = mine[0].observations.map((o) => [o.key, o.value]);
      assert.ok(values.length > 0 && values.every(([, v]) => typeof v === 'number' && v > 0), `question ${qi} has values: ${JSON.stringify(values)}`);
      for (const [ti, ev] of mine.entries()) {
        assert.deepEqual(ev.observations.map((o) => [o.key, o.value]), values, 'the same answer for every rule of the question');
        for (const o of ev.observations) assert.equal(o.active, (o.value as number) > thresholds[ti], `${o.key} = ${o.value} against ${thresholds[ti]}`);
      }
      const actives = mine.map((ev) => ev.observations.filter((o) => o.active).length);
      assert.ok(actives[0] > 0 && actives[actives.length - 1] === 0, `the lowest threshold fires, the highest does not (${actives})`);
    }

    // The next step asks again; an evaluation without a step shares nothing.
    const again = counts.statements;
    await Promise.all(rules.slice(0, thresholds.length).map((r) => acts.evaluateAlertRule(r, { at: now + 60_000 })));
    assert.ok(counts.statements > again, 'another step runs the query again');
    const unshared = counts.statements;
    await Promise.all(rules.slice(0, 3).map((r) => acts.evaluateAlertRule(r)));
    assert.ok(counts.statements - unshared >= 3, 'three evaluations without a step run three queries');
    assert.ok(counts.maxRunning <= 2, `at most 2 statements at once (${counts.maxRunning})`);
  });
});
