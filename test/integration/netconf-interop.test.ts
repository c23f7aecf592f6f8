/**
 * The collector's NETCONF session against a server this project did not write:
 * the `netconf` package (PyPI 2.1.0) over SSH with a pinned host key, polled with
 * `<get>` and a subtree filter over base:1.1 and base:1.0 framing, and in a mode
 * where it ignores the filter (the extra leaves are skipped and counted).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { SubscriptionProfile } from '../../core/device';
import { SessionError } from '../../core/session';
import { createNetconfProtocol } from '../../protocols/netconf/index';
import { UNREQUESTED_COUNTER } from '../../protocols/netconf/session';
import { generateEd25519KeyPair } from '../../simulator/netconf/server';
import { ensurePythonVenv } from '../../scripts/infra/pyvenv';
import { NETCONF_SERVER_PACKAGES, publicKeyOf, startPythonNetconfServer, writeKeyFile, type PythonNetconfServer } from '../peers/netconf-peers';
import { until as untilEvery } from '../../testkit/until';
import { localNetconfDevice, recordSession, type RecordedSession } from '../support/netconf-device';

const until = (what: string, cond: () => boolean, ms = 10_000) => untilEvery(what, cond, ms, 25);

const IF = 'urn:ietf:params:xml:ns:yang:ietf-interfaces';
const PASSWORD = 'interop-secret';
const protocol = createNetconfProtocol({ rpcTimeoutMs: 5000, messageTimeoutMs: 3000, connectTimeoutMs: 10_000 });

type Run = RecordedSession;

function collect(port: number, hostKeySha256: string, filter: string, periodMs = 200): Run {
  const device = localNetconfDevice({ port, hostKeySha256 }, {}, { id: 31, name: 'python-netconf', secrets: { password: PASSWORD } });
  const profile: SubscriptionProfile = { id: 1, name: 'ifs', protocol: 'netconf', netconf: { method: 'get', filterType: 'subtree', filter, periodMs, dampeningMs: 0, stream: 'NETCONF', listKeys: {} } };
  return recordSession(protocol, device, profile);
}

const valuesOf = (r: Run, p: string) => r.points.filter((x) => x.path === p).map((x) => x.value as number);

describe('netconf interop: the python `netconf` 2.1.0 server', function () {
  this.timeout(60_000);
  let dir: string;
  let keyFile: string;
  let pinned: string;
  let server: PythonNetconfServer | undefined;
  let run: Run | undefined;

  before(async function () {
    this.timeout(300_000); // first run installs the venv from PyPI
    await ensurePythonVenv('netconf-server', NETCONF_SERVER_PACKAGES);
    dir = mkdtempSync(path.join(os.tmpdir(), 'nc-interop-'));
    const key = generateEd25519KeyPair();
    keyFile = writeKeyFile(path.join(dir, 'host.key'), key.private);
    pinned = publicKeyOf(key.private).sha256;
  });
  afterEach(async () => {
    run?.abort.abort();
    await run?.done.catch(() => undefined);
    run = undefined;
    await server?.stop();
    server = undefined;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const base of ['1.1', '1.0'] as const) {
    it(`polls <get> with a subtree filter over base:${base} framing, host key pinned`, async () => {
      server = await startPythonNetconfServer({ hostKeyFile: keyFile, password: PASSWORD, base });
      assert.equal(server.reportedSha256, pinned, 'the server presents the key we pinned');
      run = collect(server.port, pinned, `<interfaces-state xmlns="${IF}"><interface/></interfaces-state>`);
      const eth1 = '/interfaces-state/interface[name=eth1]/statistics/in-octets';
      await until('three polls of eth1 in-octets', () => valuesOf(run!, eth1).length >= 3);
      const v = valuesOf(run, eth1);
      assert.ok(v[2] > v[0], `counter grows: ${v}`);
      assert.ok(run.points.some((p) => p.path === '/interfaces-state/interface[name=eth3]/oper-status' && p.value === 'down'));
      assert.ok(!run.points.some((p) => p.path.startsWith('/system-state')), 'the server filtered out system-state');
      const connected = run.events.find((e) => e.type === 'connected') as { detail: string };
      assert.match(connected.detail, base === '1.1' ? /base:1\.1 chunked/ : /base:1\.0 end-of-message/);
      assert.ok(server.rpcs.length >= 3 && server.rpcs.every((r) => r.rpc === 'get' && r.filter), 'every <get> carried a filter');
      assert.ok(server.rpcs.every((r) => r.framing === (base === '1.1' ? 'chunked' : 'eom')), `server framing: ${JSON.stringify(server.rpcs)}`);
      assert.equal(run.counters.get(UNREQUESTED_COUNTER) ?? 0, 0, 'a filtering server sends nothing extra');
    });
  }

  it('a content-match filter selects one interface', async () => {
    server = await startPythonNetconfServer({ hostKeyFile: keyFile, password: PASSWORD });
    run = collect(server.port, pinned, `<interfaces-state xmlns="${IF}"><interface><name>eth2</name><statistics><out-octets/></statistics></interface></interfaces-state>`);
    await until('two polls', () => valuesOf(run!, '/interfaces-state/interface[name=eth2]/statistics/out-octets').length >= 2);
    const paths = new Set(run.points.map((p) => p.path));
    assert.deepEqual([...paths], ['/interfaces-state/interface[name=eth2]/statistics/out-octets']);
  });

  it('a server that ignores the filter: the extra leaves are skipped and counted', async () => {
    server = await startPythonNetconfServer({ hostKeyFile: keyFile, password: PASSWORD, ignoreFilter: true });
    run = collect(server.port, pinned, `<interfaces-state xmlns="${IF}"><interface><statistics/></interface></interfaces-state>`);
    await until('three replies', () => valuesOf(run!, '/interfaces-state/interface[name=eth0]/statistics/in-octets').length >= 3);
    const replies = valuesOf(run, '/interfaces-state/interface[name=eth0]/statistics/in-octets').length;
    assert.ok(!run.points.some((p) => p.path.startsWith('/system-state')), 'system-state skipped');
    assert.ok(!run.points.some((p) => p.path.endsWith('/oper-status')), 'oper-status was not selected');
    // Per reply: 4 interfaces × oper-status, plus system-state's os-name, os-release, current-datetime.
    assert.equal(run.counters.get(UNREQUESTED_COUNTER), replies * (4 + 3));
    const warnings = run.events.filter((e) => e.type === 'warning') as Array<{ message: string }>;
    assert.equal(warnings.length, 1, 'one warning per session');
    assert.match(warnings[0].message, /does not select; they are skipped/);
  });

  it('entries selected below a list come with their keys (the collector asks for them)', async () => {
    server = await startPythonNetconfServer({ hostKeyFile: keyFile, password: PASSWORD });
    run = collect(server.port, pinned, `<interfaces-state xmlns="${IF}"><interface><statistics><in-errors/></statistics></interface></interfaces-state>`);
    await until('two polls', () => run!.points.length >= 8);
    assert.deepEqual([...new Set(run.points.map((p) => p.path))].sort(), [0, 1, 2, 3].map((i) => `/interfaces-state/interface[name=eth${i}]/statistics/in-errors`));
    assert.equal(run.counters.get('netconf_unkeyed_lists_total') ?? 0, 0);
  });

  it('lacks top-level selection filters: its rpc-error parks the session as config-invalid, naming the cause', async () => {
    server = await startPythonNetconfServer({ hostKeyFile: keyFile, password: PASSWORD });
    run = collect(server.port, pinned, `<interfaces-state xmlns="${IF}"/>`);
    const err = await run.done.then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof SessionError && err.code === 'CONFIG_INVALID', String(err));
    assert.match(err.message, /<get>: the device answered rpc-error operation-failed/);
  });

  it('a different host key is refused with both fingerprints', async () => {
    server = await startPythonNetconfServer({ hostKeyFile: keyFile, password: PASSWORD });
    const other = publicKeyOf(generateEd25519KeyPair().private).sha256;
    run = collect(server.port, other, `<interfaces-state xmlns="${IF}"/>`);
    const err = await run.done.then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof SessionError && err.code === 'HOST_KEY_MISMATCH', String(err));
    assert.ok(err.message.includes(pinned) && err.message.includes(other));
  });
});
