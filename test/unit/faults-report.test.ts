/** The fault matrix writes its results into docs/reliability.md: the file and its markers must be where the writer looks. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPORT_FILE, writeReliabilityReport } from '../../testkit/faults-report';

describe('fault matrix report', () => {
  it('targets the repository’s docs/reliability.md, which holds the results markers', () => {
    assert.equal(REPORT_FILE, path.resolve(import.meta.dirname, '..', '..', 'docs', 'reliability.md'));
    const doc = fs.readFileSync(REPORT_FILE, 'utf8');
    assert.ok(doc.includes('<!-- fault-results:start -->') && doc.includes('<!-- fault-results:end -->'));
  });

  it('replaces the row of a case that ran and keeps the others', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faults-report-'));
    try {
      const report = path.join(dir, 'r.md');
      fs.writeFileSync(report, 'x\n<!-- fault-results:start -->\n| case | a | b | c | d |\n|---|---|---|---|---|\n| old | k | **pass** | 1 | t0 |\n| ran | k | **pass** | 1 | t0 |\n<!-- fault-results:end -->\ny\n');
      const results = path.join(dir, 'r.jsonl');
      fs.writeFileSync(results, JSON.stringify({ name: 'ran', checks: 'k', result: 'fail', numbers: '2', at: 't1' }) + '\n');
      assert.equal(writeReliabilityReport(results, report), report);
      const rows = fs.readFileSync(report, 'utf8').split('\n').filter((l) => l.startsWith('| old') || l.startsWith('| ran'));
      assert.deepEqual(rows, ['| old | k | **pass** | 1 | t0 |', '| ran | k | **FAIL** | 2 | t1 |']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
