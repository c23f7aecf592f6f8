/**
 * `npm test`: installs and starts what the tests need — a throwaway PostgreSQL
 * cluster, an in-memory Temporal dev server, Chromium for browser tests, the
 * web build — runs the mocha suites (unit, integration, e2e) against them,
 * and closes with one line: `N passed, N failed`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { ensureChromium } from './infra/chromium';
import { typecheck } from './typecheck';
import { audit, AuditUnavailableError } from './audit';
import { startThrowawayServices } from './infra/services';
import { withoutPassword } from './infra/postgres';
import { ensureWebBuild } from './infra/web-build';

const ROOT = path.resolve(import.meta.dirname, '..');
/** In run order; `topology` (last) starts its own PostgreSQL, Temporal server and processes (test/topology). */
const SUITES = ['unit', 'integration', 'e2e', 'topology'] as const;
type Suite = (typeof SUITES)[number];

function runMocha(suite: Suite, env: NodeJS.ProcessEnv, summaryFile: string, extra: string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [path.join(ROOT, 'node_modules', 'mocha', 'bin', 'mocha.js'), '--config', path.join(ROOT, 'test', '.mocharc.cjs'), `test/${suite}/**/*.test.ts`, ...extra],
      { cwd: ROOT, env: { ...env, TEST_SUMMARY_FILE: summaryFile }, stdio: 'inherit' },
    );
    child.on('exit', (code) => resolve(code ?? 1));
  });
}

async function main() {
  const args = process.argv.slice(2);
  const wanted = args.filter((a) => SUITES.includes(a as Suite)) as Suite[];
  // Anything else goes to mocha as is, e.g. `npm test -- integration --grep 'live hub'`.
  const extra = args.filter((a) => !SUITES.includes(a as Suite));
  const suites: Suite[] = wanted.length ? wanted : [...SUITES];
  const needsServices = suites.some((s) => s !== 'unit' && s !== 'topology');
  const started = Date.now();
  const cleanups: Array<() => Promise<void>> = [];
  let passed = 0;
  let failed = 0;
  let pending = 0;
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'test', LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' };
  // Control workers spawned by tests pick a free health port (parallel runs never clash on 9465).
  env.CONTROL_HEALTH_PORT ??= '0';
  const artifacts = path.join(ROOT, 'test-artifacts');
  fs.mkdirSync(artifacts, { recursive: true });
  env.TEST_ARTIFACTS_DIR = artifacts;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'switch-telemetry-test-'));
  fs.chmodSync(tmp, 0o755);
  env.DATA_DIR = path.join(tmp, 'data');
  // TimescaleDB is built from TIMESCALEDB_SOURCE when not installed; default: the vendored release next to the repository.
  const vendoredTimescaleDb = path.resolve(ROOT, '..', 'shared', 'vendor', 'timescaledb-2.28.3.tar.gz');
  if (!env.TIMESCALEDB_SOURCE && fs.existsSync(vendoredTimescaleDb)) env.TIMESCALEDB_SOURCE = vendoredTimescaleDb;
  try {
    if (needsServices) {
      process.stderr.write('▶ Test services\n');
      // Both storage modes run on real servers: the cluster preloads TimescaleDB (built from TIMESCALEDB_SOURCE when missing).
      const wantTimescale = (env.TEST_STORAGE_MODES ?? 'timescaledb,native').split(',').includes('timescaledb');
      const services = await startThrowawayServices(tmp, 'switch_telemetry_test', { timescaledb: wantTimescale, timescaledbSource: env.TIMESCALEDB_SOURCE });
      cleanups.push(services.stop);
      env.DATABASE_URL = services.databaseUrl;
      env.TEST_ADMIN_DATABASE_URL = services.adminDatabaseUrl;
      env.TEMPORAL_ADDRESS = services.temporalAddress;
      env.TEMPORAL_NAMESPACE = services.temporalNamespace;
      // The TimescaleDB-mode tests fail with this reason (they never skip themselves).
      if (wantTimescale && !services.timescaledb.available) env.TEST_TIMESCALEDB_UNAVAILABLE = services.timescaledb.reason;
      const tsLine = services.timescaledb.available
        ? `TimescaleDB ${services.timescaledb.version} preloaded`
        : wantTimescale
          ? `no TimescaleDB: ${services.timescaledb.reason}`
          : 'native only (TEST_STORAGE_MODES)';
      process.stderr.write(`  PostgreSQL ${withoutPassword(services.databaseUrl)} (${tsLine})\n  Temporal ${services.temporalAddress}\n`);
    }
    // The topology suite signs in with Chromium on each web process too.
    if (suites.includes('e2e') || suites.includes('topology')) env.CHROMIUM_PATH = await ensureChromium();
    if (suites.includes('e2e')) {
      await ensureWebBuild();
    }
    if (wanted.length === 0 && extra.length === 0) {
      // The full run type-checks first: one check, counted like a test.
      process.stderr.write('\n▶ typecheck (react-router typegen + tsc)\n');
      try {
        await typecheck();
        process.stderr.write('  no type errors\n');
        passed++;
      } catch (err) {
        process.stderr.write(`${(err as Error).message}\n`);
        failed++;
      }
      // Advisories against production dependencies: one check, counted like a test (allowlist: audit-allowlist.json).
      process.stderr.write('\n▶ npm audit --omit=dev\n');
      try {
        process.stderr.write(`  ${await audit()}\n`);
        passed++;
      } catch (err) {
        process.stderr.write(`  ${(err as Error).message}\n`);
        if (err instanceof AuditUnavailableError) {
          process.stderr.write('  counted as skipped: no advisory was checked (run `npm audit --omit=dev` where the registry serves advisories)\n');
          pending++;
        } else failed++;
      }
    }
    for (const suite of suites) {
      process.stderr.write(`\n▶ ${suite} tests\n`);
      const summaryFile = path.join(tmp, `${suite}-summary.json`);
      const code = await runMocha(suite, env, summaryFile, extra);
      if (fs.existsSync(summaryFile)) {
        const s = JSON.parse(fs.readFileSync(summaryFile, 'utf8')) as { passed: number; failed: number; pending: number };
        passed += s.passed;
        failed += s.failed;
        pending += s.pending;
        if (code !== 0 && s.failed === 0) failed++; // crashed after reporting
      } else if (code !== 0) {
        process.stderr.write(`  the ${suite} suite crashed before reporting (exit ${code})\n`);
        failed++;
      }
    }
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    failed++;
  } finally {
    for (const c of cleanups.reverse()) await c().catch((err) => console.error(err));
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  process.stderr.write(`\nTests finished in ${Math.round((Date.now() - started) / 1000)} s\n`);
  console.log(`${passed} passed, ${failed} failed${pending ? `, ${pending} skipped` : ''}`);
  process.exit(failed > 0 ? 1 : 0);
}

main();
