/**
 * Obtaining the Temporal CLI (dev server with Web UI): TEMPORAL_CLI, else a
 * `temporal` on PATH, else a build from the Go module proxy into a cache folder
 * outside the work tree, done once and reused.
 */
import fs from 'node:fs';
import { loadConfig } from '../../core/config';
import { ensureGoTool, onPath } from './go-tools';

/** The CLI version we build; later tags carry a `replace` directive that `go install` refuses. */
export const TEMPORAL_CLI_VERSION = '1.5.1';

const CLI_TOOL = {
  name: 'temporal-cli',
  version: TEMPORAL_CLI_VERSION,
  packages: [`github.com/temporalio/cli/cmd/temporal@v${TEMPORAL_CLI_VERSION}`],
  binaries: ['temporal'],
  ldflags: `-X github.com/temporalio/cli/temporalcli.Version=${TEMPORAL_CLI_VERSION}`,
  what: `the Temporal CLI ${TEMPORAL_CLI_VERSION}`,
};

/** Path to a usable `temporal` binary, building it if needed (progress on stderr). */
export async function ensureTemporalCli(): Promise<string> {
  const configured = loadConfig().TEMPORAL_CLI;
  if (configured) {
    if (!fs.existsSync(configured)) throw new Error(`TEMPORAL_CLI=${configured} does not exist`);
    return configured;
  }
  const found = onPath('temporal');
  if (found) return found;
  return (await ensureGoTool(CLI_TOOL)).temporal;
}
