/**
 * gNMI decode cost: µs per notification (protobuf parse + decode to points) for
 * typical PROTO and JSON_IETF notifications, the worst single block for a
 * message at the default 4 MiB limit, and the event-loop delay seen while a
 * live collector session decodes a fast stream from the simulator.
 *
 *   npx tsx bench/gnmi-decode.ts
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { gnmiProtocol } from '../protocols/gnmi/index';
import { NotificationDecoder } from '../protocols/gnmi/decode';
import { gnmiProto, type WireNotification, type WireSubscribeResponse } from '../protocols/gnmi/proto';
import { SimDevice } from '../simulator/model';
import { buildNotifications, nowNanos } from '../simulator/gnmi/encode';
import { leafPath } from '../simulator/gnmi/match';
import { startGnmiTarget } from '../simulator/gnmi/target';
import { gnmiProfile, localGnmiDevice, recordingContext } from '../simulator/gnmi/harness';

const { Subscribe } = gnmiProto().service;

function frames(device: SimDevice, encoding: 'PROTO' | 'JSON_IETF', jsonRoot?: number): Buffer[] {
  const leaves = device.leaves().map((l) => ({ path: leafPath(l.path), value: l.value }));
  const ns = buildNotifications(leaves, { encoding, timestamp: nowNanos(), jsonRoot: jsonRoot === undefined ? undefined : () => jsonRoot });
  return ns.map((n) => Subscribe.responseSerialize({ update: n }));
}

function measure(name: string, bufs: Buffer[], rounds: number): void {
  const decoder = new NotificationDecoder(1);
  let points = 0;
  let worst = 0;
  const t0 = performance.now();
  for (let r = 0; r < rounds; r++) {
    for (const b of bufs) {
      const s = performance.now();
      const msg = Subscribe.responseDeserialize(b) as WireSubscribeResponse;
      points += decoder.decode(msg.update as WireNotification).points.length;
      const d = performance.now() - s;
      if (d > worst) worst = d;
    }
  }
  const total = performance.now() - t0;
  const n = rounds * bufs.length;
  const bytes = bufs.reduce((a, b) => a + b.length, 0) / bufs.length;
  console.log(
    `${name.padEnd(44)} ${(total * 1000 / n).toFixed(1).padStart(8)} µs/notification  ${((total * 1000) / points).toFixed(2).padStart(6)} µs/point  ` +
      `${Math.round(bytes)} B avg  worst ${worst.toFixed(2)} ms`,
  );
}

/** Longest event-loop block while decoding large frames with decodeSliced (what the session uses). */
async function slicedBlock(name: string, bufs: Buffer[], rounds: number): Promise<void> {
  const decoder = new NotificationDecoder(1);
  const h = monitorEventLoopDelay({ resolution: 1 });
  // A 1 ms timer stands in for other sessions' heartbeats.
  const ticker = setInterval(() => undefined, 1);
  h.enable();
  const t0 = performance.now();
  let n = 0;
  for (let r = 0; r < rounds; r++) {
    for (const b of bufs) {
      const msg = Subscribe.responseDeserialize(b) as WireSubscribeResponse;
      await decoder.decodeSliced(msg.update as WireNotification);
      n++;
    }
  }
  const total = performance.now() - t0;
  h.disable();
  clearInterval(ticker);
  console.log(`${name.padEnd(44)} ${(total * 1000 / n).toFixed(1).padStart(8)} µs/notification  event-loop delay max ${(h.max / 1e6).toFixed(2)} ms, p99 ${(h.percentile(99) / 1e6).toFixed(2)} ms`);
}

async function liveLoop(): Promise<void> {
  const device = new SimDevice({ name: 'bench', interfaces: 64 });
  const target = await startGnmiTarget({ device, port: 0 });
  const ctx = recordingContext(localGnmiDevice(target.port), [
    gnmiProfile({ subscriptions: [{ path: '/interfaces', mode: 'sample', sampleIntervalMs: 10, heartbeatIntervalMs: 0, suppressRedundant: false }] }),
  ]);
  let received = 0;
  ctx.sink.push = (pts) => {
    received += pts.length;
  };
  const h = monitorEventLoopDelay({ resolution: 1 });
  const run = gnmiProtocol.run(ctx);
  await new Promise((r) => setTimeout(r, 500)); // warm up
  h.enable();
  const t0 = performance.now();
  const start = received;
  await new Promise((r) => setTimeout(r, 3000));
  h.disable();
  const secs = (performance.now() - t0) / 1000;
  ctx.controller.abort();
  await run;
  await target.close();
  console.log(
    `live session (64 interfaces, 10 ms SAMPLE, collector + simulator in one process): ${Math.round((received - start) / secs)} points/s, ` +
      `event-loop delay p50 ${(h.percentile(50) / 1e6).toFixed(2)} ms, p99 ${(h.percentile(99) / 1e6).toFixed(2)} ms, max ${(h.max / 1e6).toFixed(2)} ms`,
  );
}

async function main() {
  const small = new SimDevice({ name: 'bench', interfaces: 48 });
  measure('PROTO, one interface (9 typed leaves)', frames(small, 'PROTO'), 2000);
  measure('JSON_IETF, one interface (9 leaves)', frames(small, 'JSON_IETF'), 2000);
  measure('JSON_IETF, /interfaces tree (48 × 9 leaves)', frames(small, 'JSON_IETF', 1), 200);
  const big = new SimDevice({ name: 'big', interfaces: 4000 });
  const bigFrames = frames(big, 'JSON_IETF', 1);
  console.log(`largest frame: ${(bigFrames[0].length / 1024 / 1024).toFixed(2)} MiB (4000 interfaces in one JSON_IETF tree)`);
  measure('JSON_IETF, /interfaces tree (4000 × 9 leaves)', bigFrames, 5);
  await slicedBlock('  same, decodeSliced (5 ms slices)', bigFrames, 5);
  const huge = new SimDevice({ name: 'huge', interfaces: 15000 });
  const hugeFrames = frames(huge, 'JSON_IETF', 1).slice(0, 1);
  console.log(`near the 4 MiB default limit: ${(hugeFrames[0].length / 1024 / 1024).toFixed(2)} MiB frame (15000 interfaces)`);
  measure('JSON_IETF 15000 × 9 leaves, decode() sync', hugeFrames, 2);
  await slicedBlock('  same, decodeSliced (5 ms slices)', hugeFrames, 2);
  const bigProto = frames(big, 'PROTO');
  measure('PROTO, 4000 interfaces (one notification each)', bigProto, 3);
  await liveLoop();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
