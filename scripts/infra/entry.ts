/**
 * How the project's TypeScript entry points are run as processes: node with tsx,
 * plus the V8 flags an entry point is tuned with. Every launcher (npm start, the
 * test and fault rigs, the benchmarks, `npm run collector`) uses this, so what is
 * measured is what runs.
 */
import path from 'node:path';

/**
 * V8 flags per entry point. The collector allocates a few short-lived objects per
 * point (decoded updates, points, path strings); a 64 MiB young generation halves
 * its scavenges' share of CPU: 7.55 → 5.6–5.9 µs of collector CPU per point, for
 * ~90 MiB more RSS (docs/performance.md, optimisation 3). Keep the `collector`
 * script in package.json in step (a unit test checks it).
 */
export const ENTRY_NODE_FLAGS: Readonly<Record<string, readonly string[]>> = {
  'workers/collector.ts': ['--max-semi-space-size=64'],
};

/** Node arguments that run `file` (relative to the repository root `root`) with its flags. */
export function entryArgs(root: string, file: string): string[] {
  return [...(ENTRY_NODE_FLAGS[file] ?? []), '--import', 'tsx', path.join(root, file)];
}
