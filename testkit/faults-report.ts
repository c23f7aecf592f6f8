/**
 * Per-case results of the fault matrix: each case appends one JSON line to
 * $FAULT_RESULTS_FILE (set by scripts/faults.ts); at the end the runner merges
 * them into the results table of docs/reliability.md, between markers, keeping
 * the rows of cases that did not run this time.
 */
import fs from 'node:fs';
import path from 'node:path';

/** One case's outcome. */
export interface FaultResult {
  /** Stable case name (the table key). */
  name: string;
  /** What is checked. */
  checks: string;
  result: 'pass' | 'fail';
  /** Measured numbers, one line. */
  numbers: string;
}

const ROOT = path.resolve(import.meta.dirname, '..');
export const REPORT_FILE = path.join(ROOT, 'docs', 'reliability.md');
const START = '<!-- fault-results:start -->';
const END = '<!-- fault-results:end -->';

/** Record a case's result (a no-op outside `npm run faults`). */
export function recordFaultResult(r: FaultResult): void {
  const file = process.env.FAULT_RESULTS_FILE;
  if (!file) return;
  fs.appendFileSync(file, JSON.stringify({ ...r, at: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC' }) + '\n');
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** Merge the recorded results into docs/reliability.md; returns the file written, or undefined. */
export function writeReliabilityReport(resultsFile: string, reportFile = REPORT_FILE): string | undefined {
  if (!fs.existsSync(reportFile)) return undefined;
  const doc = fs.readFileSync(reportFile, 'utf8');
  const s = doc.indexOf(START);
  const e = doc.indexOf(END);
  if (s < 0 || e < s) return undefined;
  const rows = new Map<string, string>();
  for (const line of doc.slice(s + START.length, e).split('\n')) {
    const m = /^\| ([^|]+?) \|/.exec(line);
    if (m && m[1] !== 'case' && !/^-+$/.test(m[1])) rows.set(m[1], line);
  }
  for (const line of fs.readFileSync(resultsFile, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const r = JSON.parse(line) as FaultResult & { at: string };
    rows.set(cell(r.name), `| ${cell(r.name)} | ${cell(r.checks)} | ${r.result === 'pass' ? '**pass**' : '**FAIL**'} | ${cell(r.numbers)} | ${r.at} |`);
  }
  const table = ['| case | what is checked | result | numbers | run |', '|---|---|---|---|---|', ...rows.values()].join('\n');
  fs.writeFileSync(reportFile, `${doc.slice(0, s + START.length)}\n${table}\n${doc.slice(e)}`);
  return reportFile;
}

/**
 * Run one fault case: `body` adds measured numbers with `note`; the outcome is
 * recorded (pass, or fail with the numbers so far and the error's first line)
 * and printed under the test name.
 */
export async function faultCase(name: string, checks: string, body: (note: (text: string) => void) => Promise<void>): Promise<void> {
  const notes: string[] = [];
  const note = (text: string) => {
    notes.push(text);
    console.log(`      ${text}`);
  };
  try {
    await body(note);
    recordFaultResult({ name, checks, result: 'pass', numbers: notes.join('; ') });
  } catch (err) {
    const first = ((err as Error).message ?? String(err)).split('\n')[0].slice(0, 300);
    recordFaultResult({ name, checks, result: 'fail', numbers: [...notes, `error: ${first}`].join('; ') });
    throw err;
  }
}

/** Run a suite's set-up; when it fails, every case it serves is recorded as failed (not silently left out). */
export async function faultSetup<T>(cases: Array<{ name: string; checks: string }>, setup: () => Promise<T>): Promise<T> {
  try {
    return await setup();
  } catch (err) {
    const first = ((err as Error).message ?? String(err)).split('\n')[0].slice(0, 300);
    for (const c of cases) recordFaultResult({ ...c, result: 'fail', numbers: `set-up failed: ${first}` });
    throw err;
  }
}
