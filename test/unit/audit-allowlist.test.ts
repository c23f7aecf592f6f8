/**
 * The npm audit check of `npm test` (scripts/audit.ts): advisories against
 * production dependencies fail it unless allowlisted with a reason; a registry
 * without an advisory service makes it 'skipped', any other failure to run fails it.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { ALLOWLIST_FILE, AuditUnavailableError, findings, judge } from '../../scripts/audit';

// The shape npm 10/11 prints for `npm audit --json` (auditReportVersion 2).
const report = {
  auditReportVersion: 2,
  vulnerabilities: {
    'left-pad': {
      name: 'left-pad',
      severity: 'high',
      via: [{ source: 1001, name: 'left-pad', title: 'Prototype pollution', url: 'https://github.com/advisories/GHSA-aaaa-bbbb-cccc', severity: 'high' }],
      fixAvailable: false,
    },
    wrapper: { name: 'wrapper', severity: 'high', via: ['left-pad'], fixAvailable: false },
    'old-lib': {
      name: 'old-lib',
      severity: 'moderate',
      via: [{ source: 1002, name: 'old-lib', title: 'ReDoS', url: 'https://github.com/advisories/GHSA-dddd-eeee-ffff', severity: 'moderate' }],
      fixAvailable: { name: 'old-lib', version: '2.0.0' },
    },
  },
};

describe('npm audit check', () => {
  it('reads each advisory once, by GHSA id, not the packages that only pull it in', () => {
    const f = findings(report);
    assert.deepEqual(
      f.map((x) => [x.package, x.advisory, x.fixAvailable]),
      [
        ['left-pad', 'GHSA-aaaa-bbbb-cccc', false],
        ['old-lib', 'GHSA-dddd-eeee-ffff', true],
      ],
    );
  });

  it('fails on advisories not allowlisted, and on allowlist entries without a reason; reports stale entries', () => {
    const f = findings(report);
    const none = judge(f, []);
    assert.equal(none.problems.length, 2);
    assert.match(none.problems[0], /left-pad: GHSA-aaaa-bbbb-cccc \(high\).*no fix yet/);
    assert.match(none.problems[1], /old-lib.*a fix is available/);
    const allowed = judge(f, [
      { package: 'left-pad', advisory: 'GHSA-aaaa-bbbb-cccc', reason: 'only called with constant strings; no fixed release' },
      { package: 'old-lib', advisory: 'GHSA-dddd-eeee-ffff', reason: '' },
      { package: 'gone', advisory: 'GHSA-zzzz-zzzz-zzzz', reason: 'was reported by an older release of gone' },
    ]);
    assert.deepEqual(allowed.problems.length, 2, allowed.problems.join('\n'));
    assert.match(allowed.problems.join('\n'), /old-lib GHSA-dddd-eeee-ffff needs a reason/);
    assert.deepEqual(allowed.stale.map((s) => s.package), ['gone']);
  });

  it('a registry that refuses the audit request is reported as unavailable (skipped, never passed)', () => {
    assert.throws(
      () => findings({ message: '405 Method Not Allowed - POST https://registry.npmjs.org/-/npm/v1/security/advisories/bulk', statusCode: 405 }),
      (err: unknown) => err instanceof AuditUnavailableError && /refused the audit request: 405/.test(err.message),
    );
  });

  it('any other output without a vulnerabilities section is a failure', () => {
    assert.throws(
      () => findings({ error: { code: 'ENOLOCK', summary: 'This command requires an existing lockfile.' } }),
      (err: unknown) => !(err instanceof AuditUnavailableError) && /npm audit did not run: ENOLOCK/.test((err as Error).message),
    );
  });

  it('the repository’s allowlist gives a reason for every entry', () => {
    const list = JSON.parse(fs.readFileSync(ALLOWLIST_FILE, 'utf8')) as { advisories: Parameters<typeof judge>[1] };
    assert.deepEqual(judge([], list.advisories).problems, []);
  });
});
