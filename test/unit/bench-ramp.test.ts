/** When the failover bench's ramp gives up waiting for every session to stream (bench/lib/ramp.ts). */
import assert from 'node:assert/strict';
import { RAMP_STALL_MS, rampGivesUp } from '../../bench/lib/ramp';

describe('bench: the failover ramp', () => {
  const limit = 590_000;

  it('waits out its limit, however long nothing grew', () => {
    assert.equal(rampGivesUp(limit - 1, limit - 1, limit), false);
  });

  it('past its limit goes on while sessions still start streaming, and stops once none did for the stall time', () => {
    assert.equal(rampGivesUp(limit + 60_000, 30_000, limit), false);
    assert.equal(rampGivesUp(limit + 60_000, RAMP_STALL_MS - 1, limit), false);
    assert.equal(rampGivesUp(limit + 60_000, RAMP_STALL_MS, limit), true);
  });

  it('stops at three times its limit even while it gains', () => {
    assert.equal(rampGivesUp(3 * limit - 1, 0, limit), false);
    assert.equal(rampGivesUp(3 * limit, 0, limit), true);
  });
});
