/**
 * Pure decoding of gNMI notifications into TelemetryPoints: prefix and aliases,
 * every TypedValue kind, deletes (value null), nanosecond timestamps. No I/O;
 * the transport turns DecodeError into a PROTOCOL_ERROR session failure.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { formatElems, formatPath, joinPaths, withOrigin, type PathElem, type StructuredPath } from '../../core/path';
import { nanosToMillis, type TelemetryPoint } from '../../core/point';
import { AnyPayloadError, decodeAny, rawAny } from './any';
import { iterateJsonLeaves, JsonPayloadError, parseJsonExact, type JsonLeaf } from './json';
import { fromWirePath, WirePathError } from './paths';

const EMPTY_ELEMS: PathElem[] = [];
import type { WireEncoding, WireInt64, WireNotification, WirePath, WireTypedValue, WireUpdate } from './proto';
import { decimal64ToNumber, float32ToNumber, integerFromWire, millisFromWireNanos, smallIntegerFromLong, type LeafValue } from './values';

/** A notification the collector cannot make sense of (ends the attempt). */
export class DecodeError extends Error {
  constructor(detail: string, options?: { cause?: unknown }) {
    super(`MALFORMED_NOTIFICATION: ${detail}`, options);
    this.name = 'DecodeError';
  }
}

/** A value decoded from one Update: a single leaf, leaves from a JSON tree, or skipped. */
export type DecodedValue =
  | { kind: 'leaf'; leaf: LeafValue }
  /** Leaves of a JSON tree, produced lazily (iterating may throw DecodeError). */
  | { kind: 'tree'; leaves: Iterable<JsonLeaf> }
  | { kind: 'skip'; reason: string };

/** Leaf-list elements as JSON text (stored as a state value). */
function leafListText(elements: WireTypedValue[]): string {
  const items: Array<string | number | boolean> = [];
  for (const el of elements) {
    const kind = el.value;
    const d = decodeScalar(el, kind) ?? (kind === 'any_val' ? anyElement(el) : undefined);
    if (!d) continue;
    items.push(d.exact ?? d.value);
  }
  return JSON.stringify(items);
}

/**
 * An any_val element of a leaf-list: decoded like a leaf; a malformed wrapper keeps
 * its raw form ({"@type", "value"} text) so the list loses no element.
 */
function anyElement(el: WireTypedValue): LeafValue {
  try {
    return decodeAny(el.any_val);
  } catch (err) {
    if (!(err instanceof AnyPayloadError)) throw err;
    return rawAny(el.any_val);
  }
}

/**
 * Scalar kinds; undefined for kinds that are not scalars. Throws TypeError on bad content.
 * `kind` is v.value read once by the caller: on a protobufjs message that oneof name is a
 * getter allocating an Object.keys array per read (hot path).
 */
function decodeScalar(v: WireTypedValue, kind = v.value): LeafValue | undefined {
  switch (kind) {
    case 'string_val':
      return { value: v.string_val ?? '' };
    case 'ascii_val':
      return { value: v.ascii_val ?? '' };
    case 'int_val':
      return integerFromWire(v.int_val ?? '0');
    case 'uint_val':
      return integerFromWire(v.uint_val ?? '0');
    case 'bool_val':
      return { value: v.bool_val ?? false };
    case 'bytes_val':
      return { value: Buffer.from(v.bytes_val ?? []).toString('base64') };
    case 'float_val':
      return { value: float32ToNumber(v.float_val ?? 0) };
    case 'double_val':
      return { value: v.double_val ?? 0 };
    case 'decimal_val':
      return { value: decimal64ToNumber(String(v.decimal_val?.digits ?? '0'), v.decimal_val?.precision ?? 0) };
    default:
      return undefined;
  }
}

/** Decode one TypedValue found at `base` (the update's full path elements); `kind` is v.value, read once. */
export function decodeTypedValue(v: WireTypedValue | undefined, base: PathElem[], kind = v?.value): DecodedValue {
  if (!v || !kind) return { kind: 'skip', reason: 'unknown' };
  try {
    const scalar = decodeScalar(v, kind);
    if (scalar) return { kind: 'leaf', leaf: scalar };
    switch (kind) {
      case 'leaflist_val':
        return { kind: 'leaf', leaf: { value: leafListText(v.leaflist_val?.element ?? []) } };
      case 'json_val':
      case 'json_ietf_val': {
        const raw = (kind === 'json_val' ? v.json_val : v.json_ietf_val) ?? Buffer.alloc(0);
        const parsed = parseJsonExact(Buffer.from(raw).toString('utf8'));
        return { kind: 'tree', leaves: guarded(iterateJsonLeaves(parsed, kind === 'json_ietf_val', base), kind) };
      }
      case 'any_val':
        try {
          return { kind: 'leaf', leaf: decodeAny(v.any_val) };
        } catch (err) {
          // One bad wrapper payload costs that value only: the notification's other updates still count.
          if (err instanceof AnyPayloadError) return { kind: 'skip', reason: 'any' };
          throw err;
        }
      case 'proto_bytes':
        return { kind: 'skip', reason: 'proto_bytes' };
      default:
        return { kind: 'skip', reason: 'unknown' };
    }
  } catch (err) {
    if (err instanceof JsonPayloadError) throw new DecodeError(err.message, { cause: err });
    throw new DecodeError(`bad ${kind}: ${(err as Error).message}`, { cause: err });
  }
}

/** Re-throw conversion errors raised while iterating JSON leaves as DecodeError. */
function* guarded(leaves: Iterable<JsonLeaf>, kind: string): Generator<JsonLeaf> {
  try {
    yield* leaves;
  } catch (err) {
    throw new DecodeError(`bad ${kind}: ${(err as Error).message}`, { cause: err });
  }
}

/** gNMI Encoding enum values by number (readSubscribeResponse leaves enums as numbers). */
const WIRE_ENCODINGS: readonly WireEncoding[] = ['JSON', 'BYTES', 'PROTO', 'ASCII', 'JSON_IETF'];

/** The deprecated Update.value (encoded bytes plus encoding) as a TypedValue. */
function legacyValue(u: WireUpdate): WireTypedValue | undefined {
  const bytes = u.value?.value;
  if (!bytes || bytes.length === 0) return undefined;
  const type = u.value?.type ?? 'JSON';
  switch (typeof type === 'number' ? WIRE_ENCODINGS[type] : type) {
    case 'JSON':
      return { value: 'json_val', json_val: bytes };
    case 'JSON_IETF':
      return { value: 'json_ietf_val', json_ietf_val: bytes };
    case 'ASCII':
      return { value: 'ascii_val', ascii_val: Buffer.from(bytes).toString('utf8') };
    case 'BYTES':
      return { value: 'bytes_val', bytes_val: bytes };
    default:
      return { value: 'proto_bytes', proto_bytes: bytes };
  }
}

/** How many leaves are decoded between chances to pause. */
const LEAVES_PER_STEP = 64;
/** Paths a stream's decoder keeps one string of: the default series limit of a device (INGEST_MAX_SERIES_PER_DEVICE). */
const MAX_INTERNED_PATHS = 20_000;

/** Result of decoding one notification. */
export interface DecodedNotification {
  points: TelemetryPoint[];
  /** Values skipped, by kind (any: a wrapper type with malformed bytes; proto_bytes; unknown). */
  skipped: Record<string, number>;
  /** Set when the notification only defined an alias. */
  aliasDefined?: string;
  atomic: boolean;
  /** The notification's timestamp was 0 or absent: its points carry the receive time. */
  receiveTime: boolean;
  /** Values superseded in the same notification: a full path repeated, or deleted and set again (the last is kept). */
  duplicates: number;
}

/**
 * Stateful per stream (aliases live as long as the stream): call decode() for
 * every notification in order.
 */
export class NotificationDecoder {
  private readonly aliases = new Map<string, StructuredPath>();
  /**
   * One string per path this stream has sent (up to MAX_INTERNED_PATHS): a point carries
   * the stored string, flat and with its hash computed, instead of a fresh concatenation.
   * The series lookup of every flush then compares by identity, and what the batcher
   * holds until the flush is a small point object, not a new path string per point
   * (fewer bytes surviving scavenges: less GC).
   */
  private readonly paths = new Map<string, string>();
  /** Leaf paths by prefix text, then by relative names (LeafPaths); they count towards MAX_INTERNED_PATHS. */
  private readonly leafPaths = new Map<string, LeafPaths>();
  private leafPathCount = 0;

  constructor(private readonly deviceId: number, private readonly now: () => number = Date.now) {}

  /** Decode a notification; throws DecodeError for malformed content. */
  decode(n: WireNotification): DecodedNotification {
    const out = this.empty();
    for (const _ of this.steps(n, out));
    return out;
  }

  /**
   * Decode like decode(), but give the event loop a turn whenever a slice has run
   * longer than `sliceMs`, so one large notification cannot hold up timers and
   * other sessions. The points still come back together (atomic stays atomic).
   * A notification decoded within one slice (nearly all) comes back at once, not as
   * a promise: no promise, microtask or async-hook call per notification.
   */
  decodeSliced(n: WireNotification, sliceMs = 5): DecodedNotification | Promise<DecodedNotification> {
    const out = this.empty();
    const steps = this.steps(n, out);
    const sliceStart = performance.now();
    for (let r = steps.next(); !r.done; r = steps.next()) {
      if (performance.now() - sliceStart > sliceMs) return this.finishSliced(steps, out, sliceMs);
    }
    return out;
  }

  /** The rest of a notification that outlasted its first slice, one slice per event-loop turn. */
  private async finishSliced(steps: Generator<void>, out: DecodedNotification, sliceMs: number): Promise<DecodedNotification> {
    await yieldToLoop();
    let sliceStart = performance.now();
    for (let r = steps.next(); !r.done; r = steps.next()) {
      if (performance.now() - sliceStart > sliceMs) {
        await yieldToLoop();
        sliceStart = performance.now();
      }
    }
    return out;
  }

  private empty(): DecodedNotification {
    return { points: [], skipped: {}, atomic: false, receiveTime: false, duplicates: 0 };
  }

  /** The decoding itself; yields every LEAVES_PER_STEP leaves so callers can pause. */
  private *steps(n: WireNotification, out: DecodedNotification): Generator<void> {
    const { points, skipped } = out;
    out.atomic = n.atomic === true;
    let prefix: StructuredPath;
    try {
      prefix = fromWirePath(n.prefix);
    } catch (err) {
      throw new DecodeError((err as Error).message, { cause: err });
    }
    if (n.alias) {
      // An alias definition: the prefix is the full path the alias stands for.
      this.aliases.set(n.alias, prefix);
      out.aliasDefined = n.alias;
    } else {
      prefix = this.resolveAlias(prefix);
    }
    out.receiveTime = isZeroTimestamp(n.timestamp);
    const ts = out.receiveTime ? this.now() : this.timestamp(n.timestamp!);
    // Deletes first: a leaf deleted and set again in one notification ends with its new value.
    for (const d of n.delete ?? []) {
      let full: StructuredPath;
      try {
        full = joinPaths(prefix, fromWirePath(d));
      } catch (err) {
        throw new DecodeError((err as Error).message, { cause: err });
      }
      // A delete of a subtree is one null point at the subtree's path (ADR 011; docs/gnmi.md).
      points.push(this.point(formatPath(full), ts, null));
    }
    const deleteCount = points.length;
    // The prefix is formatted once per notification; each update appends its relative part.
    const prefixText = formatElems(prefix.elems);
    // Leaf paths of this prefix by their relative names (see LeafPaths), kept for one origin.
    const known = this.leafPaths.get(prefixText);
    const leafPaths = known && known.origin === (prefix.origin || '') ? known : undefined;
    let sinceYield = 0;
    const updates = n.update ?? [];
    for (const u of updates) {
      const val = u.val ?? legacyValue(u);
      // Read once: on a protobufjs message this oneof name is a getter that allocates per read.
      const kind = val?.value;
      // Only JSON trees need the structured path (to extend it with their leaves).
      const isTree = kind === 'json_val' || kind === 'json_ietf_val';
      let path = leafPaths && !isTree ? leafPaths.find(u.path) : undefined;
      let rel: StructuredPath | undefined;
      if (path === undefined) {
        try {
          rel = fromWirePath(u.path);
        } catch (err) {
          if (err instanceof WirePathError) throw new DecodeError(err.message, { cause: err });
          throw err;
        }
      }
      // An integer below 2^53 (nearly every counter) is read here: no LeafValue or DecodedValue object per point.
      const int = kind === 'uint_val' ? val!.uint_val : kind === 'int_val' ? val!.int_val : undefined;
      const small = typeof int === 'object' && int !== null ? smallIntegerFromLong(int) : undefined;
      if (small !== undefined) {
        points.push(this.make(path ?? this.leafPath(prefix, prefixText, u.path, rel!), ts, small));
      } else {
        const full: StructuredPath | undefined = isTree ? joinPaths(prefix, rel!) : undefined;
        const decoded = decodeTypedValue(val, full ? full.elems : EMPTY_ELEMS, kind);
        if (decoded.kind === 'skip') {
          skipped[decoded.reason] = (skipped[decoded.reason] ?? 0) + 1;
        } else if (decoded.kind === 'leaf') {
          path ??= this.leafPath(prefix, prefixText, u.path, rel!);
          points.push(this.make(path, ts, decoded.leaf.value, decoded.leaf.exact));
        } else {
          for (const l of decoded.leaves) {
            points.push(this.point(formatPath({ origin: full!.origin, elems: l.elems }), ts, l.leaf.value, l.leaf.exact));
            if (++sinceYield === LEAVES_PER_STEP) {
              sinceYield = 0;
              yield;
            }
          }
        }
      }
      if (++sinceYield >= LEAVES_PER_STEP) {
        sinceYield = 0;
        yield;
      }
    }
    if (updates.length + deleteCount > 1) out.duplicates = keepLastOfEachPath(points);
  }

  private point(text: string, timestamp: number, value: TelemetryPoint['value'], exact?: string): TelemetryPoint {
    return this.make(this.intern(text), timestamp, value, exact);
  }

  private make(path: string, timestamp: number, value: TelemetryPoint['value'], exact?: string): TelemetryPoint {
    const p: TelemetryPoint = { deviceId: this.deviceId, path, timestamp, value };
    if (exact !== undefined) p.exact = exact;
    return p;
  }

  /** The stored string for a path text (stored if there is room). */
  private intern(text: string): string {
    return this.paths.get(text) ?? this.store(text);
  }

  /** Store a path text not stored yet (if there is room); the text. */
  private store(text: string): string {
    if (this.paths.size + this.leafPathCount < MAX_INTERNED_PATHS) this.paths.set(text, text);
    return text;
  }

  /**
   * A leaf update's path when LeafPaths did not have it: formatted as before, then kept
   * in the prefix's LeafPaths when its shape allows (keyless names, no origin of its own).
   */
  private leafPath(prefix: StructuredPath, prefixText: string, wire: WirePath | undefined, rel: StructuredPath): string {
    const origin = (prefix.elems.length > 0 ? prefix.origin || rel.origin : rel.origin || prefix.origin) ?? '';
    const text = withOrigin(origin, prefixText + formatElems(rel.elems));
    const known = this.paths.get(text);
    if (known !== undefined) return known;
    // With no origin of its own, the update's path takes the prefix's: the text depends on prefix text, origin and names only.
    const storable = !wire?.origin && rel.elems.length > 0 && rel.elems.every((e) => !e.keys) && this.paths.size + this.leafPathCount < MAX_INTERNED_PATHS;
    // Not in the map (looked up above): store it without a second lookup (keyed paths come this way every time).
    if (!storable) return this.store(text);
    let leaves = this.leafPaths.get(prefixText);
    if (!leaves) this.leafPaths.set(prefixText, (leaves = new LeafPaths(prefix.origin || '', rel.elems)));
    if (leaves.origin !== (prefix.origin || '') || !leaves.add(rel.elems, text)) return this.store(text);
    this.leafPathCount++;
    return text;
  }

  private resolveAlias(prefix: StructuredPath): StructuredPath {
    if (prefix.elems.length !== 1 || prefix.elems[0].keys) return prefix;
    const target = this.aliases.get(prefix.elems[0].name);
    return target ?? prefix;
  }

  private timestamp(ns: WireInt64): number {
    if (typeof ns !== 'string') return millisFromWireNanos(ns);
    if (!/^-?\d+$/.test(ns)) throw new DecodeError(`bad timestamp ${JSON.stringify(ns.slice(0, 40))}`);
    return nanosToMillis(ns);
  }
}

/** Whether an object has an enumerable key (a PathElem's key map); no Object.keys array. */
function hasKeys(o: object | undefined): boolean {
  for (const _ in o) return true;
  return false;
}

/**
 * The leaf paths a stream sent under one prefix text, found from the update's wire path
 * without formatting it: the per-point cost was fromWirePath's objects, the relative
 * text, and hashing a fresh prefix + relative concatenation in the intern map (the largest
 * self-time share of the decoder). An update path of keyless names whose leading names
 * are this prefix's `stem` (e.g. `counters` of `counters/in-octets`) is looked up by its
 * last name. Other shapes, a second stem or another origin under the same prefix text
 * take the formatting path (same text, just slower). Holds no more than the flat intern map held for these
 * paths: one map entry per leaf.
 */
class LeafPaths {
  private readonly stem: string[];
  private readonly byName = new Map<string, string>();

  constructor(
    /** The prefix's origin these paths were formatted with. */
    readonly origin: string,
    elems: readonly PathElem[],
  ) {
    this.stem = elems.slice(0, -1).map((e) => e.name);
  }

  /** The stored path of a wire path of this shape, else undefined. */
  find(wire: WirePath | undefined): string | undefined {
    const elems = wire?.elem;
    if (!elems || elems.length !== this.stem.length + 1 || wire.origin) return undefined;
    for (let i = 0; i < this.stem.length; i++) if (elems[i].name !== this.stem[i] || hasKeys(elems[i].key)) return undefined;
    const last = elems[this.stem.length];
    return hasKeys(last.key) ? undefined : this.byName.get(last.name);
  }

  /** Keep `path` for keyless `elems` that have this stem; false when the shape differs. */
  add(elems: readonly PathElem[], path: string): boolean {
    if (elems.length !== this.stem.length + 1) return false;
    for (let i = 0; i < this.stem.length; i++) if (elems[i].name !== this.stem[i]) return false;
    const name = elems[this.stem.length].name;
    if (this.byName.has(name)) return false;
    this.byName.set(name, path);
    return true;
  }
}

/** A notification timestamp of 0 or none (proto3 leaves a zero int64 out). */
function isZeroTimestamp(ns: WireInt64 | number | undefined | null): boolean {
  if (typeof ns === 'object' && ns !== null) return ns.low === 0 && ns.high === 0;
  return ns === undefined || ns === null || ns === '' || ns === '0' || ns === 0;
}

/** Up to this many points, repeated paths are looked for pairwise (no Map, no string hashing). */
const SMALL_NOTIFICATION = 16;

/** Whether a path occurs twice from `from` on (pairwise; for small notifications). */
function hasRepeatedPath(points: TelemetryPoint[], from: number): boolean {
  for (let i = from + 1; i < points.length; i++) {
    const path = points[i].path;
    for (let j = from; j < i; j++) if (points[j].path === path) return true;
  }
  return false;
}

/**
 * The specification wants each full path once per notification; a target that
 * repeats one gets last-one-wins (one stored value per series and timestamp).
 * A delete followed by an update of the same path is superseded the same way.
 * Removes the earlier points in place; returns how many.
 */
function keepLastOfEachPath(points: TelemetryPoint[], from = 0): number {
  if (points.length - from <= SMALL_NOTIFICATION && !hasRepeatedPath(points, from)) return 0;
  const lastIndex = new Map<string, number>();
  for (let i = from; i < points.length; i++) lastIndex.set(points[i].path, i);
  const duplicates = points.length - from - lastIndex.size;
  if (duplicates === 0) return 0;
  let w = from;
  for (let i = from; i < points.length; i++) if (lastIndex.get(points[i].path) === i) points[w++] = points[i];
  points.length = w;
  return duplicates;
}
