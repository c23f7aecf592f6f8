/**
 * The bulk-pause notification (ADR 250): `<task queue>|<bulk id>|<device id>,…`, in chunks under
 * NOTIFY's 8,000-byte limit, read back by the collector; anything malformed is ignored.
 */
import assert from 'node:assert/strict';
import { announcements } from '../../storage/collectors';
import { parseBulkPause } from '../../storage/bulk-actions';

describe('bulk pause notification payload (ADR 250)', () => {
  const queue = 'device-sessions/collector-a/1700000000000';

  it('names the queue, the bulk action and every device, in chunks under the NOTIFY limit', () => {
    const ids = Array.from({ length: 5000 }, (_, i) => 1_000_000 + i);
    const payloads = announcements(`${queue}|42`, ids);
    assert.ok(payloads.length > 1, 'several notifications for 5,000 devices');
    const heard = payloads.map((p) => parseBulkPause(p)!);
    for (const [i, h] of heard.entries()) {
      assert.ok(Buffer.byteLength(payloads[i]) < 8000);
      assert.equal(h.taskQueue, queue);
      assert.equal(h.bulkId, 42);
    }
    assert.deepEqual(heard.flatMap((h) => h.deviceIds), ids);
  });

  it('ignores payloads without a bulk id or a queue', () => {
    assert.equal(parseBulkPause(`${queue}|1,2,3`), undefined, 'a hand-over payload (no bulk id)');
    assert.equal(parseBulkPause(`${queue}|x|1,2`), undefined);
    assert.equal(parseBulkPause(`|7|1,2`), undefined);
    assert.equal(parseBulkPause('7|1,2'), undefined);
    assert.equal(parseBulkPause(`${queue}||1,2`), undefined, 'an empty bulk id');
  });

  it('keeps bars inside the queue name', () => {
    assert.deepEqual(parseBulkPause('device-sessions/a|b/1|9|4,x,0,5'), { taskQueue: 'device-sessions/a|b/1', bulkId: 9, deviceIds: [4, 5] });
  });
});
