/**
 * A benchmark run made in parts (`BENCH_RESUME`, bench/run.ts): the units earlier runs hold are taken from their JSON
 * with their table rows instead of run again, units of scenarios this run does not name are carried over as they are,
 * and what a full run would still lack is listed. A unit is one scenario in one storage mode (`query/native`), for
 * `scale` and `failover` with several Temporals also one Temporal (`scale/native/server`), for `pipeline` one run
 * (`pipeline/timescaledb, 2 collectors`).
 */
import fs from 'node:fs';
import path from 'node:path';
import { regexEscape } from '../../query/path-pattern';
import type { MachineProbe } from './machine-probe';

export type Row = { scenario: string; metric: string; value: number; target?: number; better: 'higher' | 'lower'; unit: string };
/** Which run made a unit, at which commit, how fast the machine was just before (`probe`), and the file it was taken from when it was. */
export type UnitOrigin = { startedAt: string; commit?: string; resumedFrom?: string; probe?: MachineProbe };
export type RunFile = Record<string, unknown> & { startedAt: string; commit?: string; table?: Row[]; units?: Record<string, UnitOrigin> };

/** Scenarios run only when named (`npm run bench -- rolling`): not part of a full run, so a resumed run never waits for them. */
export const ON_DEMAND_SCENARIOS = ['rolling'];
/** Every scenario of `npm run bench`, in the order a run makes them. */
export const ALL_SCENARIOS = ['pipeline', 'telegraf', 'live', 'scale', 'failover', 'lease', 'query', 'live-aggregate', 'fleet-query', 'alert-rules', 'fleet-ui', 'bulk-pause'];
/** The results key of a scenario name that is not its own. */
const RESULTS_KEY: Record<string, string> = { 'live-aggregate': 'liveAggregate', 'fleet-query': 'fleetQuery', 'fleet-ui': 'fleetUi', 'bulk-pause': 'bulkPause', 'alert-rules': 'alertRules' };
export const resultsKey = (scenario: string) => RESULTS_KEY[scenario] ?? scenario;
/** The table-row scenario names a results key writes (`<name> (<label>)`; scale's may say `N collectors, ` before the label). */
const ROW_NAMES: Record<string, string[]> = {
  pipeline: ['ceiling', 'capacity'],
  liveAggregate: ['live-aggregate'],
  fleetQuery: ['fleet-query'],
  fleetUi: ['fleet-ui'],
  bulkPause: ['bulk-pause'],
  alertRules: ['alert-rules'],
};

/** `rows` in the order a run makes its scenarios (stable: each scenario's rows as they were), however they were taken or carried. */
export function inRunOrder(rows: Row[]): Row[] {
  const rank = (row: Row) => {
    const name = row.scenario.split(' (')[0];
    const i = ALL_SCENARIOS.indexOf(name === 'ceiling' || name === 'capacity' ? 'pipeline' : name);
    return i < 0 ? ALL_SCENARIOS.length : i;
  };
  return rows
    .map((row, i) => ({ row, i, rank: rank(row) }))
    .sort((a, b) => a.rank - b.rank || a.i - b.i)
    .map((r) => r.row);
}

/** The rows' label of a unit below its results key: the pipeline run's label, the storage mode, or the mode with its Temporal. */
export const unitLabel = (key: string, where: string[]) => (key === 'pipeline' || where.length === 1 ? where[0] : `${where[0]}, Temporal ${where[1]}`);

/** The value at a unit's place in a run's results (`scale/native/server` → results.scale.native.server). */
function at(results: Record<string, unknown>, unit: string[]): unknown {
  let r: unknown = results;
  for (const p of unit) r = r && typeof r === 'object' ? (r as Record<string, unknown>)[p] : undefined;
  return r;
}
const held = (r: unknown) => !!r && typeof r === 'object' && !('error' in r);

export class ResumedRuns {
  /**
   * `files` in order of preference (BENCH_RESUME, comma separated); this run's `rows` and `units`, which the units
   * taken are added to; `log` says what was taken.
   */
  constructor(
    readonly runs: Array<{ file: string; data: RunFile }>,
    private readonly rows: Row[],
    private readonly units: Record<string, UnitOrigin>,
    private readonly log: (line: string) => void = (line) => process.stderr.write(line),
  ) {}

  /** The runs' JSON files, each checked to be a bench run's results. */
  static read(files: string[]): Array<{ file: string; data: RunFile }> {
    return files.map((file) => {
      const data = JSON.parse(fs.readFileSync(file, 'utf8')) as RunFile;
      if (!Array.isArray(data.table)) throw new Error(`BENCH_RESUME: ${file} is not a bench run's results (no table)`);
      return { file, data };
    });
  }

  /**
   * Unit `key`/`where` from the first run holding it without an error, with its rows (those whose scenario is one of
   * the key's names with `label`), or undefined to run it.
   */
  take(key: string, where: string[], label: string): unknown {
    const unit = [key, ...where].join('/');
    for (const { file, data } of this.runs) {
      const r = at(data, [key, ...where]);
      if (!held(r)) continue;
      const names = (ROW_NAMES[key] ?? [key]).map(regexEscape).join('|');
      const mine = new RegExp(`^(${names}) \\((\\d+ collectors, )?${regexEscape(label)}\\)$`);
      this.rows.push(...data.table!.filter((row) => mine.test(row.scenario)));
      this.units[unit] = data.units?.[unit] ?? { startedAt: data.startedAt, commit: data.commit, resumedFrom: path.basename(file) };
      this.log(`\n▶ ${unit}: taken from ${path.basename(file)} (run ${this.units[unit].startedAt}), not run again\n`);
      return r;
    }
    return undefined;
  }

  /**
   * The runs' units of `key` this run has not taken or made (a scenario not named on the command line, a storage mode or
   * Temporal not in this run's settings): carried into `results[key]` at their place, with their rows. Never over a
   * result this run holds there (an older part keyed by storage mode alone, against this run keyed by mode and Temporal).
   */
  carry(key: string, results: Record<string, unknown>): void {
    for (const { data } of this.runs)
      for (const unit of Object.keys(data.units ?? {})) {
        const [k, ...where] = unit.split('/');
        if (k !== key || this.units[unit] || !where.length) continue;
        let place = (results[key] ??= {}) as Record<string, unknown>;
        for (const p of where.slice(0, -1)) place = (place[p] ??= {}) as Record<string, unknown>;
        if (place[where.at(-1)!] !== undefined) continue;
        const r = this.take(key, where, unitLabel(key, where));
        if (r !== undefined) place[where.at(-1)!] = r;
      }
  }
}

/**
 * The units a full run with these settings makes: every pipeline run (each storage mode, and with two collectors in
 * `twoCollectors`), every other scenario in each storage mode, scale and failover also per Temporal (keyed by it unless
 * only the dev server runs).
 */
export function expectedUnits(storages: string[], twoCollectors: string[], temporals: string[]): string[] {
  const expected = [...storages.map((s) => `pipeline/${s}`), ...twoCollectors.map((s) => `pipeline/${s}, 2 collectors`)];
  for (const name of ALL_SCENARIOS.filter((n) => n !== 'pipeline')) {
    const key = resultsKey(name);
    for (const s of storages) {
      if (name !== 'scale' && name !== 'failover') expected.push(`${key}/${s}`);
      else for (const t of temporals) expected.push(temporals.length === 1 && t === 'dev' ? `${key}/${s}` : `${key}/${s}/${t}`);
    }
  }
  return expected;
}

/** Those of `expected` that `results` lacks, or holds only as an error: what a resumed run still has to run. */
export function missingUnits(expected: string[], results: Record<string, unknown>, units: Record<string, UnitOrigin>): string[] {
  return expected.filter((u) => !units[u] || !held(at(results, u.split('/'))));
}
