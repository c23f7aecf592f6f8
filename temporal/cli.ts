/**
 * Obtaining the Temporal CLI (dev server with Web UI): TEMPORAL_CLI, else a
 * `temporal` on PATH, else a build from the Go module proxy into a cache folder
 * outside the work tree, done once and reused.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run, ticker } from '../scripts/infra/proc';

/** The CLI version we build; later tags carry a `replace` directive that `go install` refuses. */
export const TEMPORAL_CLI_VERSION = '1.5.1';

/** Folder the CLI is built into. */
export function cliCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'switch-telemetry', `temporal-cli-${TEMPORAL_CLI_VERSION}`);
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Path to a usable `temporal` binary, building it if needed (progress on stderr). */
export async function ensureTemporalCli(): Promise<string> {
  if (process.env.TEMPORAL_CLI) {
    if (!fs.existsSync(process.env.TEMPORAL_CLI)) throw new Error(`TEMPORAL_CLI=${process.env.TEMPORAL_CLI} does not exist`);
    return process.env.TEMPORAL_CLI;
  }
  const found = onPath('temporal');
  if (found) return found;
  const binDir = path.join(cliCacheDir(), 'bin');
  const binary = path.join(binDir, 'temporal');
  if (fs.existsSync(binary)) return binary;
  if (!onPath('go')) {
    throw new Error('No Temporal CLI found and Go is not installed: install Go, or set TEMPORAL_CLI to a temporal binary, or TEMPORAL_ADDRESS to a running server.');
  }
  process.stderr.write(
    `Building the Temporal CLI ${TEMPORAL_CLI_VERSION} from the Go module proxy into ${binDir} (first run only; a few minutes)…\n`,
  );
  fs.mkdirSync(binDir, { recursive: true });
  const stop = ticker('building temporal CLI');
  try {
    await run(
      'go',
      [
        'install',
        '-v',
        '-ldflags',
        `-X github.com/temporalio/cli/temporalcli.Version=${TEMPORAL_CLI_VERSION}`,
        `github.com/temporalio/cli/cmd/temporal@v${TEMPORAL_CLI_VERSION}`,
      ],
      {
        env: { ...process.env, GOBIN: binDir, CGO_ENABLED: '0', GOFLAGS: '-mod=mod' },
        cwd: os.tmpdir(),
        quiet: true,
      },
    );
  } finally {
    stop();
  }
  if (!fs.existsSync(binary)) throw new Error(`go install finished but ${binary} is missing`);
  process.stderr.write(`Temporal CLI ready: ${binary}\n`);
  return binary;
}
