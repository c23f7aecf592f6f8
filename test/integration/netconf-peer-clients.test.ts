/**
 * The simulator as a lab target for a NETCONF client this project did not write:
 * ncclient (PyPI 0.7.1), driven by test/peers/ncclient_probe.py, does hello,
 * <get>, <get-config>, <get-data> (operational and running), an RFC 5277 and an
 * RFC 8639 subscription, and a login with a wrong password.
 */
import assert from 'node:assert/strict';
import { SimDevice } from '../../simulator/model';
import { generateEd25519KeyPair, startNetconfServer, type NetconfServer } from '../../simulator/netconf/server';
import { ensurePythonVenv } from '../../scripts/infra/pyvenv';
import { NCCLIENT_PACKAGES, publicKeyOf, runNcclientProbe, type NcclientProbeResult } from '../peers/netconf-peers';

const IF = 'urn:ietf:params:xml:ns:yang:ietf-interfaces';
const NMDA = 'urn:ietf:params:xml:ns:yang:ietf-netconf-nmda';

describe('netconf peer clients: ncclient 0.7.1 against the simulator', function () {
  this.timeout(90_000);
  let server: NetconfServer | undefined;
  const hostKey = generateEd25519KeyPair();

  before(async function () {
    this.timeout(300_000); // first run installs the venv from PyPI
    await ensurePythonVenv('ncclient', NCCLIENT_PACKAGES);
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function probe(nmda: boolean, badPassword = false): Promise<NcclientProbeResult> {
    server = await startNetconfServer({
      device: new SimDevice({ name: nmda ? 'lab-nmda' : 'lab-legacy', interfaces: 3 }),
      hostKey: hostKey.private,
      users: [{ username: 'lab', password: 'lab-pass' }],
      notificationIntervalMs: 100,
      nmda,
    });
    const result = await runNcclientProbe({ port: server.port, username: 'lab', password: 'lab-pass', hostKeyB64: publicKeyOf(hostKey.private).b64, badPassword });
    assert.ok(result.ok, `probe failed: ${result.error}`);
    return result;
  }

  it('an NMDA device: hello, get, get-config, get-data, both subscription kinds; a wrong password is refused', async () => {
    const r = await probe(true, true);
    const caps = r.serverCapabilities;
    assert.ok(caps.includes('urn:ietf:params:netconf:base:1.1'));
    assert.ok(caps.some((c) => c.startsWith(`${IF}?`) && c.includes('revision=2018-02-20')), 'ietf-interfaces NMDA revision');
    assert.ok(caps.some((c) => c.startsWith(`${NMDA}?`)), 'ietf-netconf-nmda');
    assert.match(r.sessionId, /^\d+$/);

    // <get> with a content-match subtree filter on the NMDA tree.
    const got = Object.keys(r.get.leaves);
    assert.ok(got.includes('/interfaces/interface[Ethernet1]/statistics/in-octets'), got.join(' '));
    assert.ok(got.includes('/interfaces/interface[Ethernet1]/oper-status'));
    assert.ok(!got.some((p) => p.includes('Ethernet2')), 'filtered to Ethernet1');

    // <get-config> running: configuration only.
    const cfg = r.getConfig.leaves;
    assert.equal(cfg['/system/hostname'], 'lab-nmda');
    assert.equal(cfg['/interfaces/interface[Ethernet2]/enabled'], 'true');
    assert.ok(!Object.keys(cfg).some((p) => p.includes('statistics') || p.includes('oper-status')), 'no state in running');

    // <get-data>: operational has state, running has none.
    assert.ok('leaves' in r.getData, JSON.stringify(r.getData));
    assert.ok(Object.keys(r.getData.leaves).includes('/interfaces/interface[Ethernet1]/statistics/out-octets'));
    assert.ok('leaves' in r.getDataRunning, JSON.stringify(r.getDataRunning));
    assert.equal(r.getDataRunning.leaves['/interfaces/interface[Ethernet3]/type'], 'ianaift:ethernetCsmacd');
    assert.ok(!Object.keys(r.getDataRunning.leaves).some((p) => p.includes('statistics')));

    assert.match(r.createSubscription.notification ?? '', /<health-sample/);
    assert.match(r.establishSubscription.id ?? '', /^\d+$/);
    assert.match(r.establishSubscription.notification ?? '', /<push-update[\s\S]*<interfaces /);
    assert.deepEqual(r.badLogin, { refused: true, error: 'AuthenticationError' });
  });

  it('a pre-NMDA device advertises ietf-interfaces 2014-05-08 and refuses get-data', async () => {
    const r = await probe(false);
    assert.ok(r.serverCapabilities.some((c) => c.startsWith(`${IF}?`) && c.includes('revision=2014-05-08')));
    assert.ok(!r.serverCapabilities.some((c) => c.startsWith(`${NMDA}?`)));
    assert.ok('error' in r.getData && /not supported/.test(r.getData.error), JSON.stringify(r.getData));
    assert.deepEqual(Object.keys(r.get.leaves), [], 'no /interfaces state tree on a legacy device');
    assert.equal(r.getConfig.leaves['/system/hostname'], 'lab-legacy');
  });
});
