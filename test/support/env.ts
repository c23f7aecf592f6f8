/**
 * What the test run provides (scripts/test.ts starts the services): fails with
 * a clear message when a test needing a service runs outside `npm test`.
 */
import path from 'node:path';
import fs from 'node:fs';

function need(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the suites through "npm test" (scripts/test.ts starts PostgreSQL and Temporal)`);
  return v;
}

/** Admin URL of the test PostgreSQL cluster (database "postgres"). */
export const adminDatabaseUrl = () => need('TEST_ADMIN_DATABASE_URL');
/** Address of the test Temporal server. */
export const temporalAddress = () => need('TEMPORAL_ADDRESS');
/** Where tests put screenshots and other artifacts. */
export function artifactsDir(): string {
  const dir = process.env.TEST_ARTIFACTS_DIR ?? path.resolve('test-artifacts');
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}
/** Chromium for browser tests. */
export const chromiumPath = () => process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * In-process Temporal workers log errors only: the tests fail activities and
 * workflows on purpose, and the SDK warns about each. The runtime is per process:
 * the first caller installs it.
 */
export async function quietWorkerRuntime(): Promise<void> {
  const { DefaultLogger, Runtime } = await import('@temporalio/worker');
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
  } catch {
    // Already installed by an earlier test file in this process.
  }
}
