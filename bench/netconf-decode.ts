/**
 * NETCONF decode throughput: frame + parse + XML→points for a <get> reply of
 * N interfaces (chunked framing, delivered in 16 KiB pieces like an SSH channel).
 * Run: npx tsx bench/netconf-decode.ts [interfaces=1000] [rounds=20]
 */
import { encodeMessage, FrameDecoder } from '../protocols/netconf/framing';
import { listKeyLookup, treeToPoints } from '../protocols/netconf/points';
import { readRpcReply } from '../protocols/netconf/rpc';
import { parseXml } from '../protocols/netconf/xml';
import { deviceData, toXml } from '../simulator/netconf/data';
import { SimDevice } from '../simulator/model';

async function main() {
  const n = Number(process.argv[2] ?? 1000);
  const rounds = Number(process.argv[3] ?? 20);
  const device = new SimDevice({ name: 'bench', interfaces: n });
  const xml = `<rpc-reply xmlns="urn:ietf:params:xml:ns:netconf:base:1.0" message-id="1"><data>${toXml(deviceData(device, 0))}</data></rpc-reply>`;
  const wire = encodeMessage(xml, 'chunked');
  const keys = listKeyLookup();
  let points = 0;
  const t0 = performance.now();
  for (let r = 0; r < rounds; r++) {
    const dec = new FrameDecoder({ maxMessageBytes: 64 * 1024 * 1024, framing: 'chunked' });
    for (let i = 0; i < wire.length; i += 16384) {
      for (const m of dec.write(wire.subarray(i, i + 16384))) {
        const reply = readRpcReply(parseXml(m.toString('utf8')))!;
        points += treeToPoints(reply.data!.children, { deviceId: 1, timestamp: Date.now(), keys }).length;
      }
    }
  }
  const ms = performance.now() - t0;
  console.log(JSON.stringify({ interfaces: n, messageBytes: wire.length, rounds, msPerMessage: +(ms / rounds).toFixed(1), pointsPerSecond: Math.round(points / (ms / 1000)), mbPerSecond: +((wire.length * rounds) / 1e6 / (ms / 1000)).toFixed(1) }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
