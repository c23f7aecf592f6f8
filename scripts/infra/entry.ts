/**
 * How the project's TypeScript entry points are run as processes: node with tsx,
 * plus the V8 flags an entry point is tuned with. Every launcher (npm start, the
 * test and fault rigs, the benchmarks, `npm run collector`) uses this, so what is
 * measured is what runs.
 */
import path from 'node:path';
import { ENTRY_NODE_FLAGS } from '../../core/roles';

/** V8 flags per entry file, from the role table (core/roles.ts). Keep the `collector` script in package.json in step (a unit test checks it). */
export { ENTRY_NODE_FLAGS };

/** Node arguments that run `file` (relative to the repository root `root`) with its flags. */
export function entryArgs(root: string, file: string): string[] {
  return [...(ENTRY_NODE_FLAGS[file] ?? []), '--import', 'tsx', path.join(root, file)];
}
