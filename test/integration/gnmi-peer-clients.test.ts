/**
 * The simulator as a lab target for gNMI clients this project did not write:
 * pygnmi 0.8.15 (PyPI, in a cached venv) runs test/peers/pygnmi_probe.py against a
 * simulated device started as `npm start` starts it (simulator/fleet.ts: plaintext,
 * admin/admin): Capabilities, Get in JSON, JSON_IETF and PROTO, Subscribe ONCE, POLL
 * and STREAM, and a wrong password refused with UNAUTHENTICATED.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { ensurePythonVenv } from '../../scripts/infra/pyvenv';
import { SIM_PASSWORD, SIM_USERNAME, startFleet, type Fleet } from '../../simulator/fleet';

const PROBE = path.resolve(import.meta.dirname, '..', 'peers', 'pygnmi_probe.py');
const PYGNMI = 'pygnmi==0.8.15';

interface ProbeResult {
  capabilities: { version?: string; encodings?: string[]; models?: string[]; error?: string };
  get: Record<'json' | 'json_ietf' | 'proto', { leaf?: Record<string, unknown>; container?: Record<string, unknown>; error?: string }>;
  once: { updates?: number; synced?: boolean; error?: string };
  poll: { rounds?: Array<{ updates: number; synced: boolean }>; error?: string };
  stream: { initial?: number; synced?: boolean; in_octets?: Array<number | string>; error?: string };
  wrong_password: { error: string | null };
}

/** The in-octets value anywhere in what pygnmi returned for a Get (a leaf or inside a JSON tree). */
function inOctets(tree: unknown): unknown {
  if (tree === null || typeof tree !== 'object') return undefined;
  for (const [k, v] of Object.entries(tree)) {
    if (k === 'in-octets' || k.endsWith('/in-octets')) return v;
    const inner = inOctets(v);
    if (inner !== undefined) return inner;
  }
  return undefined;
}

describe('gNMI: the simulator seen by an independent client (pygnmi 0.8.15)', function () {
  this.timeout(120_000);
  let fleet: Fleet;
  let result: ProbeResult;

  before(async function () {
    this.timeout(600_000); // the first run installs pygnmi from PyPI
    const python = await ensurePythonVenv('pygnmi', [PYGNMI]);
    fleet = await startFleet({ gnmiCount: 1, interfaces: 2 });
    const m = fleet.members[0];
    // Asynchronous: the simulator answers from this process while the probe runs.
    const { stdout } = await promisify(execFile)(python, [PROBE, m.host, String(m.port), SIM_USERNAME, SIM_PASSWORD], { timeout: 90_000, encoding: 'utf8' });
    const line = stdout.split('\n').find((l) => l.startsWith('PROBE_RESULT '));
    assert.ok(line, `the probe printed its result (stdout: ${stdout.slice(-500)})`);
    result = JSON.parse(line.slice('PROBE_RESULT '.length));
  });
  after(() => fleet?.close());

  it('Capabilities: gNMI 0.10.0, JSON, JSON_IETF and PROTO, the OpenConfig models', () => {
    assert.equal(result.capabilities.error, undefined);
    assert.equal(result.capabilities.version, '0.10.0');
    assert.deepEqual([...(result.capabilities.encodings ?? [])].sort(), ['json', 'json_ietf', 'proto']);
    assert.ok(result.capabilities.models?.includes('openconfig-interfaces'));
  });

  it('Get in JSON, JSON_IETF and PROTO: the same growing counter, each in its encoding', () => {
    for (const enc of ['json', 'json_ietf', 'proto'] as const) assert.equal(result.get[enc].error, undefined, `${enc}: ${result.get[enc].error}`);
    const json = inOctets(result.get.json.leaf);
    const ietf = inOctets(result.get.json_ietf.leaf);
    const proto = inOctets(result.get.proto.leaf);
    assert.equal(typeof json, 'number', 'plain JSON: a number');
    assert.match(String(ietf), /^\d+$/);
    assert.equal(typeof ietf, 'string', 'JSON_IETF (RFC 7951): a 64-bit integer in a string');
    assert.equal(typeof proto, 'number', 'PROTO: uint_val');
    // Asked one after the other: the same counter, growing.
    assert.ok((json as number) <= Number(ietf) && Number(ietf) <= (proto as number), `${json} ≤ ${ietf} ≤ ${proto}`);
    // A container: its seven counters (one tree in JSON, one update per leaf in PROTO).
    assert.equal(Object.keys(result.get.proto.container ?? {}).length, 7);
    const tree = Object.values(result.get.json.container ?? {})[0] as { counters?: Record<string, unknown> };
    assert.equal(Object.keys(tree?.counters ?? {}).length, 7);
  });

  it('Subscribe ONCE (PROTO): every counter, then sync_response, then the end', () => {
    assert.deepEqual(result.once, { updates: 7, synced: true });
  });

  it('Subscribe POLL (JSON_IETF): the initial round and two Polls, each closed by a sync_response', () => {
    assert.equal(result.poll.error, undefined);
    assert.equal(result.poll.rounds?.length, 3);
    assert.ok(result.poll.rounds!.every((r) => r.synced && r.updates >= 1), JSON.stringify(result.poll.rounds));
  });

  it('Subscribe STREAM (JSON, SAMPLE 200 ms): initial state to sync, then samples that grow', () => {
    assert.equal(result.stream.error, undefined);
    assert.equal(result.stream.synced, true);
    assert.ok((result.stream.initial ?? 0) >= 1);
    const samples = (result.stream.in_octets ?? []).map(Number);
    assert.equal(samples.length, 3);
    assert.ok(samples[1] > samples[0] && samples[2] > samples[1], `growing: ${samples}`);
  });

  it('a wrong password is refused with UNAUTHENTICATED', () => {
    assert.equal(result.wrong_password.error, 'UNAUTHENTICATED');
  });
});
