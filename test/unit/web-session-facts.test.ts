import assert from 'node:assert/strict';
import type { DeviceSessionStatus } from '../../core/names';
import { lastErrorFact, lastPointAt } from '../../web/app/lib/session-facts';

const status = (over: Partial<DeviceSessionStatus>): DeviceSessionStatus => ({ deviceId: 1, state: 'streaming', since: 5000, attempt: 2, generation: 0, paused: false, ...over });

describe('web: device page session facts (last point, last error)', () => {
  it('last point: the later of the stored samples and the workflow, "—" only when neither has one', () => {
    assert.equal(lastPointAt(status({}), 9000), 9000, 'streaming: the workflow has none yet, samples do');
    assert.equal(lastPointAt(status({ lastPointAt: 12_000 }), 9000), 12_000);
    assert.equal(lastPointAt(status({ lastPointAt: 12_000 }), undefined), 12_000);
    assert.equal(lastPointAt(null, undefined), undefined);
  });

  const table: Array<[string, Partial<DeviceSessionStatus>, ReturnType<typeof lastErrorFact>]> = [
    ['no error', {}, undefined],
    ['backoff: the error is current, since the state began', { state: 'backoff', since: 7000, lastError: 'refused' }, { message: 'refused', current: true, at: 7000 }],
    ['parked: current', { state: 'auth-failed', since: 8000, lastError: 'bad password' }, { message: 'bad password', current: true, at: 8000 }],
    [
      'recovered: an earlier connection, at its newest failing state',
      { state: 'streaming', lastError: 'reset', recent: [{ state: 'backoff', at: 1000 }, { state: 'connecting', at: 2000 }, { state: 'backoff', at: 3000 }, { state: 'streaming', at: 4000 }] },
      { message: 'reset', current: false, at: 3000 },
    ],
    ['recovered in an earlier run (continue-as-new): no time', { state: 'streaming', lastError: 'old', recent: [{ state: 'streaming', at: 1 }] }, { message: 'old', current: false, at: undefined }],
    ['paused after a failure: earlier', { state: 'paused', lastError: 'x', recent: [{ state: 'backoff', at: 10 }, { state: 'paused', at: 20 }] }, { message: 'x', current: false, at: 10 }],
  ];
  for (const [what, over, expected] of table) it(`last error: ${what}`, () => assert.deepEqual(lastErrorFact(status(over)), expected));
});
