/**
 * A benchmark run in parts (bench/lib/resume.ts, BENCH_RESUME): which earlier run a unit is taken from, with exactly its
 * rows; units of scenarios not run carried over without replacing this run's own; what a full run still lacks.
 */
import assert from 'node:assert/strict';
import { ON_DEMAND_SCENARIOS, ResumedRuns, expectedUnits, inRunOrder, missingUnits, type Row, type RunFile, type UnitOrigin } from '../../bench/lib/resume';

const row = (scenario: string, metric = 'm', value = 1): Row => ({ scenario, metric, value, better: 'lower', unit: 'ms' });

/** An earlier run's file: results by key, its rows, and optionally its units. */
function run(startedAt: string, results: Record<string, unknown>, table: Row[], units?: Record<string, UnitOrigin>): RunFile {
  return { startedAt, commit: `c-${startedAt}`, ...results, table, units };
}

function resumedFrom(...files: Array<[string, RunFile]>) {
  const rows: Row[] = [];
  const units: Record<string, UnitOrigin> = {};
  const logged: string[] = [];
  const resumed = new ResumedRuns(
    files.map(([file, data]) => ({ file, data })),
    rows,
    units,
    (line) => logged.push(line),
  );
  return { resumed, rows, units, logged };
}

describe('bench: a run in parts (BENCH_RESUME)', () => {
  const morning = run(
    'morning',
    {
      pipeline: { timescaledb: { held: 1 }, 'timescaledb, 2 collectors': { held: 2 }, native: { error: 'boom' } },
      query: { native: { p95: 80 } },
      scale: { native: { dev: { streaming: 5000 } } },
    },
    [
      row('ceiling (timescaledb)'),
      row('capacity (timescaledb)'),
      row('capacity (timescaledb, 2 collectors)'),
      row('query (native)'),
      row('scale (2 collectors, native, Temporal dev)'),
      row('query (timescaledb)', 'a row of a unit this file does not hold'),
    ],
    {
      'pipeline/timescaledb': { startedAt: 'earlier', commit: 'abc' },
      'pipeline/timescaledb, 2 collectors': { startedAt: 'morning' },
      'pipeline/native': { startedAt: 'morning' },
      'query/native': { startedAt: 'morning' },
      'scale/native/dev': { startedAt: 'morning' },
    },
  );
  const evening = run('evening', { pipeline: { native: { held: 3 } }, query: { native: { p95: 70 } } }, [row('ceiling (native)'), row('capacity (native)'), row('query (native)', 'm', 70)]);

  it('takes a unit from the first file holding it without an error, with exactly its rows and where it came from', () => {
    const { resumed, rows, units, logged } = resumedFrom(['/r/morning.json', morning], ['/r/evening.json', evening]);
    assert.deepEqual(resumed.take('pipeline', ['timescaledb'], 'timescaledb'), { held: 1 });
    assert.deepEqual(
      rows.map((r) => r.scenario),
      ['ceiling (timescaledb)', 'capacity (timescaledb)'],
    );
    // The origin the file recorded for it (it was itself taken from an earlier run).
    assert.deepEqual(units['pipeline/timescaledb'], { startedAt: 'earlier', commit: 'abc' });
    // The morning's native pipeline failed: the evening's is taken, with the evening's origin (that file names no units).
    assert.deepEqual(resumed.take('pipeline', ['native'], 'native'), { held: 3 });
    assert.deepEqual(units['pipeline/native'], { startedAt: 'evening', commit: 'c-evening', resumedFrom: 'evening.json' });
    assert.deepEqual(
      rows.slice(2).map((r) => r.scenario),
      ['ceiling (native)', 'capacity (native)'],
    );
    // Scale's rows carry the collectors before the label.
    assert.deepEqual(resumed.take('scale', ['native', 'dev'], 'native, Temporal dev'), { streaming: 5000 });
    assert.equal(rows.at(-1)!.scenario, 'scale (2 collectors, native, Temporal dev)');
    // Held nowhere: to be run.
    assert.equal(resumed.take('query', ['timescaledb'], 'timescaledb'), undefined);
    assert.equal(units['query/timescaledb'], undefined);
    assert.equal(logged.length, 3);
    assert.match(logged[1], /pipeline\/native: taken from evening\.json \(run evening\)/);
  });

  it("carries the units of a scenario not run, from the first file holding each, without replacing this run's own", () => {
    const { resumed, rows, units } = resumedFrom(['/r/morning.json', morning], ['/r/evening.json', evening]);
    const results: Record<string, unknown> = { pipeline: { 'timescaledb, 2 collectors': { held: 'this run' } } };
    units['pipeline/timescaledb, 2 collectors'] = { startedAt: 'now' };
    resumed.carry('pipeline', results);
    assert.deepEqual(results.pipeline, { 'timescaledb, 2 collectors': { held: 'this run' }, timescaledb: { held: 1 }, native: { held: 3 } });
    assert.deepEqual(
      rows.map((r) => r.scenario),
      ['ceiling (timescaledb)', 'capacity (timescaledb)', 'ceiling (native)', 'capacity (native)'],
    );
    assert.deepEqual(units['pipeline/timescaledb, 2 collectors'], { startedAt: 'now' });
    // The morning's query is preferred over the evening's; nested units keep their place.
    resumed.carry('query', results);
    resumed.carry('scale', results);
    assert.deepEqual(results.query, { native: { p95: 80 } });
    assert.deepEqual(results.scale, { native: { dev: { streaming: 5000 } } });
    assert.equal(rows.filter((r) => r.scenario === 'query (native)').length, 1);
    assert.equal(rows.find((r) => r.scenario === 'query (native)')!.value, 1);
  });

  it('a carried unit never replaces a result this run holds at its place', () => {
    // An older part keyed by storage mode alone (dev server only), this run keyed by mode and Temporal.
    const older = run('older', { scale: { native: { streaming: 4000 } } }, [row('scale (2 collectors, native)')], { 'scale/native': { startedAt: 'older' } });
    const { resumed, rows } = resumedFrom(['/r/older.json', older]);
    const results: Record<string, unknown> = { scale: { native: { dev: { streaming: 5000 } } } };
    resumed.carry('scale', results);
    assert.deepEqual(results.scale, { native: { dev: { streaming: 5000 } } });
    assert.deepEqual(rows, []);
  });

  it("orders rows as a run makes its scenarios, each scenario's rows as they were", () => {
    const carriedFirst = [
      row('lease (native)', 'a'),
      row('lease (native)', 'b'),
      row('scale (2 collectors, native, Temporal dev)'),
      row('capacity (native)'),
      row('ceiling (native)'),
      row('fleet-query (native)'),
      row('telegraf (native)'),
      row('something else (native)'),
    ];
    assert.deepEqual(
      inRunOrder(carriedFirst).map((r) => `${r.scenario} ${r.metric}`),
      [
        'capacity (native) m',
        'ceiling (native) m',
        'telegraf (native) m',
        'scale (2 collectors, native, Temporal dev) m',
        'lease (native) a',
        'lease (native) b',
        'fleet-query (native) m',
        'something else (native) m',
      ],
    );
  });

  it('lists the units a full run with the same settings would have and this one lacks or holds only as an error', () => {
    const devOnly = expectedUnits(['timescaledb', 'native'], ['timescaledb'], ['dev']);
    assert.equal(devOnly.length, 3 + 11 * 2);
    assert.ok(devOnly.includes('pipeline/timescaledb, 2 collectors'));
    assert.ok(devOnly.includes('scale/native') && devOnly.includes('fleetUi/timescaledb') && devOnly.includes('bulkPause/native'));
    // Scenarios run only when named (the rolling restart) are never a unit a full run lacks.
    assert.ok(ON_DEMAND_SCENARIOS.includes('rolling'));
    assert.ok(!devOnly.some((u) => ON_DEMAND_SCENARIOS.some((name) => u.startsWith(`${name}/`))));
    const both = expectedUnits(['native'], [], ['dev', 'server']);
    assert.deepEqual(
      both.filter((u) => /^(scale|failover)\//.test(u)),
      ['scale/native/dev', 'scale/native/server', 'failover/native/dev', 'failover/native/server'],
    );
    const results = { pipeline: { native: { held: 1 } }, query: { native: { error: 'boom' } }, scale: { native: { dev: { streaming: 5000 } } } };
    const units = { 'pipeline/native': { startedAt: 'x' }, 'query/native': { startedAt: 'x' }, 'scale/native/dev': { startedAt: 'x' } };
    const missing = missingUnits(both, results, units);
    assert.ok(!missing.includes('pipeline/native'));
    assert.ok(missing.includes('query/native'), 'a unit that failed is still missing');
    assert.ok(!missing.includes('scale/native/dev'));
    assert.ok(missing.includes('scale/native/server'));
    assert.equal(missing.length, both.length - 2);
  });
});
