/**
 * The functions a V8 CPU profile (`node --cpu-prof`) spent most time in: self time by function
 * and file, and total (inclusive) time of the heaviest call sites, as shares of the samples.
 *
 *   node --import tsx bench/cpu-profile-top.ts <file.cpuprofile> [rows] [from-s] [to-s]
 *
 * Also prints the busy share (not idle) per 5 s of the profile; `from-s`/`to-s` (seconds since the
 * profile started) restrict the tables to a window, e.g. a hand-over burst.
 */
import fs from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

function main() {
  const [file, rowsArg, fromArg, toArg] = process.argv.slice(2);
  if (!file) throw new Error('usage: cpu-profile-top.ts <file.cpuprofile> [rows] [from-s] [to-s]');
  const rows = Number(rowsArg ?? 30);
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  // Sample times (s since the start), the busy share per 5 s, then only the window's samples.
  let t = 0;
  const at = profile.timeDeltas.map((d) => (t += d) / 1e6);
  const idle = new Set(profile.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id));
  const buckets = new Map<number, { busy: number; all: number }>();
  profile.samples.forEach((s, i) => {
    const b = buckets.get(Math.floor(at[i] / 5)) ?? { busy: 0, all: 0 };
    b.all++;
    if (!idle.has(s)) b.busy++;
    buckets.set(Math.floor(at[i] / 5), b);
  });
  console.log(`busy share per 5 s: ${[...buckets].map(([k, b]) => `${k * 5}s ${Math.round((b.busy / b.all) * 100)}%`).join(', ')}`);
  const from = Number(fromArg ?? 0);
  const to = Number(toArg ?? Infinity);
  profile.samples = profile.samples.filter((_, i) => at[i] >= from && at[i] <= to);
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfCount = new Map<number, number>();
  for (const s of profile.samples) selfCount.set(s, (selfCount.get(s) ?? 0) + 1);
  const total = profile.samples.length;
  const label = (n: ProfileNode) => {
    const url = n.callFrame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/(?=(activities|protocols|bench|core|simulator|storage|workers)\/)/, '');
    return `${n.callFrame.functionName || '(anonymous)'} ${url}${url ? `:${n.callFrame.lineNumber + 1}` : ''}`;
  };
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  for (const [id, count] of selfCount) {
    const node = byId.get(id)!;
    self.set(label(node), (self.get(label(node)) ?? 0) + count);
    // Each frame on the stack once per sample (recursion counted once).
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const l = label(byId.get(at)!);
      if (seen.has(l)) continue;
      seen.add(l);
      inclusive.set(l, (inclusive.get(l) ?? 0) + count);
    }
  }
  const pct = (n: number) => `${((n / total) * 100).toFixed(1).padStart(5)} %`;
  console.log(`${total} samples. Self time:`);
  for (const [l, n] of [...self].sort((a, b) => b[1] - a[1]).slice(0, rows)) console.log(`  ${pct(n)}  ${l}`);
  console.log(`Total time (inclusive):`);
  for (const [l, n] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, rows)) console.log(`  ${pct(n)}  ${l}`);
}

main();
