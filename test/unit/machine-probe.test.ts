/**
 * The benchmark's machine probe (bench/lib/machine-probe.ts): a fixed amount of work timed before each unit, kept with the
 * unit and carried with it when a later run takes the unit from an earlier run's file.
 */
import assert from 'node:assert/strict';
import { describeProbe, probeMachine, type MachineProbe } from '../../bench/lib/machine-probe';
import { ResumedRuns, type Row, type UnitOrigin } from '../../bench/lib/resume';

describe('bench: the machine probe', () => {
  it('reports the median round between the fastest and the slowest, in tenths of a millisecond, with the load average', () => {
    const p = probeMachine(3);
    assert.ok(p.workMs > 0, `work took ${p.workMs} ms`);
    assert.ok(p.minMs <= p.workMs && p.workMs <= p.maxMs, `${p.minMs} ≤ ${p.workMs} ≤ ${p.maxMs}`);
    for (const v of [p.workMs, p.minMs, p.maxMs, p.loadAverage1m]) assert.equal(Math.round(v * 10) / 10, v);
    assert.match(describeProbe(p), new RegExp(`^machine probe: ${p.workMs} ms per round of fixed work \\(${p.minMs}–${p.maxMs}; load average ${p.loadAverage1m}; lower is faster\\)$`));
  });

  it('refuses a number of rounds that is not a positive integer', () => {
    for (const rounds of [0, -1, 1.5, Number.NaN]) assert.throws(() => probeMachine(rounds), /machine probe: rounds must be a positive integer/);
  });

  it('stays with its unit when a later run takes the unit from the earlier run', () => {
    const probe: MachineProbe = { workMs: 61.2, minMs: 58, maxMs: 70.4, loadAverage1m: 1.3 };
    const rows: Row[] = [];
    const units: Record<string, UnitOrigin> = {};
    const earlier = {
      startedAt: 'earlier',
      query: { native: { p95: 80 } },
      table: [{ scenario: 'query (native)', metric: 'p95', value: 80, better: 'lower' as const, unit: 'ms' }],
      units: { 'query/native': { startedAt: 'earlier', commit: 'abc', probe } },
    };
    const resumed = new ResumedRuns([{ file: '/r/earlier.json', data: earlier }], rows, units, () => undefined);
    assert.deepEqual(resumed.take('query', ['native'], 'native'), { p95: 80 });
    assert.deepEqual(units['query/native'], { startedAt: 'earlier', commit: 'abc', probe });
  });
});
