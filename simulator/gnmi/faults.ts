/**
 * Fault injection for one simulated gNMI target. Plain methods so any control
 * surface (HTTP, tests, a REPL) can drive them; streams poll the state.
 */

import type { WireEncoding } from '../../protocols/gnmi/proto';
import type { SimDevice } from '../model';

/** How Capabilities is served: answered, refused as not implemented, or never answered (a partial target). */
export type CapabilitiesMode = 'answer' | 'unimplemented' | 'silent';

/** `bytes`: not a protobuf message at all; `json`: valid protobuf carrying JSON that does not parse. */
export type MalformedKind = 'bytes' | 'json';

/** Sink a fault reaches: every open Subscribe stream of the target. */
export interface FaultableStream {
  drop(): void;
  sendMalformed(kind: MalformedKind): void;
  sendOversized(bytes: number): void;
}

/** Faults of one target. */
export class GnmiFaults {
  private stalledUntil = 0;
  private stalledForever = false;
  private reject = false;
  private factor = 1;
  private capsMode: CapabilitiesMode = 'answer';
  private encodings: WireEncoding[] | undefined;
  private unreachableNow = false;
  /** Open streams, registered by the target. */
  readonly streams = new Set<FaultableStream>();
  /** Ticks (sample, heartbeat or on-change check) the streams have run so far, sent or not: tests wait on these instead of sleeping. */
  ticks = 0;
  /** Of those, the ticks a stall withheld. */
  withheldTicks = 0;

  /** `now`: the clock timed stalls are measured by (tests pass a fake one); `device`: the switch whose interfaces the link faults change. */
  constructor(
    private readonly now: () => number = Date.now,
    private readonly device?: SimDevice,
  ) {}

  /** End every open Subscribe stream with UNAVAILABLE (the client sees a dropped stream). */
  dropStreams(): number {
    const n = this.streams.size;
    for (const s of [...this.streams]) s.drop();
    return n;
  }

  /** Stop sending on every stream: for `ms` milliseconds, or until stall(false). */
  stall(ms: number | boolean): void {
    if (ms === true) {
      this.stalledForever = true;
    } else if (ms === false) {
      this.stalledForever = false;
      this.stalledUntil = 0;
    } else {
      this.stalledUntil = this.now() + ms;
    }
  }

  /** Whether sending is stalled now. */
  get stalled(): boolean {
    return this.stalledForever || this.now() < this.stalledUntil;
  }

  /** Send a malformed message on every open stream (garbage bytes by default). */
  sendMalformed(kind: MalformedKind = 'bytes'): number {
    for (const s of this.streams) s.sendMalformed(kind);
    return this.streams.size;
  }

  /** Send one notification of about `bytes` bytes on every open stream. */
  sendOversized(bytes: number): number {
    for (const s of this.streams) s.sendOversized(bytes);
    return this.streams.size;
  }

  /** Answer every RPC with UNAUTHENTICATED while on. */
  rejectCredentials(on: boolean): void {
    this.reject = on;
  }

  get rejectingCredentials(): boolean {
    return this.reject;
  }

  /** Stretch every interval (sample, heartbeat, on-change check) by `factor` (1 = normal). */
  slowDown(factor: number): void {
    if (!(factor > 0) || !Number.isFinite(factor)) throw new RangeError('slowDown factor must be a positive number');
    this.factor = factor;
  }

  get slowFactor(): number {
    return this.factor;
  }

  /**
   * The device unreachable (true) or back (false): every open stream ends and every RPC is
   * answered UNAVAILABLE, as a gRPC client sees a target it cannot reach.
   */
  unreachable(on: boolean): void {
    this.unreachableNow = on;
    if (on) this.dropStreams();
  }

  get isUnreachable(): boolean {
    return this.unreachableNow;
  }

  /** Take an interface's link down (true: oper-status DOWN, counters stop) or bring it back up (false); no random flaps of it meanwhile. */
  interfaceDown(name: string, down: boolean): void {
    if (!this.device) throw new Error('this target has no simulated device to change');
    this.device.holdOperStatus(name, !down);
  }

  /** Serve Capabilities normally, refuse it with UNIMPLEMENTED, or never answer it (issue 13). */
  capabilities(mode: CapabilitiesMode): void {
    this.capsMode = mode;
  }

  get capabilitiesMode(): CapabilitiesMode {
    return this.capsMode;
  }

  /** Accept only these encodings in Get and Subscribe (others: UNIMPLEMENTED, as the spec says); undefined: all. */
  limitEncodings(list: WireEncoding[] | undefined): void {
    this.encodings = list ? [...list] : undefined;
  }

  /** Whether an encoding is accepted now. */
  acceptsEncoding(encoding: WireEncoding): boolean {
    return !this.encodings || this.encodings.includes(encoding);
  }

  /** Clear every fault. */
  reset(): void {
    this.stall(false);
    this.reject = false;
    this.unreachableNow = false;
    this.factor = 1;
    this.capsMode = 'answer';
    this.encodings = undefined;
  }
}
