/**
 * The whole collection path against a NETCONF server this project did not write: the `netconf`
 * package (PyPI 2.1.0) is added as devices (password stored encrypted, host key pinned in the
 * device's settings, a `<get>` profile with a subtree filter) and the real control and collector
 * workers run their sessions through Temporal into PostgreSQL. One server filters and speaks
 * base:1.0 only; the other ignores filters (base:1.1): what the filter selects is stored as
 * numbers under its paths, what it does not select is skipped and counted on the collector's
 * /metrics. (netconf-interop.test.ts runs the same server against the protocol code alone.)
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { UNREQUESTED_COUNTER } from '../../protocols/netconf/session';
import { generateEd25519KeyPair } from '../../simulator/netconf/server';
import { ensurePythonVenv } from '../../scripts/infra/pyvenv';
import { waitFor } from '../../scripts/infra/proc';
import { createDevice } from '../../storage/devices';
import { ensureProfile } from '../../storage/profiles';
import { parseKeyring } from '../../storage/secrets';
import { startDeviceSession } from '../../temporal/fleet-client';
import { waitForStatus } from '../e2e/session-support';
import { NETCONF_SERVER_PACKAGES, publicKeyOf, startPythonNetconfServer, writeKeyFile, type PythonNetconfServer } from '../peers/netconf-peers';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { scrapeCounter, startWorkers, testClient, TEST_SECRETS_KEY, type Workers } from '../support/system';

const IF = 'urn:ietf:params:xml:ns:yang:ietf-interfaces';
const PASSWORD = 'interop-workers-secret';
const IN_OCTETS = (i: number) => `/interfaces-state/interface[name=eth${i}]/statistics/in-octets`;

describe('netconf interop through the workers: the python `netconf` 2.1.0 server as devices', function () {
  this.timeout(120_000);
  let dir: string;
  let db: TestDatabase;
  let workers: Workers;
  let client: Client;
  const servers: PythonNetconfServer[] = [];
  const deviceIds: Record<'filtering' | 'ignoring', number> = { filtering: 0, ignoring: 0 };
  const serverOf: Partial<Record<'filtering' | 'ignoring', PythonNetconfServer>> = {};

  const series = async (deviceId: number) => (await db.db('series').where({ device_id: deviceId }).select('path', 'kind')) as Array<{ path: string; kind: string }>;
  const samples = async (deviceId: number, p: string) =>
    (await db.db.raw(`SELECT t.value FROM samples t JOIN series s ON s.id = t.series_id WHERE s.device_id = ? AND s.path = ? ORDER BY t.time`, [deviceId, p])).rows.map((r: { value: number }) =>
      Number(r.value),
    );

  before(async function () {
    this.timeout(600_000); // a first run installs the venv from PyPI
    await ensurePythonVenv('netconf-server', NETCONF_SERVER_PACKAGES);
    dir = mkdtempSync(path.join(os.tmpdir(), 'nc-interop-workers-'));
    const key = generateEd25519KeyPair();
    const keyFile = writeKeyFile(path.join(dir, 'host.key'), key.private);
    const pinned = publicKeyOf(key.private).sha256;
    db = await createTestDatabase('netconf_interop_workers');
    workers = await startWorkers(db.url);
    client = await testClient();
    const profileId = await ensureProfile(db.db, 'netconf', {
      name: 'interop-statistics',
      description: 'interface statistics by <get>, every 300 ms',
      spec: { method: 'get', filterType: 'subtree', filter: `<interfaces-state xmlns="${IF}"><interface><statistics/></interface></interfaces-state>`, periodMs: 300 },
    });
    for (const [kind, opts] of [
      ['filtering', { base: '1.0' as const }],
      ['ignoring', { ignoreFilter: true }],
    ] as const) {
      const server = await startPythonNetconfServer({ hostKeyFile: keyFile, password: PASSWORD, ...opts });
      servers.push(server);
      serverOf[kind] = server;
      const device = await createDevice(db.db, parseKeyring(TEST_SECRETS_KEY), {
        name: `python-netconf-${kind}`,
        protocol: 'netconf',
        host: '127.0.0.1',
        port: server.port,
        username: 'admin',
        secrets: { password: PASSWORD },
        settings: { netconf: { hostKeySha256: pinned } },
        profileIds: [profileId],
      });
      deviceIds[kind] = device.id;
      await startDeviceSession(client, { id: device.id, name: device.name, protocol: 'netconf' }, { heartbeatTimeoutMs: 4000 });
    }
  });

  after(async () => {
    for (const id of Object.values(deviceIds))
      if (id)
        await client?.workflow
          .getHandle(`device-session/${id}`)
          .terminate('test over')
          .catch(() => undefined);
    await workers?.stop();
    for (const s of servers) await s.stop();
    await client?.connection.close();
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const kind of ['filtering', 'ignoring'] as const) {
    it(`${kind === 'filtering' ? 'a filtering server over base:1.0' : 'a server that ignores the filter'}: streaming, the selected counters stored as growing numbers under their paths, nothing else`, async () => {
      const id = deviceIds[kind];
      const s = await waitForStatus(client, id, (x) => x.state === 'streaming', 'streaming', 60_000);
      assert.equal(s.lastError, undefined);
      await waitFor(`three polls of eth0..eth3 stored (${kind})`, async () => (await Promise.all([0, 1, 2, 3].map((i) => samples(id, IN_OCTETS(i))))).every((v) => v.length >= 3), 60_000, 200);
      const values = await samples(id, IN_OCTETS(1));
      assert.ok(values.at(-1)! > values[0], `eth1 in-octets grows: ${values}`);
      const stored = await series(id);
      assert.ok(
        stored.every((r) => /^\/interfaces-state\/interface\[name=eth[0-3]\]\/statistics\/(in|out)-(octets|errors)$/.test(r.path) && r.kind === 'number'),
        `only statistics, as numbers: ${stored.map((r) => `${r.path} ${r.kind}`).join(', ')}`,
      );
      assert.equal(stored.length, 16, '4 interfaces × 4 counters');
      // What the server itself saw: every <get> carried the filter, in the framing it offered.
      const rpcs = serverOf[kind]!.rpcs;
      assert.ok(rpcs.length >= 3 && rpcs.every((r) => r.rpc === 'get' && r.filter && r.framing === (kind === 'filtering' ? 'eom' : 'chunked')), JSON.stringify(rpcs.slice(0, 3)));
    });
  }

  it("the collector's /metrics counts what the ignoring server sent unasked (oper-status and system-state), and nothing from the filtering one", async () => {
    const port = workers.collectors[0].metricsPort;
    // Per reply of the ignoring server: 4 × oper-status and 3 system-state leaves.
    await waitFor('unrequested leaves counted', async () => (await scrapeCounter(port, UNREQUESTED_COUNTER)) >= 3 * 7, 30_000, 200);
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const lines = text.split('\n').filter((l) => l.startsWith(UNREQUESTED_COUNTER) && !l.endsWith(' 0'));
    assert.equal(lines.length, 1, `one profile counted: ${lines.join(' | ')}`);
    assert.equal(Number(lines[0].slice(lines[0].lastIndexOf(' ') + 1)) % 7, 0, `whole replies' worth (7 per reply): ${lines[0]}`);
  });
});
