/**
 * NETCONF implementations written elsewhere, as test peers: the `netconf` server
 * (PyPI 2.1.0, Christian Hopps) behind our launcher netconf_server.py, and the
 * `ncclient` client (PyPI 0.7.1) behind our probe ncclient_probe.py. Each runs
 * from a venv built once under ~/.cache/switch-telemetry (scripts/infra/pyvenv.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import ssh2 from 'ssh2';
import { ensurePythonVenv } from '../../scripts/infra/pyvenv';
import { sshFingerprint } from '../../protocols/netconf/ssh';

const HERE = import.meta.dirname;

/** netconf 2.1.0's sshutil still imports paramiko.dsskey, which paramiko 4 removed. */
export const NETCONF_SERVER_PACKAGES = ['netconf==2.1.0', 'paramiko==3.5.1'];
export const NCCLIENT_PACKAGES = ['ncclient==0.7.1'];

/** The SHA-256 fingerprint and base64 blob of an OpenSSH private key's public half. */
export function publicKeyOf(privateKey: string): { sha256: string; b64: string } {
  const parsed = ssh2.utils.parseKey(privateKey);
  if (parsed instanceof Error) throw parsed;
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  const blob = key.getPublicSSH();
  return { sha256: sshFingerprint(blob), b64: blob.toString('base64') };
}

/** A running Python NETCONF server. */
export interface PythonNetconfServer {
  port: number;
  /** The fingerprint the server computed of its own key (compare with ours). */
  reportedSha256: string;
  /** One entry per rpc it answered, as it printed them. */
  rpcs: Array<{ rpc: string; filter: boolean; framing: 'chunked' | 'eom' }>;
  stop(): Promise<void>;
}

/** Options of the Python server. */
export interface PythonNetconfServerOptions {
  hostKeyFile: string;
  password: string;
  base?: '1.0' | '1.1';
  ignoreFilter?: boolean;
  interfaces?: number;
}

/** Start netconf_server.py on an ephemeral loopback port; resolves once it printed its port. */
export async function startPythonNetconfServer(opts: PythonNetconfServerOptions): Promise<PythonNetconfServer> {
  const python = await ensurePythonVenv('netconf-server', NETCONF_SERVER_PACKAGES);
  const args = [path.join(HERE, 'netconf_server.py'), '--host-key', opts.hostKeyFile, '--password', opts.password, '--base', opts.base ?? '1.1', '--interfaces', String(opts.interfaces ?? 4)];
  if (opts.ignoreFilter) args.push('--ignore-filter');
  const child = spawn(python, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  const rpcs: PythonNetconfServer['rpcs'] = [];
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = new Promise<{ port: number; hostKeySha256: string }>((resolve, reject) => {
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      const msg = JSON.parse(line) as Record<string, unknown>;
      if (typeof msg.port === 'number') resolve(msg as { port: number; hostKeySha256: string });
      else if (typeof msg.rpc === 'string') rpcs.push(msg as PythonNetconfServer['rpcs'][number]);
    });
    void exited.then(() => reject(new Error(`netconf_server.py exited before it was ready:\n${stderr}`)));
  });
  const timeout = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const { port, hostKeySha256 } = await ready.finally(() => clearTimeout(timeout));
  return {
    port,
    reportedSha256: hostKeySha256,
    rpcs,
    stop: () => stopChild(child, exited),
  };
}

async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(t);
}

/** Write an OpenSSH private key file (mode 0600) for a server to load. */
export function writeKeyFile(file: string, privateKey: string): string {
  writeFileSync(file, privateKey, { mode: 0o600 });
  return file;
}

/** What ncclient_probe.py prints. */
export interface NcclientProbeResult {
  ok: boolean;
  error?: string;
  serverCapabilities: string[];
  sessionId: string;
  get: { leaves: Record<string, string> };
  getConfig: { leaves: Record<string, string> };
  getData: { leaves: Record<string, string> } | { error: string };
  getDataRunning: { leaves: Record<string, string> } | { error: string };
  createSubscription: { ok: boolean; notification?: string };
  establishSubscription: { id?: string; notification?: string; error?: string };
  badLogin?: { refused: boolean; error?: string };
}

/** Run ncclient_probe.py against a NETCONF server and parse its JSON. */
export async function runNcclientProbe(opts: { port: number; username: string; password: string; hostKeyB64: string; badPassword?: boolean }): Promise<NcclientProbeResult> {
  const python = await ensurePythonVenv('ncclient', NCCLIENT_PACKAGES);
  const args = [path.join(HERE, 'ncclient_probe.py'), '--port', String(opts.port), '--username', opts.username, '--password', opts.password, '--host-key', opts.hostKeyB64];
  if (opts.badPassword) args.push('--try-bad-password');
  const child = spawn(python, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (err = (err + c.toString()).slice(-4000)));
  const timeout = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearTimeout(timeout);
  const last = out.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(last) as NcclientProbeResult;
  } catch {
    throw new Error(`ncclient_probe.py exited with ${code} without JSON:\n${out}\n${err}`);
  }
}
