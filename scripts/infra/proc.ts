/**
 * Small helpers for the start and test scripts: run a command with its output
 * shown (progress), spawn long-lived children with prefixed output, wait for ports.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import net from 'node:net';

/** Run a command to completion, streaming its output with a prefix; rejects on non-zero exit. */
export function run(cmd: string, args: string[], opts: SpawnOptions & { prefix?: string; quiet?: boolean } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      out += text;
      if (out.length > 1_000_000) out = out.slice(-500_000);
      if (!opts.quiet) {
        for (const line of text.split('\n')) if (line.trim()) process.stderr.write(`${opts.prefix ?? ''}${line}\n`);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}\n${out.slice(-4000)}`));
    });
  });
}

/** True when something accepts TCP connections at host:port. */
export function isPortOpen(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

/** Wait until `check` resolves true, polling; throws with `what` after the timeout. */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 60_000, everyMs = 250): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not ready yet
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/** A long-lived child whose output lines are prefixed; `stop` sends SIGTERM then SIGKILL after a grace period. */
export interface ManagedChild {
  name: string;
  child: ChildProcess;
  exited: Promise<number | null>;
  stop(graceMs?: number): Promise<void>;
  /** Its last output lines (at most TAIL_LINES, kept even when quiet): why a child exited as it did. */
  tail(): string[];
}

/** Output lines each child keeps for `tail()`. */
const TAIL_LINES = 40;

/** Spawn a long-lived process with prefixed output. */
export function startChild(
  name: string,
  cmd: string,
  args: string[],
  opts: SpawnOptions & { quiet?: boolean; /** Drop its output once we asked it to stop (shutdown noise). */ quietOnStop?: boolean } = {},
): ManagedChild {
  const { quiet, quietOnStop, ...spawnOpts } = opts;
  const child = spawn(cmd, args, { ...spawnOpts, stdio: ['ignore', 'pipe', 'pipe'] });
  const prefix = `[${name}] `;
  let stopping = false;
  const last: string[] = [];
  const relay = (stream: NodeJS.WriteStream) => {
    let partial = '';
    return (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      last.push(...lines.filter((line) => line.trim()).slice(-TAIL_LINES));
      if (last.length > TAIL_LINES) last.splice(0, last.length - TAIL_LINES);
      if (quiet || (quietOnStop && stopping)) return;
      for (const line of lines) stream.write(prefix + line + '\n');
    };
  };
  child.stdout!.on('data', relay(process.stdout));
  child.stderr!.on('data', relay(process.stderr));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  // Never outlive the parent: a test run that fails half-way (or exits) takes its children with it.
  const reap = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  process.once('exit', reap);
  void exited.then(() => process.removeListener('exit', reap));
  return {
    name,
    child,
    exited,
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      stopping = true;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
    tail: () => [...last],
  };
}

/** A progress ticker for long steps: prints elapsed time every `everyMs` until stopped. */
export function ticker(label: string, everyMs = 15_000): () => void {
  const started = Date.now();
  const t = setInterval(() => process.stderr.write(`  … ${label}: ${Math.round((Date.now() - started) / 1000)} s\n`), everyMs);
  return () => clearInterval(t);
}
