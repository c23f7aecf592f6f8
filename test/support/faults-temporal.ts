/**
 * A Temporal dev server the fault cases can kill (-9) and start again on the same port and
 * SQLite file (the in-memory server forgets every workflow on restart): the Temporal restart
 * cases of the fault matrix (test/faults/temporal.test.ts, test/e2e/reliability-alerting.test.ts).
 */
import { SEARCH_ATTRIBUTE_DEFINITIONS } from '../../core/names';
import { ensureTemporalCli } from '../../scripts/infra/temporal-cli';
import { waitForTemporal } from '../../scripts/infra/temporal-dev-server';
import { ensureSearchAttributes } from '../../temporal/search-attributes';
import { spawnCapturedCommand, type CapturedChild } from './faults-proc';

/** Start `temporal server start-dev` on `port` with a SQLite file; resolves when the namespace answers. */
export async function startKillableTemporal(port: number, dbFile: string): Promise<CapturedChild> {
  const cli = await ensureTemporalCli();
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--namespace', 'default', '--log-level', 'error', '--headless', '--db-filename', dbFile];
  for (const [name, type] of SEARCH_ATTRIBUTE_DEFINITIONS) args.push('--search-attribute', `${name}=${type}`);
  const child = spawnCapturedCommand('temporal', cli, args, process.env);
  await Promise.race([
    waitForTemporal(`127.0.0.1:${port}`, 'default', 90_000),
    child.exited.then(({ code }) => {
      throw new Error(`temporal exited with ${code}: ${child.output().slice(-2000)}`);
    }),
  ]);
  await ensureSearchAttributes(`127.0.0.1:${port}`, 'default');
  return child;
}
