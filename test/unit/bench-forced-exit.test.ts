import assert from 'node:assert/strict';
import { forcedExitHandovers } from '../../bench/lib/collectors';

describe("bench: a collector's final hand-over counts from its forced-exit line", () => {
  const forced = JSON.stringify({ level: 'error', component: 'collector', msg: 'forced exit: shutdown took longer than COLLECTOR_SHUTDOWN_FORCE_MS', handovers: { up: 284, bound: 4716 } });

  it('reads up and bound from the forced-exit line among other output', () => {
    const lines = ['IllegalStateError: something', forced, '    at main (workers/collector.ts:1:1)'];
    assert.deepEqual(forcedExitHandovers(lines), { up: 284, bound: 4716 });
  });

  it('is undefined without that line, for other JSON lines, and for a line without both counts', () => {
    assert.equal(forcedExitHandovers([]), undefined);
    assert.equal(forcedExitHandovers([JSON.stringify({ msg: 'collector leaving: its Temporal worker passed its force time', handovers: { up: 1, bound: 2 } })]), undefined);
    assert.equal(forcedExitHandovers([JSON.stringify({ msg: 'forced exit: …', handovers: { up: 3 } })]), undefined);
    assert.equal(forcedExitHandovers(['{not json']), undefined);
  });
});
