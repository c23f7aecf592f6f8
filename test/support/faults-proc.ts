/**
 * Spawning the project's entry points for reliability tests with their output
 * captured (scripts/infra/proc.ts relays or discards it): the secrets canary
 * searches it, and a failing fault case can show the last lines. Also reads a
 * process's resident memory from /proc.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { entryArgs } from '../../scripts/infra/entry';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const MAX_CAPTURE = 16 * 1024 * 1024;

/** A child whose stdout and stderr are kept in memory. */
export interface CapturedChild {
  name: string;
  child: ChildProcess;
  pid: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Everything it printed so far (stdout and stderr interleaved). */
  output(): string;
  alive(): boolean;
  /** SIGTERM, then SIGKILL after the grace period. */
  stop(graceMs?: number): Promise<void>;
  /** kill -9, no goodbye. */
  kill9(): Promise<void>;
}

/** Spawn a command with captured output (relayed with a prefix when TEST_VERBOSE is set). */
export function spawnCapturedCommand(name: string, cmd: string, args: string[], env: NodeJS.ProcessEnv): CapturedChild {
  const child = spawn(cmd, args, { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let captured = '';
  const onData = (chunk: Buffer) => {
    const text = chunk.toString();
    if (captured.length < MAX_CAPTURE) captured += text;
    if (process.env.TEST_VERBOSE) for (const line of text.split('\n')) if (line) process.stderr.write(`[${name}] ${line}\n`);
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const alive = () => child.exitCode === null && child.signalCode === null;
  return {
    name,
    child,
    pid: child.pid!,
    exited,
    output: () => captured,
    alive,
    async stop(graceMs = 10_000) {
      if (!alive()) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
    async kill9() {
      if (!alive()) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Spawn one of the project's TypeScript entry points (workers/collector.ts, web/server.ts, …). */
export function spawnCaptured(name: string, file: string, env: NodeJS.ProcessEnv): CapturedChild {
  return spawnCapturedCommand(name, process.execPath, entryArgs(ROOT, file), env);
}

/** Resident set size of a process in bytes (from /proc), or undefined when it is gone. */
export function rssBytes(pid: number): number | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /VmRSS:\s+(\d+) kB/.exec(status);
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Samples a process's RSS every `everyMs`; `max` is the largest seen. */
export class RssSampler {
  max = 0;
  first?: number;
  last?: number;
  private timer: NodeJS.Timeout;
  constructor(private readonly pid: () => number | undefined, everyMs = 1000) {
    this.timer = setInterval(() => this.sample(), everyMs);
    this.timer.unref();
    this.sample();
  }
  sample(): void {
    const pid = this.pid();
    const rss = pid ? rssBytes(pid) : undefined;
    if (rss === undefined) return;
    this.first ??= rss;
    this.last = rss;
    if (rss > this.max) this.max = rss;
  }
  stop(): void {
    clearInterval(this.timer);
  }
}

/** Bytes as MiB with one decimal. */
export const mib = (bytes: number | undefined) => (bytes === undefined ? 'n/a' : `${(bytes / 1048576).toFixed(1)} MiB`);
