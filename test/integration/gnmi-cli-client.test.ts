/**
 * The simulator as a lab target for a gNMI client from another ecosystem: the OpenConfig
 * reference client gnmi_cli (Go, grpc-go; github.com/openconfig/gnmi v0.14.1, built from the Go
 * module proxy) against a simulated device started as `npm start` starts it (plaintext,
 * admin/admin): Capabilities, Get in JSON, JSON_IETF and PROTO, Subscribe ONCE, POLL and STREAM,
 * and a wrong password refused with UNAUTHENTICATED. The commands are the ones docs/simulator.md shows.
 */
import assert from 'node:assert/strict';
import { SIM_PASSWORD, SIM_USERNAME, startFleet, type Fleet } from '../../simulator/fleet';
import { ensureGnmiCli, runGnmiCli } from '../peers/gnmi-cli';

const credentials = { username: SIM_USERNAME, password: SIM_PASSWORD };
const IN_OCTETS_ETH1 = 'path: <elem: <name: "interfaces"> elem: <name: "interface" key: <key: "name" value: "Ethernet1">> elem: <name: "state"> elem: <name: "counters"> elem: <name: "in-octets">>';
const QUERY = ['-q', 'interfaces/interface/state/counters/in-octets', '-ts', 'raw'];

/** Lines of `-display_type single` for one interface: [timestamp ns, in-octets]. */
function singleLines(stdout: string, name: string): Array<[bigint, number]> {
  const re = new RegExp(`^interfaces/interface/${name}/state, .*in-octets:([0-9.e+]+)\\]\\]\\}, (\\d+)$`, 'gm');
  return [...stdout.matchAll(re)].map((m) => [BigInt(m[2]), Number(m[1])]);
}

describe('gNMI: the simulator seen by an independent client (OpenConfig gnmi_cli 0.14.1, Go)', function () {
  this.timeout(60_000);
  let fleet: Fleet;
  let address: string;

  before(async function () {
    this.timeout(600_000); // the first run builds gnmi_cli from the Go module proxy
    await ensureGnmiCli();
    fleet = await startFleet({ gnmiCount: 1, interfaces: 2 });
    address = `${fleet.members[0].host}:${fleet.members[0].port}`;
  });
  after(() => fleet?.close());

  it('Capabilities: gNMI 0.10.0, JSON, JSON_IETF and PROTO, the OpenConfig models', async () => {
    const r = await runGnmiCli(address, credentials, ['-capabilities']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /gNMI_version:\s+"0\.10\.0"/);
    assert.deepEqual([...r.stdout.matchAll(/supported_encodings:\s+(\w+)/g)].map((m) => m[1]).sort(), ['JSON', 'JSON_IETF', 'PROTO']);
    assert.match(r.stdout, /name:\s+"openconfig-interfaces"/);
  });

  it('Get in PROTO, JSON_IETF and JSON: the same growing counter, each in its encoding', async () => {
    const get = async (encoding: string) => {
      const r = await runGnmiCli(address, credentials, ['-get', '-proto', `${IN_OCTETS_ETH1} encoding: ${encoding}`]);
      assert.equal(r.code, 0, `${encoding}: ${r.stderr}`);
      return r.stdout;
    };
    const proto = Number(/uint_val:\s+(\d+)/.exec(await get('PROTO'))?.[1]);
    // JSON_IETF (RFC 7951): the 64-bit counter as a string; JSON: as a number. Both a tree rooted at the leaf's container.
    const ietf = /json_ietf_val:\s+"\{\\"counters\\":\{\\"in-octets\\":\\"(\d+)\\"\}\}"/.exec(await get('JSON_IETF'))?.[1];
    const json = /json_val:\s+"\{\\"counters\\":\{\\"in-octets\\":(\d+)\}\}"/.exec(await get('JSON'))?.[1];
    assert.ok(proto > 0 && ietf && json, `PROTO ${proto}, JSON_IETF ${ietf}, JSON ${json}`);
    assert.ok(proto <= Number(ietf) && Number(ietf) <= Number(json), `asked one after the other: ${proto} ≤ ${ietf} ≤ ${json}`);
  });

  it('Subscribe ONCE: every interface once, then the end', async () => {
    const r = await runGnmiCli(address, credentials, ['-qt', 'once', '-display_type', 'single', ...QUERY]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(singleLines(r.stdout, 'Ethernet1').length, 1, r.stdout);
    assert.equal(singleLines(r.stdout, 'Ethernet2').length, 1, r.stdout);
  });

  it('Subscribe POLL: the initial round and two Polls, each a new reading', async () => {
    const r = await runGnmiCli(address, credentials, ['-qt', 'polling', '-polling_interval', '300ms', '-count', '3', '-display_type', 'group', ...QUERY]);
    assert.equal(r.code, 0, r.stderr);
    const stamps = [...new Set([...r.stdout.matchAll(/"timestamp": (\d+)/g)].map((m) => m[1]))];
    assert.equal(stamps.length, 3, `three rounds, each stamped anew:\n${r.stdout}`);
  });

  it('Subscribe STREAM: samples that keep coming and grow', async () => {
    const r = await runGnmiCli(address, credentials, ['-qt', 'streaming', '-display_type', 'single', ...QUERY], { until: (out) => singleLines(out, 'Ethernet1').length >= 3 });
    const eth1 = singleLines(r.stdout, 'Ethernet1');
    assert.ok(eth1.length >= 3, r.stdout);
    assert.ok(eth1[1][0] > eth1[0][0] && eth1[2][0] > eth1[1][0], `new timestamps: ${eth1.map((x) => x[0])}`);
    assert.ok(eth1[2][1] > eth1[0][1], `the counter grows: ${eth1.map((x) => x[1])}`);
  });

  it('a wrong password is refused with UNAUTHENTICATED', async () => {
    const r = await runGnmiCli(address, { ...credentials, password: 'not-the-password' }, ['-capabilities']);
    assert.notEqual(r.code, 0);
    assert.match(r.stdout + r.stderr, /code = Unauthenticated/);
  });
});
