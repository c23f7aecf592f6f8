/**
 * The OpenConfig project's reference fake gNMI target (github.com/openconfig/gnmi,
 * testing/fake/gnmi/cmd/fake_server) as an independent test peer: built once from the
 * Go module proxy into the project's cache, started with TLS from a test CA and a
 * text-proto configuration of generated values (testing/fake/proto/fake.proto).
 *
 * What it is (read from its source, v0.14.1): Subscribe only — Capabilities, Get and
 * Set answer UNIMPLEMENTED; it ignores the subscription's paths, mode and encoding and
 * sends its configured values as typed values (int_val, uint_val, double_val,
 * string_val, bool_val, leaflist_val) under deprecated `element` paths, one update per
 * notification, deletes likewise, then sync_response after the first round; it copies
 * a requested prefix.target into every update's prefix; it checks no credentials; it
 * listens on every interface (no address flag) of the port it is given.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureGoTool } from '../../scripts/infra/go-tools';
import { isPortOpen, startChild, waitFor, type ManagedChild } from '../../scripts/infra/proc';

/** The pinned version (the module's tag). */
export const FAKE_GNMI_VERSION = '0.14.1';

/** Build (first run only) and return the fake_server binary. */
export async function ensureFakeGnmiServer(): Promise<string> {
  const tool = {
    name: 'gnmi-fake-server',
    version: FAKE_GNMI_VERSION,
    packages: [`github.com/openconfig/gnmi/testing/fake/gnmi/cmd/fake_server@v${FAKE_GNMI_VERSION}`],
    binaries: ['fake_server'],
    what: `the OpenConfig fake gNMI target v${FAKE_GNMI_VERSION}`,
  };
  return (await ensureGoTool(tool)).fake_server;
}

/** One generated value of the fake's RandomGenerator: sent once, or forever every period; optionally offset from the start. */
export type FakeValue = { once?: boolean; offsetMs?: number } & (
  | { path: string[]; int: { value: number; min: number; max: number } }
  | { path: string[]; uint: { value: number; min: number; max: number } }
  | { path: string[]; double: { value: number; min: number; max: number } }
  | { path: string[]; string: string[] }
  | { path: string[]; bool: boolean[] }
  | { path: string[]; stringList: string[] }
  | { path: string[]; delete: true }
);

const q = (s: string) => JSON.stringify(s);

/**
 * The text-proto Config. Every value starts at `startNs` and repeats forever every
 * `periodMs` (`repeat: 0`) unless `once`; with `enable_delay` the fake sleeps between
 * timestamps, so the values arrive in real time. Deletes are sent once. Sync follows the
 * latest initial timestamp (the fake adds it there).
 */
export function fakeConfigText(opts: { target: string; startNs: bigint; periodMs: number; values: FakeValue[] }): string {
  const period = BigInt(opts.periodMs) * 1_000_000n;
  // Top-level `values`/`seed`: v0.14.1's client reads only these (the `random` generator is ignored).
  const lines = [`target: ${q(opts.target)}`, 'client_type: GRPC_GNMI', 'enable_delay: true', 'seed: 42'];
  for (const v of opts.values) {
    lines.push('values: <');
    for (const p of v.path) lines.push(`  path: ${q(p)}`);
    const once = v.once || 'delete' in v;
    const start = opts.startNs + BigInt(v.offsetMs ?? 0) * 1_000_000n;
    lines.push(`  timestamp: < timestamp: ${start} delta_min: ${period} delta_max: ${period} >`);
    lines.push(`  repeat: ${once ? 1 : 0}`);
    if ('int' in v) lines.push(`  int_value: < value: ${v.int.value} range: < minimum: ${v.int.min} maximum: ${v.int.max} delta_min: 1 delta_max: 5 > >`);
    else if ('uint' in v) lines.push(`  uint_value: < value: ${v.uint.value} range: < minimum: ${v.uint.min} maximum: ${v.uint.max} delta_min: 1 delta_max: 5 > >`);
    else if ('double' in v) lines.push(`  double_value: < value: ${v.double.value} range: < minimum: ${v.double.min} maximum: ${v.double.max} > >`);
    else if ('string' in v) lines.push(`  string_value: < value: ${q(v.string[0])} list: < ${v.string.map((s) => `options: ${q(s)}`).join(' ')} > >`);
    else if ('bool' in v) lines.push(`  bool_value: < value: ${v.bool[0]} list: < ${v.bool.map((b) => `options: ${b}`).join(' ')} > >`);
    else if ('stringList' in v) lines.push(`  string_list_value: < ${v.stringList.map((s) => `value: ${q(s)}`).join(' ')} >`);
    else lines.push('  delete: < >');
    lines.push('>');
  }
  return lines.join('\n') + '\n';
}

/** A running fake target. */
export interface FakeGnmiTarget {
  port: number;
  child: ManagedChild;
  stop(): Promise<void>;
}

/** Start fake_server on `port` with a TLS server certificate (no client certificate required). */
export async function startFakeGnmiTarget(opts: { port: number; cert: string; key: string; config: string }): Promise<FakeGnmiTarget> {
  const bin = await ensureFakeGnmiServer();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gnmi-fake-'));
  const file = (name: string, text: string, mode = 0o644) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, text, { mode });
    return p;
  };
  const args = [
    '--config', file('config.pb.txt', opts.config),
    '--text',
    '--port', String(opts.port),
    '--server_crt', file('server.crt', opts.cert),
    '--server_key', file('server.key', opts.key, 0o600),
    '--allow_no_client_auth',
    '--logtostderr',
  ];
  const child = startChild('gnmi-fake', bin, args, { quiet: !process.env.TEST_VERBOSE, quietOnStop: true });
  const stop = async () => {
    await child.stop(2000);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(`the fake gNMI target on port ${opts.port}`, async () => {
      if (child.child.exitCode !== null) throw new Error(`fake_server exited with ${child.child.exitCode}`);
      return isPortOpen(opts.port);
    }, 15_000, 50);
  } catch (err) {
    await stop();
    throw err;
  }
  return { port: opts.port, child, stop };
}
