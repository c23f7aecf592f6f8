/**
 * One Subscribe RPC on the simulated target: validates the SubscriptionList,
 * then serves STREAM (SAMPLE, ON_CHANGE, TARGET_DEFINED with heartbeats and
 * suppress_redundant), ONCE and POLL, honouring updates_only and the faults.
 */
import * as grpc from '@grpc/grpc-js';
import { formatPath, joinPaths, type StructuredPath } from '../../core/path';
import { fromWirePath, WirePathError } from '../../protocols/gnmi/paths';
import type { WireEncoding, WireNotification, WireSubscribeRequest, WireSubscription, WireSubscriptionList } from '../../protocols/gnmi/proto';
import type { SimDevice, SimLeaf } from '../model';
import { buildNotifications, groupPrefix, nowNanos, type SelectedLeaf } from './encode';
import type { FaultableStream, GnmiFaults, MalformedKind } from './faults';
import { leafPath, pathInSchema, pathSelects } from './match';
import { NotificationTemplates, type GnmiGenerator } from './templates';

/** Bytes that do not decode as a SubscribeResponse (a length running past the end). */
export class RawFrame {
  constructor(readonly bytes: Buffer) {}
}
const MALFORMED_BYTES = Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]);

/** Timing knobs of the simulated target. */
export interface StreamTiming {
  /** Sample interval used when a subscription asks for 0 (target's choice). */
  defaultSampleMs: number;
  /** Smallest sample interval accepted; smaller requests get INVALID_ARGUMENT. */
  minSampleMs: number;
  /** How often ON_CHANGE subscriptions look for changes. */
  onChangeCheckMs: number;
}

export const SUPPORTED_ENCODINGS: WireEncoding[] = ['JSON', 'PROTO', 'JSON_IETF'];

type Duplex = grpc.ServerDuplexStream<WireSubscribeRequest, WireNotification | { sync_response: true } | RawFrame | object>;

interface ActiveSubscription {
  path: StructuredPath;
  mode: 'SAMPLE' | 'ON_CHANGE';
  intervalMs: number;
  heartbeatMs: number;
  suppressRedundant: boolean;
  /** TARGET_DEFINED split: which leaves this subscription serves. */
  filter?: (v: SimLeaf['value']) => boolean;
  lastSent: Map<string, SimLeaf['value']>;
  lastHeartbeat: number;
  timer?: NodeJS.Timeout;
  /** Cheap generator: pre-encoded notifications and the device leaf index of each value (null: not templatable). */
  templates?: { templates: NotificationTemplates; indices: number[] } | null;
  /** Cheap generator: when the next tick is due (ticks keep a fixed rate instead of drifting by their own run time). */
  due?: number;
}

/** How a stream encodes what it sends (`templates`: the cheap load generator of templates.ts). */
export interface StreamEncoder {
  generator: GnmiGenerator;
  /** Serialises a SubscribeResponse (the templates are built with it). */
  serialize?: (msg: object) => Buffer;
}

/** A gRPC status error for the call. */
export function statusError(code: grpc.status, details: string): Partial<grpc.StatusObject> & Error {
  return Object.assign(new Error(details), { code, details });
}

const ns2ms = (ns: string | undefined) => (ns ? Number(BigInt(ns) / 1_000_000n) : 0);

/** Serves one Subscribe call. */
export class SubscribeStream implements FaultableStream {
  private list?: WireSubscriptionList;
  private subs: ActiveSubscription[] = [];
  private encoding: WireEncoding = 'JSON';
  private blocked = false;
  private closed = false;
  private prefix: StructuredPath = { origin: '', elems: [] };
  private schema: StructuredPath['elems'][];

  constructor(
    private readonly call: Duplex,
    private readonly device: SimDevice,
    private readonly faults: GnmiFaults,
    private readonly timing: StreamTiming,
    private readonly onList: (list: WireSubscriptionList) => void = () => undefined,
    private readonly encoder: StreamEncoder = { generator: 'realistic' },
  ) {
    this.schema = device.leaves().map((l) => leafPath(l.path).elems);
    call.on('data', (req: WireSubscribeRequest) => this.onRequest(req));
    call.on('drain', () => (this.blocked = false));
    call.on('cancelled', () => this.close());
    call.on('error', () => this.close());
    call.on('end', () => {
      // The client half-closed: a STREAM or POLL subscription keeps going (spec 3.5.1.5).
    });
    call.on('finish', () => this.close());
  }

  /** End the stream with a status, or OK. */
  private fail(code: grpc.status, details: string): void {
    if (this.closed) return;
    this.close();
    this.call.emit('error', statusError(code, details));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.faults.streams.delete(this);
    for (const s of this.subs) clearTimeout(s.timer);
  }

  drop(): void {
    this.fail(grpc.status.UNAVAILABLE, 'simulated stream drop');
  }

  sendMalformed(kind: MalformedKind): void {
    if (this.closed) return;
    if (kind === 'bytes') {
      this.call.write(new RawFrame(MALFORMED_BYTES));
      return;
    }
    this.call.write({
      update: { timestamp: nowNanos(), update: [{ path: { elem: [{ name: 'system' }] }, val: { json_ietf_val: Buffer.from('{"state": {') } }] },
    });
  }

  sendOversized(bytes: number): void {
    if (this.closed) return;
    this.call.write({
      update: {
        timestamp: nowNanos(),
        prefix: { elem: [{ name: 'system' }, { name: 'state' }] },
        update: [{ path: { elem: [{ name: 'motd-banner' }] }, val: { string_val: 'x'.repeat(Math.max(0, bytes)) } }],
      },
    });
  }

  /** Send a hand-built notification as is. */
  inject(n: WireNotification): void {
    this.write({ update: n });
  }

  private onRequest(req: WireSubscribeRequest): void {
    if (this.closed) return;
    if (req.request === 'subscribe' && req.subscribe) {
      if (this.list) return this.fail(grpc.status.INVALID_ARGUMENT, 'a Subscribe stream carries one SubscriptionList');
      this.start(req.subscribe);
    } else if (req.request === 'poll') {
      if (!this.list || this.list.mode !== 'POLL') return this.fail(grpc.status.INVALID_ARGUMENT, 'Poll on a subscription that is not in POLL mode');
      this.sendAll(false);
      this.write({ sync_response: true });
    } else {
      this.fail(grpc.status.INVALID_ARGUMENT, 'empty SubscribeRequest');
    }
  }

  private start(list: WireSubscriptionList): void {
    this.onList(list);
    const encoding = list.encoding ?? 'JSON';
    if (!SUPPORTED_ENCODINGS.includes(encoding) || !this.faults.acceptsEncoding(encoding)) return this.fail(grpc.status.UNIMPLEMENTED, `encoding ${encoding} is not supported`);
    try {
      this.prefix = fromWirePath(list.prefix);
    } catch (err) {
      return this.fail(grpc.status.INVALID_ARGUMENT, (err as WirePathError).message);
    }
    if (!list.subscription?.length) return this.fail(grpc.status.INVALID_ARGUMENT, 'SubscriptionList without subscriptions');
    const subs: ActiveSubscription[] = [];
    for (const s of list.subscription) {
      const built = this.subscription(s, list.mode ?? 'STREAM');
      if (typeof built === 'string') return this.fail(built.startsWith('NOT_FOUND') ? grpc.status.NOT_FOUND : grpc.status.INVALID_ARGUMENT, built);
      subs.push(...built);
    }
    this.list = list;
    this.encoding = encoding;
    this.subs = subs;
    this.faults.streams.add(this);
    const mode = list.mode ?? 'STREAM';
    if (mode === 'ONCE') {
      if (!list.updates_only) this.sendAll(false);
      this.write({ sync_response: true });
      this.close();
      this.call.end();
      return;
    }
    if (list.updates_only) {
      // Remember the current state so that only changes go out.
      for (const s of this.subs) this.select(s).forEach((l) => s.lastSent.set(formatPath(l.path), l.value));
    } else {
      this.sendAll(true);
    }
    this.write({ sync_response: true });
    if (mode === 'STREAM') for (const s of this.subs) this.schedule(s);
  }

  /** Validate one Subscription; returns an error text or the active subscription(s). */
  private subscription(s: WireSubscription, listMode: string): ActiveSubscription[] | string {
    let path: StructuredPath;
    try {
      path = joinPaths(this.prefix, fromWirePath(s.path));
    } catch (err) {
      return `INVALID_ARGUMENT: ${(err as Error).message}`;
    }
    const origin = path.origin ?? '';
    if (origin !== '' && origin !== 'openconfig') return `NOT_FOUND: origin ${origin} is not served`;
    if (!pathInSchema(path.elems, this.schema)) return `NOT_FOUND: ${formatPath(path)} is not in the schema`;
    const mode = s.mode ?? 'TARGET_DEFINED';
    const sampleMs = ns2ms(s.sample_interval);
    const heartbeatMs = ns2ms(s.heartbeat_interval);
    if (listMode === 'STREAM' && mode !== 'ON_CHANGE' && sampleMs !== 0 && sampleMs < this.timing.minSampleMs) {
      return `INVALID_ARGUMENT: sample_interval below the minimum of ${this.timing.minSampleMs} ms`;
    }
    if (heartbeatMs !== 0 && heartbeatMs < this.timing.minSampleMs) return `INVALID_ARGUMENT: heartbeat_interval below the minimum of ${this.timing.minSampleMs} ms`;
    const base = { path, heartbeatMs, suppressRedundant: !!s.suppress_redundant, lastSent: new Map(), lastHeartbeat: Date.now() };
    const interval = sampleMs || this.timing.defaultSampleMs;
    if (mode === 'SAMPLE') return [{ ...base, mode: 'SAMPLE', intervalMs: interval }];
    if (mode === 'ON_CHANGE') return [{ ...base, mode: 'ON_CHANGE', intervalMs: this.timing.onChangeCheckMs }];
    // TARGET_DEFINED: status leaves on change, counters and gauges sampled.
    const isState = (v: SimLeaf['value']) => typeof v === 'string' || typeof v === 'boolean';
    return [
      { ...base, mode: 'ON_CHANGE', intervalMs: this.timing.onChangeCheckMs, filter: isState, lastSent: new Map() },
      { ...base, mode: 'SAMPLE', intervalMs: interval, filter: (v) => !isState(v), lastSent: new Map() },
    ];
  }

  private select(s: ActiveSubscription): SelectedLeaf[] {
    const out: SelectedLeaf[] = [];
    for (const l of this.device.leaves()) {
      if (s.filter && !s.filter(l.value)) continue;
      const p = leafPath(l.path);
      if (pathSelects(s.path.elems, p.elems)) out.push({ path: p, value: l.value });
    }
    return out;
  }

  /** Send the current value of every subscribed leaf. */
  private sendAll(remember: boolean): void {
    for (const s of this.subs) {
      const leaves = this.select(s);
      if (remember) leaves.forEach((l) => s.lastSent.set(formatPath(l.path), l.value));
      this.send(leaves, s);
    }
  }

  private schedule(s: ActiveSubscription): void {
    if (this.closed) return;
    let delay = s.intervalMs * this.faults.slowFactor;
    if (this.encoder.generator === 'templates') {
      const now = Date.now();
      s.due = (s.due ?? now) + delay;
      if (s.due < now - delay) s.due = now; // more than a tick behind (an overloaded machine): no burst to catch up
      delay = Math.max(0, s.due - now);
    }
    s.timer = setTimeout(() => {
      this.tick(s);
      this.schedule(s);
    }, delay);
  }

  private tick(s: ActiveSubscription): void {
    if (this.closed || this.blocked) return;
    this.faults.ticks++;
    if (this.faults.stalled) {
      this.faults.withheldTicks++;
      return;
    }
    const now = Date.now();
    const heartbeat = s.heartbeatMs > 0 && now - s.lastHeartbeat >= s.heartbeatMs * this.faults.slowFactor;
    if (heartbeat) s.lastHeartbeat = now;
    if (this.encoder.generator === 'templates' && this.sendTemplates(s)) return;
    const onlyChanges = s.mode === 'ON_CHANGE' || s.suppressRedundant;
    const out: SelectedLeaf[] = [];
    for (const l of this.select(s)) {
      const key = formatPath(l.path);
      const changed = s.lastSent.get(key) !== l.value;
      if (!onlyChanges || changed || heartbeat) out.push(l);
      s.lastSent.set(key, l.value);
    }
    this.send(out, s);
  }

  /**
   * The cheap generator's tick: a SAMPLE subscription sending every leaf each time
   * (PROTO, not suppressing redundant values) patches its pre-encoded notifications.
   * False when the subscription is not of that kind (the realistic path serves it).
   */
  private sendTemplates(s: ActiveSubscription): boolean {
    if (this.encoding !== 'PROTO' || s.mode !== 'SAMPLE' || s.suppressRedundant || !this.encoder.serialize) return false;
    if (s.templates === undefined) {
      const indices: number[] = [];
      const selected: SelectedLeaf[] = [];
      this.device.leaves().forEach((l, i) => {
        if (s.filter && !s.filter(l.value)) return;
        const p = leafPath(l.path);
        if (!pathSelects(s.path.elems, p.elems)) return;
        indices.push(i);
        selected.push({ path: p, value: l.value });
      });
      const templates = NotificationTemplates.build(selected, { origin: this.prefix.origin || undefined, target: this.list?.prefix?.target || undefined }, this.encoder.serialize);
      s.templates = templates ? { templates, indices } : null;
    }
    if (!s.templates) return false;
    const all = this.device.leafValues();
    const values = s.templates.indices.map((i) => all[i]);
    for (const bytes of s.templates.templates.render(values, BigInt(nowNanos()))) this.write(new RawFrame(bytes));
    return true;
  }

  private send(leaves: SelectedLeaf[], s: ActiveSubscription): void {
    if (leaves.length === 0 || this.closed) return;
    const jsonRoot = (leaf: SelectedLeaf) => jsonRootLength(s.path, leaf);
    const notifications = buildNotifications(leaves, {
      encoding: this.encoding,
      timestamp: nowNanos(),
      origin: this.prefix.origin || undefined,
      target: this.list?.prefix?.target || undefined,
      jsonRoot,
    });
    for (const n of notifications) this.write({ update: n });
  }

  private write(msg: object): void {
    if (this.closed && !('sync_response' in msg)) return;
    if (!this.call.write(msg)) this.blocked = true;
  }
}

/**
 * For JSON encodings: a subscription path with no wildcards that is shorter than
 * the usual grouping becomes the JSON root (so `/interfaces` yields a tree with
 * the interface list inside); otherwise the usual grouping is used.
 */
function jsonRootLength(sub: StructuredPath, leaf: SelectedLeaf): number {
  const elems = leaf.path.elems;
  for (let i = 0; i < sub.elems.length; i++) {
    const want = elems[i]?.keys;
    if (!want) continue;
    const have = sub.elems[i].keys;
    if (!have || Object.keys(want).some((k) => !have[k] || have[k] === '*')) return groupPrefix(elems);
  }
  return Math.min(sub.elems.length, groupPrefix(elems));
}
