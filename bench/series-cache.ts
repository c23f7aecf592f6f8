/**
 * Micro-benchmark of the batcher's series-id lookup: a 5,000-point batch whose
 * series are all cached (the steady state), in ns per point.
 * `node --import tsx bench/series-cache.ts`
 */
import { SeriesCache } from '../storage/series-cache';

const devices = 30;
const pathsPerDevice = 48 * 7;
const paths = Array.from({ length: pathsPerDevice }, (_, i) => `/interfaces/interface[name=Ethernet${Math.floor(i / 7) + 1}]/state/counters/c${i % 7}`);
const cache = new SeriesCache();
// Warm the cache through the public API with a fake client that answers like PostgreSQL.
let nextId = 1;
const fakeClient = {
  async query(_sql: string, params: [number[], string[], string[]?]) {
    if (params.length === 3) return { rows: [] };
    return { rows: params[0].map((device_id, i) => ({ id: nextId++, device_id, path: params[1][i] })) };
  },
};
const batch = Array.from({ length: 5000 }, (_, i) => ({ deviceId: (i % devices) + 1, path: paths[i % pathsPerDevice], value: i, timestamp: 0 }));
const all: Array<{ deviceId: number; path: string; value: number; timestamp: number }> = [];
for (let d = 1; d <= devices; d++) for (const path of paths) all.push({ deviceId: d, path, value: 1, timestamp: 0 });

async function main() {
  await cache.idsFor(fakeClient as never, all);
  let sink = 0;
  for (let round = 0; round < 3; round++) {
    const t0 = process.hrtime.bigint();
    const iterations = 400;
    for (let i = 0; i < iterations; i++) {
      const ids = await cache.idsFor(fakeClient as never, batch);
      sink += ids[0]!;
    }
    const ns = Number(process.hrtime.bigint() - t0) / (iterations * batch.length);
    console.log(`series-id lookup: ${ns.toFixed(1)} ns/point (cached ${cache.size} series)`);
  }
  if (sink < 0) console.log(sink);
}

main();
