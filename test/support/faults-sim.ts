/**
 * Counting what the in-process simulator emits, without changing it: wraps the
 * gNMI SubscribeStream's send (every leaf value handed to the wire, one point
 * each) and start (every accepted Subscribe, with its time). Installed once
 * per test process; counters are keyed by simulated device name.
 */
import { SubscribeStream } from '../../simulator/gnmi/stream';

/** What the simulator did, per device name. */
export interface SimCounters {
  /** Leaf values written to open Subscribe streams. */
  emitted: Map<string, number>;
  /** Times (ms) at which Subscribe streams started. */
  subscribes: Map<string, number[]>;
}

const counters: SimCounters = { emitted: new Map(), subscribes: new Map() };
let installed = false;

interface StreamInternals {
  closed: boolean;
  device: { name: string };
}

/** Install the wrappers (idempotent) and return the live counters. */
export function instrumentSimulator(): SimCounters {
  if (installed) return counters;
  installed = true;
  const proto = SubscribeStream.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
  const send = proto.send;
  const start = proto.start;
  if (typeof send !== 'function' || typeof start !== 'function') {
    throw new Error('simulator/gnmi/stream.ts changed: SubscribeStream.send/start not found; update test/support/faults-sim.ts');
  }
  proto.send = function (this: StreamInternals, leaves: unknown, ...rest: unknown[]) {
    if (!this.closed && Array.isArray(leaves) && leaves.length > 0) {
      counters.emitted.set(this.device.name, (counters.emitted.get(this.device.name) ?? 0) + leaves.length);
    }
    return send.call(this, leaves, ...rest);
  };
  proto.start = function (this: StreamInternals, ...args: unknown[]) {
    const list = counters.subscribes.get(this.device.name) ?? [];
    list.push(Date.now());
    counters.subscribes.set(this.device.name, list);
    return start.apply(this, args);
  };
  return counters;
}

/** Sum of emitted points over some device names. */
export function emittedBy(names: string[]): number {
  return names.reduce((sum, n) => sum + (counters.emitted.get(n) ?? 0), 0);
}
