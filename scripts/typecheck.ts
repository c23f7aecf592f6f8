/**
 * `npm run typecheck` (also the first check of `npm test`): generate React Router's
 * route types, then type-check the whole repository with tsc. Exits non-zero on errors.
 */
import path from 'node:path';
import { run } from './infra/proc';

const ROOT = path.resolve(import.meta.dirname, '..');

/** Run typegen and tsc; resolves with tsc's output, rejects with it on errors. */
export async function typecheck(): Promise<string> {
  await run(process.execPath, [path.join(ROOT, 'node_modules', '@react-router', 'dev', 'bin.js'), 'typegen'], { cwd: path.join(ROOT, 'web'), quiet: true });
  return run(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '--noEmit', '-p', path.join(ROOT, 'tsconfig.json')], { cwd: ROOT, quiet: true });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  typecheck().then(
    () => console.log('typecheck: no errors'),
    (err: Error) => {
      console.error(err.message);
      process.exit(1);
    },
  );
}
