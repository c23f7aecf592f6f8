/** Every launcher runs an entry point with the same flags; `npm run collector` too. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ENTRY_NODE_FLAGS, entryArgs } from '../../scripts/infra/entry';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

describe('entry point arguments', () => {
  it('the collector runs with its young-generation size; other entry points with tsx alone', () => {
    assert.deepEqual(entryArgs('/r', 'workers/collector.ts'), ['--max-semi-space-size=64', '--import', 'tsx', '/r/workers/collector.ts']);
    assert.deepEqual(entryArgs('/r', 'web/server.ts'), ['--import', 'tsx', '/r/web/server.ts']);
  });

  it('`npm run collector` uses the same flags as the launchers', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    assert.equal(pkg.scripts.collector, ['node', ...ENTRY_NODE_FLAGS['workers/collector.ts'], '--import', 'tsx', 'workers/collector.ts'].join(' '));
  });
});
