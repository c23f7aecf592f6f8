/**
 * The simulator's link and reachability faults (issue 18, used by the alerting e2e cases), on
 * a fake clock: a link held down reports oper-status DOWN and its counters stop while the other
 * links keep counting; held, it never flaps, even at a flap rate that flips every other link;
 * brought back it counts again; `unreachable` ends every open stream and `reset` clears it.
 */
import assert from 'node:assert/strict';
import { SimDevice } from '../../simulator/model';
import { GnmiFaults, type FaultableStream } from '../../simulator/gnmi/faults';

describe('simulator: link down and unreachable faults', () => {
  let now = 1_000_000;
  const clock = () => now;
  const leaf = (d: SimDevice, path: string) => d.leaves().find((l) => l.path === path)!.value;
  const oper = (name: string) => `/interfaces/interface[name=${name}]/state/oper-status`;
  const octets = (name: string) => `/interfaces/interface[name=${name}]/state/counters/in-octets`;

  it('a link held down stops counting and reports DOWN, never flapping; back up, it counts again', () => {
    // A flap rate that changes every free link about once a second.
    const device = new SimDevice({ name: 'sim-link', interfaces: 2, flapRatePerSecond: 1, now: clock });
    const faults = new GnmiFaults(clock, device);
    faults.interfaceDown('Ethernet1', true);
    const before = leaf(device, octets('Ethernet1'));
    const flapsOfOther = device.interfaces[1].flaps;
    for (let i = 0; i < 60; i++) {
      now += 1000;
      assert.equal(leaf(device, oper('Ethernet1')), 'DOWN', `second ${i}: held down`);
    }
    assert.equal(leaf(device, octets('Ethernet1')), before, 'no traffic counted on a link that is down');
    assert.ok(device.interfaces[1].flaps > flapsOfOther + 10, 'the other link flapped meanwhile (the rate is real)');

    faults.interfaceDown('Ethernet1', false);
    for (let i = 0; i < 10; i++) {
      now += 1000;
      assert.equal(leaf(device, oper('Ethernet1')), 'UP', `second ${i}: held up`);
    }
    assert.ok((leaf(device, octets('Ethernet1')) as bigint) > (before as bigint), 'counting again');
    assert.throws(() => faults.interfaceDown('Ethernet9', true), /no interface Ethernet9/);
  });

  it('unreachable ends every open stream until it is lifted or reset', () => {
    const faults = new GnmiFaults(clock, new SimDevice({ name: 'sim-gone', interfaces: 1, now: clock }));
    let dropped = 0;
    const stream: FaultableStream = { drop: () => void dropped++, sendMalformed() {}, sendOversized() {} };
    faults.streams.add(stream);
    faults.unreachable(true);
    assert.equal(dropped, 1);
    assert.equal(faults.isUnreachable, true);
    faults.unreachable(false);
    assert.equal(faults.isUnreachable, false);
    faults.unreachable(true);
    faults.reset();
    assert.equal(faults.isUnreachable, false);
  });
});
