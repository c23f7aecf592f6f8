/**
 * The hold of a lost collector's warm sessions' signals (workers/lost-signal-hold.ts, ADR 297):
 * a claim is told together once every session streams on the collector it was placed on, or when
 * none came up for the quiet time, or at the bound, or when the monitor stops; an `up` from another
 * queue than the placement's does not count.
 */
import assert from 'node:assert/strict';
import type { LostPlacement } from '../../storage/collectors';
import { SignalHold, type ReleaseReason } from '../../workers/lost-signal-hold';

const lost = (deviceId: number, placedQueue: string): LostPlacement => ({
  deviceId,
  taskQueue: 'q-dead',
  collectorId: 'dead',
  placed: { collectorId: placedQueue.slice(2), taskQueue: placedQueue },
  warm: true,
});

describe('lost-signal hold: a claim is told once its new streams are up, or quiet, or at the bound', () => {
  let now = 0;
  let told: Array<{ devices: number[]; reason: ReleaseReason; heldMs: number }>;
  const make = () =>
    new SignalHold({
      holdMs: 30_000,
      quietMs: 2_000,
      now: () => now,
      send: async (l, reason, heldMs) => {
        told.push({ devices: l.map((x) => x.deviceId), reason, heldMs });
      },
    });
  beforeEach(() => {
    now = 1_000_000;
    told = [];
  });

  it('tells the whole claim when the last of its sessions comes up on the queue it was placed on', async () => {
    const hold = make();
    hold.hold([lost(1, 'q-a'), lost(2, 'q-a'), lost(3, 'q-b')]);
    assert.equal(hold.size, 3);
    now += 300;
    hold.up('q-a', [1, 2, 99]);
    hold.check();
    assert.deepEqual(told, [], 'device 3 is not up yet');
    now += 400;
    hold.up('q-a', [3]);
    assert.deepEqual(told, [], 'an up from a queue it was not placed on does not count');
    hold.up('q-b', [3]);
    await hold.flush();
    assert.deepEqual(told, [{ devices: [1, 2, 3], reason: 'up', heldMs: 700 }]);
    assert.equal(hold.size, 0);
  });

  it('lets a claim go when none of its sessions came up for the quiet time, counted from the last that did', () => {
    const hold = make();
    hold.hold([lost(1, 'q-a'), lost(2, 'q-a')]);
    now += 1_500;
    hold.up('q-a', [1]);
    now += 1_900;
    hold.check();
    assert.deepEqual(told, [], '1.9 s since device 1 came up');
    now += 100;
    hold.check();
    assert.deepEqual(told, [{ devices: [1, 2], reason: 'quiet', heldMs: 3_500 }]);
  });

  it('lets a claim go at the bound even while its sessions keep coming up', () => {
    const hold = make();
    hold.hold(Array.from({ length: 40 }, (_, i) => lost(i + 1, 'q-a')));
    // One comes up every second: never quiet for 2 s.
    for (let i = 1; i < 30; i++) {
      now += 1_000;
      hold.up('q-a', [i]);
      hold.check();
    }
    assert.equal(told.length, 0, '29 s: still held');
    now += 1_000;
    hold.check();
    assert.equal(told.length, 1);
    assert.equal(told[0].reason, 'bound');
    assert.equal(told[0].heldMs, 30_000);
    assert.equal(told[0].devices.length, 40, 'every session of the claim, up or not');
  });

  it('keeps claims apart: one claim up does not tell another, and flush tells every claim left', async () => {
    const hold = make();
    hold.hold([lost(1, 'q-a')]);
    hold.hold([lost(2, 'q-a'), lost(3, 'q-a')]);
    hold.up('q-a', [1, 2]);
    assert.deepEqual(told, [{ devices: [1], reason: 'up', heldMs: 0 }]);
    assert.equal(hold.size, 2);
    await hold.flush();
    assert.deepEqual(told.at(-1), { devices: [2, 3], reason: 'stop', heldMs: 0 });
    assert.equal(hold.size, 0);
  });

  it('a sender that fails does not stop the others, and flush waits for every signal under way', async () => {
    let finished = 0;
    const hold = new SignalHold({
      holdMs: 30_000,
      quietMs: 2_000,
      now: () => now,
      send: async (l) => {
        await new Promise((r) => setTimeout(r, 20));
        finished += l.length;
        if (l[0].deviceId === 1) throw new Error('Temporal unreachable');
      },
    });
    hold.hold([lost(1, 'q-a')]);
    hold.hold([lost(2, 'q-a')]);
    hold.up('q-a', [1]);
    await hold.flush();
    assert.equal(finished, 2);
  });
});
