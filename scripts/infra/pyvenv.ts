/**
 * Python programs used as independent test peers (NETCONF servers and clients,
 * gNMI clients written elsewhere): a virtual environment per set of pinned
 * packages under the project's build cache, created once from PyPI and reused.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { cacheRoot, onPath } from './go-tools';
import { run, ticker } from './proc';

/** Path of the venv's python for `packages` (pinned `name==version` specs), creating it when missing. */
export async function ensurePythonVenv(name: string, packages: string[]): Promise<string> {
  const key = crypto.createHash('sha256').update(packages.slice().sort().join('\n')).digest('hex').slice(0, 10);
  const dir = path.join(cacheRoot(), `pyvenv-${name}-${key}`);
  const python = path.join(dir, 'bin', 'python');
  const done = path.join(dir, '.installed');
  if (fs.existsSync(done)) return python;
  const system = onPath('python3');
  if (!system) throw new Error('Python 3 is required for the independent test peers (python3 not found on PATH)');
  process.stderr.write(`Installing ${packages.join(', ')} from PyPI into ${dir} (first run only)…\n`);
  const stop = ticker(`installing ${name}`);
  try {
    fs.rmSync(dir, { recursive: true, force: true });
    await run(system, ['-m', 'venv', dir], { quiet: true });
    await run(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', ...packages], { quiet: true });
  } finally {
    stop();
  }
  fs.writeFileSync(done, packages.join('\n') + '\n');
  return python;
}
