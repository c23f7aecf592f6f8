/**
 * The OpenConfig project's reference gNMI client, `gnmi_cli` (github.com/openconfig/gnmi/cmd/gnmi_cli,
 * Go and grpc-go), as an independent test peer: built once from the Go module proxy into the
 * project's cache (the same module and tag as the fake target). Credentials go in through its
 * GNMI_USER / GNMI_PASS environment (with `-with_user_pass` it would otherwise prompt).
 */
import { spawn } from 'node:child_process';
import readline from 'node:readline';
import { ensureGoTool } from '../../scripts/infra/go-tools';
import { FAKE_GNMI_VERSION } from './gnmi-fake-target';

/** Build (first run only) and return the gnmi_cli binary. */
export async function ensureGnmiCli(): Promise<string> {
  const tool = {
    name: 'gnmi-cli',
    version: FAKE_GNMI_VERSION,
    packages: [`github.com/openconfig/gnmi/cmd/gnmi_cli@v${FAKE_GNMI_VERSION}`],
    binaries: ['gnmi_cli'],
    what: `the OpenConfig gnmi_cli client v${FAKE_GNMI_VERSION}`,
  };
  return (await ensureGoTool(tool)).gnmi_cli;
}

/** What one gnmi_cli run printed. */
export interface GnmiCliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Run gnmi_cli against `address` (plaintext, username and password) with `args`. With `until`, the
 * run is ended (SIGTERM) once the output so far satisfies it — for a stream, which never ends by
 * itself; otherwise it must end by itself. Either way within `timeoutMs`, or the promise rejects.
 */
export async function runGnmiCli(
  address: string,
  credentials: { username: string; password: string },
  args: string[],
  opts: { until?: (stdout: string) => boolean; timeoutMs?: number } = {},
): Promise<GnmiCliRun> {
  const bin = await ensureGnmiCli();
  const child = spawn(bin, ['-address', address, '-insecure', '-with_user_pass', ...args], {
    env: { ...process.env, GNMI_USER: credentials.username, GNMI_PASS: credentials.password },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  readline.createInterface({ input: child.stdout! }).on('line', (line) => {
    stdout += line + '\n';
    if (opts.until?.(stdout)) child.kill('SIGTERM');
  });
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (c, s) => resolve([c, s])));
  clearTimeout(timer);
  if (signal === 'SIGKILL') throw new Error(`gnmi_cli ${args.join(' ')}: no result within ${timeoutMs} ms\nstdout: ${stdout.slice(-1000)}\nstderr: ${stderr.slice(-1000)}`);
  return { code, stdout, stderr };
}
