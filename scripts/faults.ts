/**
 * `npm run faults`: the fault matrix (test/faults/**), not part of `npm test`.
 * Starts a throwaway PostgreSQL cluster and an in-memory Temporal dev server
 * (cases that restart Temporal start their own, with a SQLite file), Chromium
 * and the web build, runs mocha over the fault cases with the test reporter,
 * writes the per-case results to docs/reliability.md (between markers) and
 * closes with `N passed, N failed`. Arguments are test files to run instead
 * of the whole matrix (the fast reliability cases under test/e2e also work).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { ensureChromium } from './infra/chromium';
import { startThrowawayServices } from './infra/services';
import { withoutPassword } from './infra/postgres';
import { ensureWebBuild } from './infra/web-build';
import { writeReliabilityReport } from '../testkit/faults-report';

const ROOT = path.resolve(import.meta.dirname, '..');

function runMocha(files: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [path.join(ROOT, 'node_modules', 'mocha', 'bin', 'mocha.js'), '--config', path.join(ROOT, 'test', '.mocharc.cjs'), ...files],
      { cwd: ROOT, env, stdio: 'inherit' },
    );
    child.on('exit', (code) => resolve(code ?? 1));
  });
}

async function main() {
  const args = process.argv.slice(2);
  // The alerting fault case (Temporal server and control worker killed) is fast enough for npm test too: it lives with the fast cases.
  const files = args.length ? args : ['test/faults/**/*.test.ts', 'test/e2e/reliability-alerting.test.ts'];
  const started = Date.now();
  let passed = 0;
  let failed = 0;
  let pending = 0;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'switch-telemetry-faults-'));
  fs.chmodSync(tmp, 0o755);
  const artifacts = path.join(ROOT, 'test-artifacts');
  fs.mkdirSync(artifacts, { recursive: true });
  const summaryFile = path.join(tmp, 'summary.json');
  const resultsFile = path.join(tmp, 'fault-results.jsonl');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    TEST_ARTIFACTS_DIR: artifacts,
    DATA_DIR: path.join(tmp, 'data'),
    FAULTS_TMP_DIR: tmp,
    FAULT_RESULTS_FILE: resultsFile,
    TEST_SUMMARY_FILE: summaryFile,
    // Control workers spawned by the cases pick a free health port (parallel runs never clash on 9465).
    CONTROL_HEALTH_PORT: process.env.CONTROL_HEALTH_PORT ?? '0',
  };
  let stop: (() => Promise<void>) | undefined;
  try {
    process.stderr.write('▶ Fault-suite services\n');
    const services = await startThrowawayServices(tmp, 'switch_telemetry_faults');
    stop = services.stop;
    env.DATABASE_URL = services.databaseUrl;
    env.TEST_ADMIN_DATABASE_URL = services.adminDatabaseUrl;
    env.TEMPORAL_ADDRESS = services.temporalAddress;
    env.TEMPORAL_NAMESPACE = services.temporalNamespace;
    // The throwaway cluster's data folder: the SIGSTOP case finds postmaster.pid there.
    env.FAULTS_PG_DATA_DIR = path.join(tmp, 'postgres');
    process.stderr.write(`  PostgreSQL ${withoutPassword(services.databaseUrl)}\n  Temporal ${services.temporalAddress}\n`);
    env.CHROMIUM_PATH = await ensureChromium();
    // A broken web build (someone mid-change) fails only the cases that need the web process.
    await ensureWebBuild().catch((err: Error) => process.stderr.write(`  web build failed; web cases will fail: ${err.message.split('\n')[0]}\n`));
    process.stderr.write(`\n▶ fault cases: ${files.join(' ')}\n`);
    const code = await runMocha(files, env);
    if (fs.existsSync(summaryFile)) {
      const s = JSON.parse(fs.readFileSync(summaryFile, 'utf8')) as { passed: number; failed: number; pending: number };
      passed += s.passed;
      failed += s.failed;
      pending += s.pending;
      if (code !== 0 && s.failed === 0) failed++;
    } else if (code !== 0) {
      process.stderr.write(`  the fault suite crashed before reporting (exit ${code})\n`);
      failed++;
    }
    if (fs.existsSync(resultsFile)) {
      const written = writeReliabilityReport(resultsFile);
      if (written) process.stderr.write(`  results written to ${path.relative(ROOT, written)}\n`);
    }
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    failed++;
  } finally {
    await stop?.().catch((err) => console.error(err));
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  process.stderr.write(`\nFault suite finished in ${Math.round((Date.now() - started) / 1000)} s\n`);
  console.log(`${passed} passed, ${failed} failed${pending ? `, ${pending} skipped` : ''}`);
  process.exit(failed > 0 ? 1 : 0);
}

main();
