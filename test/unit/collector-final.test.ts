import assert from 'node:assert/strict';
import { finalCounters } from '../../testkit/collector-final';

describe("a collector's final counters from its last log line", () => {
  const forced = JSON.stringify({
    level: 'error',
    component: 'collector',
    msg: 'forced exit: shutdown took longer than COLLECTOR_SHUTDOWN_FORCE_MS',
    pointsLost: 19053,
    received: 9311505,
    dropped: 19053,
    handovers: { up: 284, bound: 4716 },
  });

  it('reads the counts and the hand-overs (up, bound) from a JSON forced-exit line among other output', () => {
    const output = ['IllegalStateError: something', forced, '    at main (workers/collector.ts:1:1)'].join('\n');
    assert.deepEqual(finalCounters(output), { received: 9311505, dropped: 19053, handovers: { up: 284, bound: 4716 } });
  });

  it('reads a text forced-exit line, and a clean stop without hand-overs', () => {
    const text = 'error collector forced exit: shutdown took longer than COLLECTOR_SHUTDOWN_FORCE_MS pointsLost=7 received=120 dropped=7 handovers={"up":3,"bound":1}';
    assert.deepEqual(finalCounters(text), { received: 120, dropped: 7, handovers: { up: 3, bound: 1 } });
    assert.deepEqual(finalCounters('info collector collector stopped received=50 written=50 dropped=0'), { received: 50, dropped: 0 });
  });

  it('reads the streams ended with nowhere to go (ADR 295) when the line has them', () => {
    const text = 'error collector forced exit: shutdown took longer than COLLECTOR_SHUTDOWN_FORCE_MS pointsLost=7 received=120 dropped=7 handovers={"up":0,"bound":0,"nowhere":3}';
    assert.deepEqual(finalCounters(text)?.handovers, { up: 0, bound: 0, nowhere: 3 });
  });

  it('is undefined without such a line; has no hand-overs for another line or a line without both counts', () => {
    assert.equal(finalCounters(''), undefined);
    assert.equal(finalCounters('{not json'), undefined);
    assert.equal(finalCounters(JSON.stringify({ msg: 'collector leaving: its Temporal worker passed its force time', received: 1, dropped: 0, handovers: { up: 1, bound: 2 } })), undefined);
    assert.equal(finalCounters(JSON.stringify({ msg: 'forced exit: …', received: 5, dropped: 1, handovers: { up: 3 } }))?.handovers, undefined);
  });
});
