/**
 * SimLeaf values → gNMI notifications in the requested encoding. PROTO sends
 * typed values (uint64 counters as uint_val; component temperatures as any_val
 * wrapping a google.protobuf.DoubleValue); JSON and JSON_IETF send one JSON tree
 * per notification prefix (lists as arrays whose entries carry their keys).
 */
import type { PathElem, StructuredPath } from '../../core/path';
import { toWirePath } from '../../protocols/gnmi/paths';
import type { WireEncoding, WireNotification, WireTypedValue, WireUpdate } from '../../protocols/gnmi/proto';
import type { SimLeaf } from '../model';

/** A leaf selected for sending, with its parsed path. */
export interface SelectedLeaf {
  path: StructuredPath;
  value: SimLeaf['value'];
}

/** Typed value of a leaf (PROTO encoding). */
export function typedValue(v: SimLeaf['value']): WireTypedValue {
  if (typeof v === 'bigint') return v >= 0n ? { uint_val: v.toString() } : { int_val: v.toString() };
  if (typeof v === 'boolean') return { bool_val: v };
  if (typeof v === 'string') return { string_val: v };
  return Number.isInteger(v) ? { int_val: String(v) } : { double_val: v };
}

/** Type URL of the protobuf well-known wrapper for a double. */
export const DOUBLE_VALUE_TYPE_URL = 'type.googleapis.com/google.protobuf.DoubleValue';

/**
 * Leaves a PROTO stream sends as any_val rather than double_val, as some
 * platforms do for sensor readings, so every collector session meets an any_val
 * (the decoded point is the same either way).
 */
export function sentAsAny(elems: readonly PathElem[]): boolean {
  return elems.map((e) => e.name).join('/') === 'components/component/state/temperature/instant';
}

/** A number as any_val: google.protobuf.DoubleValue, field 1 (tag 0x09, fixed64 little-endian). */
export function doubleAny(v: number): WireTypedValue {
  const payload = Buffer.alloc(9);
  payload[0] = 0x09;
  payload.writeDoubleLE(v, 1);
  return { any_val: { type_url: DOUBLE_VALUE_TYPE_URL, value: payload } };
}

/** JSON value of a leaf; RFC 7951 puts 64-bit integers in strings, plain JSON uses numbers. */
function jsonScalar(v: SimLeaf['value'], ietf: boolean): unknown {
  if (typeof v === 'bigint') return ietf ? v.toString() : new RawNumber(v.toString());
  return v;
}

/** A number literal written as-is (uint64 beyond 2^53 in plain JSON). */
class RawNumber {
  constructor(readonly text: string) {}
}

function stringify(tree: unknown): string {
  // Marker strings are swapped for bare literals after JSON.stringify.
  const raw: string[] = [];
  const text = JSON.stringify(tree, (_k, v) => {
    if (v instanceof RawNumber) {
      raw.push(v.text);
      return `\u0000raw${raw.length - 1}\u0000`;
    }
    return v;
  });
  return text.replace(/"\\u0000raw(\d+)\\u0000"/g, (_m, i) => raw[Number(i)]);
}

/** Where a leaf is grouped: through the last keyed element plus one, else its parent. */
export function groupPrefix(elems: PathElem[]): number {
  let lastKeyed = -1;
  for (let i = 0; i < elems.length; i++) if (elems[i].keys) lastKeyed = i;
  if (lastKeyed >= 0 && lastKeyed + 2 < elems.length) return lastKeyed + 2;
  return Math.max(0, elems.length - 1);
}

/** Insert a leaf into a JSON tree; keyed elements become array entries carrying their keys. */
function insert(tree: Record<string, unknown>, rel: PathElem[], value: unknown): void {
  let node = tree;
  for (let i = 0; i < rel.length; i++) {
    const e = rel[i];
    if (i === rel.length - 1) {
      node[e.name] = value;
      return;
    }
    if (e.keys) {
      const list = (node[e.name] ??= []) as Array<Record<string, unknown>>;
      let entry = list.find((x) => Object.entries(e.keys!).every(([k, v]) => x[k] === v));
      if (!entry) list.push((entry = { ...e.keys }));
      node = entry;
    } else {
      node = (node[e.name] ??= {}) as Record<string, unknown>;
    }
  }
}

/** Group key of a prefix. */
function keyOf(elems: PathElem[]): string {
  return JSON.stringify(elems);
}

/**
 * Build notifications for leaves. `jsonRoot(leaf)` gives how many leading elements
 * form the prefix for JSON encodings (defaults to the PROTO grouping).
 */
export function buildNotifications(
  leaves: SelectedLeaf[],
  opts: { encoding: WireEncoding; timestamp: string; origin?: string; target?: string; jsonRoot?: (leaf: SelectedLeaf) => number },
): WireNotification[] {
  const groups = new Map<string, { prefix: PathElem[]; leaves: SelectedLeaf[] }>();
  const json = opts.encoding === 'JSON' || opts.encoding === 'JSON_IETF';
  for (const leaf of leaves) {
    const cut = json && opts.jsonRoot ? opts.jsonRoot(leaf) : groupPrefix(leaf.path.elems);
    const prefix = leaf.path.elems.slice(0, cut);
    const k = keyOf(prefix);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = { prefix, leaves: [] }));
    g.leaves.push(leaf);
  }
  const out: WireNotification[] = [];
  for (const g of groups.values()) {
    const origin = opts.origin ?? g.leaves[0].path.origin ?? '';
    const prefix = toWirePath({ origin, elems: g.prefix }, opts.target);
    let update: WireUpdate[];
    if (!json) {
      update = g.leaves.map((l) => ({
        path: toWirePath({ origin: '', elems: l.path.elems.slice(g.prefix.length) }),
        val: typeof l.value === 'number' && sentAsAny(l.path.elems) ? doubleAny(l.value) : typedValue(l.value),
      }));
    } else {
      const ietf = opts.encoding === 'JSON_IETF';
      const tree: Record<string, unknown> = {};
      for (const l of g.leaves) insert(tree, l.path.elems.slice(g.prefix.length), jsonScalar(l.value, ietf));
      const bytes = Buffer.from(stringify(tree));
      update = [{ path: { elem: [] }, val: ietf ? { json_ietf_val: bytes } : { json_val: bytes } }];
    }
    out.push({ timestamp: opts.timestamp, prefix, update });
  }
  return out;
}

/** gNMI timestamp: nanoseconds since the epoch, microsecond resolution. */
export function nowNanos(): string {
  const micros = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000));
  return (micros * 1000n).toString();
}
