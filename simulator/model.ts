/**
 * The state of one simulated switch, shared by the gNMI target and the NETCONF
 * server: interfaces whose counters grow at varying rates, oper-status that flaps
 * now and then, CPU, memory and temperature that wander. Deterministic for a seed,
 * advanced lazily from a clock so that many devices cost nothing while idle.
 */

/** Small seeded PRNG (mulberry32). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Stable 32-bit hash of a string (FNV-1a). */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Counters and status of one simulated interface. */
export interface SimInterface {
  name: string;
  /** Link speed in bits/s. */
  speed: number;
  adminUp: boolean;
  operUp: boolean;
  /** Current utilisation of the link, 0..1, for each direction (random walk). */
  inLoad: number;
  outLoad: number;
  inOctets: bigint;
  outOctets: bigint;
  inUnicastPkts: bigint;
  outUnicastPkts: bigint;
  inErrors: bigint;
  outErrors: bigint;
  inDiscards: bigint;
  /** Counts oper-status changes (tests use it). */
  flaps: number;
  /** Oper-status held by a fault (SimDevice.holdOperStatus): no random flaps while set. */
  held?: boolean;
}

/** One leaf of the simulated device: OpenConfig path and value. */
export interface SimLeaf {
  path: string;
  value: bigint | number | string | boolean;
}

/** Options of a simulated device. */
export interface SimDeviceOptions {
  name: string;
  interfaces?: number;
  /** Probability per second that an interface changes oper-status. */
  flapRatePerSecond?: number;
  /** Clock in ms (tests pass a fake). */
  now?: () => number;
  seed?: number;
}

/** A simulated switch. */
export class SimDevice {
  readonly name: string;
  readonly interfaces: SimInterface[] = [];
  cpuPercent = 12;
  memoryTotal = 16 * 1024 ** 3;
  memoryUsed = 5 * 1024 ** 3;
  temperatureC = 41;
  private lastAdvance: number;
  private readonly rand: () => number;
  private readonly flapRate: number;
  private readonly now: () => number;

  constructor(opts: SimDeviceOptions) {
    this.name = opts.name;
    this.now = opts.now ?? Date.now;
    this.rand = seededRandom(opts.seed ?? hashString(opts.name));
    this.flapRate = opts.flapRatePerSecond ?? 0.0005;
    const count = opts.interfaces ?? 8;
    for (let i = 1; i <= count; i++) {
      const speed = i % 4 === 0 ? 100e9 : 10e9;
      this.interfaces.push({
        name: `Ethernet${i}`,
        speed,
        adminUp: true,
        operUp: true,
        inLoad: 0.05 + this.rand() * 0.4,
        outLoad: 0.05 + this.rand() * 0.4,
        inOctets: BigInt(Math.floor(this.rand() * 1e12)),
        outOctets: BigInt(Math.floor(this.rand() * 1e12)),
        inUnicastPkts: BigInt(Math.floor(this.rand() * 1e9)),
        outUnicastPkts: BigInt(Math.floor(this.rand() * 1e9)),
        inErrors: 0n,
        outErrors: 0n,
        inDiscards: 0n,
        flaps: 0,
      });
    }
    this.lastAdvance = this.now();
  }

  /** Bring counters and gauges up to the current time. Returns the current time. */
  advance(): number {
    const now = this.now();
    const dtMs = now - this.lastAdvance;
    if (dtMs <= 0) return now;
    this.lastAdvance = now;
    const dt = dtMs / 1000;
    for (const itf of this.interfaces) {
      if (!itf.held && this.rand() < this.flapRate * dt) {
        itf.operUp = !itf.operUp;
        itf.flaps++;
      }
      if (!itf.operUp || !itf.adminUp) continue;
      itf.inLoad = clamp(itf.inLoad + (this.rand() - 0.5) * 0.05 * Math.sqrt(dt), 0.01, 0.95);
      itf.outLoad = clamp(itf.outLoad + (this.rand() - 0.5) * 0.05 * Math.sqrt(dt), 0.01, 0.95);
      const inBytes = Math.floor((itf.speed / 8) * itf.inLoad * dt);
      const outBytes = Math.floor((itf.speed / 8) * itf.outLoad * dt);
      itf.inOctets += BigInt(inBytes);
      itf.outOctets += BigInt(outBytes);
      itf.inUnicastPkts += BigInt(Math.floor(inBytes / 700));
      itf.outUnicastPkts += BigInt(Math.floor(outBytes / 700));
      if (this.rand() < 0.02 * dt) itf.inErrors += 1n;
      if (this.rand() < 0.01 * dt) itf.outErrors += 1n;
      if (this.rand() < 0.05 * dt) itf.inDiscards += BigInt(1 + Math.floor(this.rand() * 5));
    }
    this.cpuPercent = clamp(this.cpuPercent + (this.rand() - 0.5) * 6 * Math.sqrt(dt), 2, 98);
    this.memoryUsed = clamp(this.memoryUsed + (this.rand() - 0.5) * 64e6 * Math.sqrt(dt), 2e9, this.memoryTotal * 0.95);
    this.temperatureC = clamp(this.temperatureC + (this.rand() - 0.5) * 0.8 * Math.sqrt(dt), 30, 85);
    return now;
  }

  /**
   * Hold an interface's oper-status (a fault: the link goes down, or stays up, with no random
   * flaps) or, with `undefined`, let it flap again. Counters stop while it is down.
   */
  holdOperStatus(name: string, up: boolean | undefined): void {
    const itf = this.interfaces.find((i) => i.name === name);
    if (!itf) throw new RangeError(`no interface ${name} on ${this.name}`);
    this.advance(); // counters accrue up to now in the old state
    if (up !== undefined && itf.operUp !== up) {
      itf.operUp = up;
      itf.flaps++;
    }
    itf.held = up !== undefined;
  }

  /** The values of leaves(), in the same order, without building paths (the cheap generator's tick). */
  leafValues(): SimLeaf['value'][] {
    this.advance();
    const out: SimLeaf['value'][] = [];
    for (const itf of this.interfaces) {
      out.push(itf.adminUp ? 'UP' : 'DOWN', itf.operUp ? 'UP' : 'DOWN', itf.inOctets, itf.outOctets, itf.inUnicastPkts, itf.outUnicastPkts, itf.inErrors, itf.outErrors, itf.inDiscards);
    }
    out.push(round1(this.cpuPercent), BigInt(Math.round(this.memoryTotal)), BigInt(Math.round(this.memoryUsed)), round1(this.temperatureC));
    return out;
  }

  /** Every leaf with its OpenConfig path, after advancing to now. */
  leaves(): SimLeaf[] {
    this.advance();
    const out: SimLeaf[] = [];
    for (const itf of this.interfaces) {
      const base = `/interfaces/interface[name=${itf.name}]/state`;
      out.push(
        { path: `${base}/admin-status`, value: itf.adminUp ? 'UP' : 'DOWN' },
        { path: `${base}/oper-status`, value: itf.operUp ? 'UP' : 'DOWN' },
        { path: `${base}/counters/in-octets`, value: itf.inOctets },
        { path: `${base}/counters/out-octets`, value: itf.outOctets },
        { path: `${base}/counters/in-unicast-pkts`, value: itf.inUnicastPkts },
        { path: `${base}/counters/out-unicast-pkts`, value: itf.outUnicastPkts },
        { path: `${base}/counters/in-errors`, value: itf.inErrors },
        { path: `${base}/counters/out-errors`, value: itf.outErrors },
        { path: `${base}/counters/in-discards`, value: itf.inDiscards },
      );
    }
    out.push(
      { path: '/components/component[name=CPU0]/cpu/utilization/state/instant', value: round1(this.cpuPercent) },
      { path: '/system/memory/state/physical', value: BigInt(Math.round(this.memoryTotal)) },
      { path: '/system/memory/state/used', value: BigInt(Math.round(this.memoryUsed)) },
      { path: '/components/component[name=Chassis]/state/temperature/instant', value: round1(this.temperatureC) },
    );
    return out;
  }
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

function round1(v: number): number {
  return Math.round(v * 10) / 10;
}
