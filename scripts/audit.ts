/**
 * `node --import tsx scripts/audit.ts` (also a check of the full `npm test`, counted like a test):
 * `npm audit --omit=dev`, where every advisory against a production dependency
 * fails the check unless `audit-allowlist.json` lists it with a reason (for
 * advisories that have no fix yet, or do not apply to how the package is used).
 * When the registry offers no advisory service (it answers the bulk-advisory
 * request with an HTTP error, as the registry mirror of the project's build
 * machines does with 405), the check throws AuditUnavailableError: the test
 * command reports it as skipped, with the registry's answer, never as passed.
 * Any other failure to run fails the check.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');
/** The allowlist the check reads. */
export const ALLOWLIST_FILE = path.join(ROOT, 'audit-allowlist.json');

/** One accepted advisory: package, advisory id (GHSA-…), why it is accepted, and when to look again. */
export interface AllowedAdvisory {
  package: string;
  advisory: string;
  reason: string;
  reviewBy?: string;
}

/** One advisory npm audit reported against a production dependency. */
export interface Finding {
  package: string;
  advisory: string;
  severity: string;
  title: string;
  fixAvailable: boolean;
}

interface AuditJson {
  error?: { code?: string; summary?: string; detail?: string };
  message?: string;
  statusCode?: number;
  vulnerabilities?: Record<string, { name: string; severity: string; via: Array<string | { source?: number; name?: string; title?: string; url?: string; severity?: string }>; fixAvailable: unknown }>;
}

/** The registry answered the audit request with an error: nothing could be checked. */
export class AuditUnavailableError extends Error {
  override name = 'AuditUnavailableError';
}

/** The advisories in `npm audit --json` output (direct ones, not "via another package" links); throws when the audit did not run. */
export function findings(json: AuditJson): Finding[] {
  if (!json.vulnerabilities) {
    if (json.statusCode || /audit endpoint|security\/advisories/.test(json.message ?? '')) {
      throw new AuditUnavailableError(`the registry refused the audit request: ${json.message ?? `HTTP ${json.statusCode}`}`);
    }
    const why = [json.error?.code, json.error?.summary, json.message].filter(Boolean).join(' ') || 'no vulnerabilities section in the output';
    throw new Error(`npm audit did not run: ${why}`);
  }
  const out: Finding[] = [];
  for (const v of Object.values(json.vulnerabilities)) {
    for (const via of v.via) {
      if (typeof via === 'string') continue; // reported under the package it comes from
      const advisory = /GHSA-[\w-]+/.exec(via.url ?? '')?.[0] ?? String(via.source ?? via.title);
      out.push({ package: via.name ?? v.name, advisory, severity: via.severity ?? v.severity, title: via.title ?? '', fixAvailable: Boolean(v.fixAvailable) });
    }
  }
  return out;
}

/** Problems: findings not on the allowlist, allowlist entries without a reason. Also the stale entries (no longer reported). */
export function judge(found: Finding[], allowed: AllowedAdvisory[]): { problems: string[]; stale: AllowedAdvisory[] } {
  const problems: string[] = [];
  for (const a of allowed) {
    if (!a.package || !a.advisory || !a.reason || a.reason.trim().length < 10) problems.push(`audit-allowlist.json: ${a.package ?? '?'} ${a.advisory ?? '?'} needs a reason`);
  }
  const key = (p: string, a: string) => `${p}\n${a}`;
  const ok = new Set(allowed.filter((a) => a.reason?.trim().length >= 10).map((a) => key(a.package, a.advisory)));
  for (const f of found) {
    if (!ok.has(key(f.package, f.advisory))) {
      problems.push(`${f.package}: ${f.advisory} (${f.severity}) ${f.title}${f.fixAvailable ? ' — a fix is available (npm audit fix)' : ' — no fix yet: list it in audit-allowlist.json with a reason'}`);
    }
  }
  const reported = new Set(found.map((f) => key(f.package, f.advisory)));
  return { problems, stale: allowed.filter((a) => !reported.has(key(a.package, a.advisory))) };
}

function npmAuditJson(): Promise<AuditJson> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['audit', '--omit=dev', '--json'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', () => {
      try {
        resolve(JSON.parse(out) as AuditJson);
      } catch {
        reject(new Error(`npm audit printed no JSON: ${(err || out).slice(-500)}`));
      }
    });
  });
}

/** Run the audit; resolves with a one-line summary, rejects listing every problem. */
export async function audit(): Promise<string> {
  const allowed = JSON.parse(fs.readFileSync(ALLOWLIST_FILE, 'utf8')) as { advisories: AllowedAdvisory[] };
  const found = findings(await npmAuditJson());
  const { problems, stale } = judge(found, allowed.advisories);
  if (problems.length) throw new Error(`npm audit --omit=dev:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  const staleNote = stale.length ? `; no longer reported, remove from the allowlist: ${stale.map((s) => `${s.package} ${s.advisory}`).join(', ')}` : '';
  return `${found.length} advisories, all allowlisted with a reason${staleNote}`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  audit().then(
    (summary) => console.log(`audit: ${summary}`),
    (err: Error) => {
      console.error(err.message);
      process.exit(1);
    },
  );
}
