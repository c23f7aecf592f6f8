/**
 * Flattening of json_val / json_ietf_val payloads into leaves with list keys.
 * Pure functions; see docs/decisions/012-gnmi-json-flattening.md for the rules.
 */
import type { PathElem } from '../../core/path';
import { integerFromText, type LeafValue } from './values';

/** One flattened leaf: its full path elements and its value. */
export interface JsonLeaf {
  elems: PathElem[];
  leaf: LeafValue;
}

/** Thrown for a JSON payload that does not parse. */
export class JsonPayloadError extends Error {
  constructor(detail: string) {
    super(`MALFORMED_JSON: ${detail}`);
    this.name = 'JsonPayloadError';
  }
}

const BIG_MARK = '\u0000int:';
// Strings are matched first so digits inside them are left alone; then integer
// literals too long for a double, not part of a fraction or exponent.
const BIG_LITERALS = /"(?:[^"\\]|\\.)*"|(?<![\d.eE+-])-?\d{16,}(?![\d.eE])/g;

const LONG_DIGITS = /\d{16}/;

/** JSON.parse that keeps integer literals beyond 2^53 as exact text. */
export function parseJsonExact(text: string): unknown {
  // The full scan is costly on large payloads; most have no 16-digit run at all.
  const marked = LONG_DIGITS.test(text) ? text.replace(BIG_LITERALS, (m) => (m.startsWith('"') ? m : `"\\u0000int:${m}"`)) : text;
  try {
    return JSON.parse(marked);
  } catch (err) {
    throw new JsonPayloadError((err as Error).message.slice(0, 200));
  }
}

const INTEGER = /^-?\d+$/;
const DECIMAL = /^-?\d+\.\d+$/;

/** Convert one JSON scalar. In JSON_IETF (RFC 7951) 64-bit integers and decimal64 arrive as strings. */
function scalar(v: string | number | boolean, ietf: boolean): LeafValue {
  if (typeof v === 'string') {
    if (v.startsWith(BIG_MARK)) return integerFromText(v.slice(BIG_MARK.length));
    if (ietf && INTEGER.test(v) && v.length <= 20) return integerFromText(v);
    if (ietf && DECIMAL.test(v) && v.length <= 24) return { value: Number(v) };
    return { value: v };
  }
  return { value: v };
}

/** Strip an RFC 7951 module qualifier (`openconfig-interfaces:interfaces` → `interfaces`). */
function memberName(name: string): string {
  const colon = name.indexOf(':');
  return colon >= 0 ? name.slice(colon + 1) : name;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isScalar(v: unknown): v is string | number | boolean {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}

/**
 * Keys of a list entry. OpenConfig puts only the key leaves directly in an entry
 * (everything else lives in config/state containers), so when the entry has a
 * container, its direct scalars are the keys. A flat entry uses `name` when it
 * has one, else its first scalar member.
 */
function entryKeys(entry: Record<string, unknown>): string[] {
  const scalars = Object.keys(entry).filter((k) => isScalar(entry[k]));
  const hasContainer = Object.keys(entry).some((k) => isObject(entry[k]) || Array.isArray(entry[k]));
  if (hasContainer && scalars.length > 0) return scalars;
  const name = scalars.find((k) => memberName(k) === 'name');
  if (name) return [name];
  return scalars.length > 0 ? [scalars[0]] : [];
}

/** Leaf-list (array of scalars) as JSON text of its decoded values; `[null]` (YANG empty) as true. */
function leafList(values: unknown[], ietf: boolean): LeafValue {
  if (values.length === 1 && values[0] === null) return { value: true };
  const items = values.map((v) => (isScalar(v) ? scalar(v, ietf) : { value: JSON.stringify(v) })).map((l) => l.exact ?? l.value);
  return { value: JSON.stringify(items) };
}

/**
 * Flatten a parsed JSON value found at `base` (the update path's elements) into
 * leaves, one at a time (callers may pause between leaves). A list at `base`
 * itself takes its entries' keys on the last element.
 */
export function* iterateJsonLeaves(root: unknown, ietf: boolean, base: PathElem[]): Generator<JsonLeaf> {
  function* walk(v: unknown, elems: PathElem[]): Generator<JsonLeaf> {
    if (v === null || v === undefined) return;
    if (isScalar(v)) {
      yield { elems, leaf: scalar(v, ietf) };
      return;
    }
    if (Array.isArray(v)) {
      if (v.length > 0 && v.every(isObject)) {
        // A list under the last element: each entry adds its keys to that element.
        const last = elems[elems.length - 1];
        const parent = elems.slice(0, -1);
        for (const entry of v as Array<Record<string, unknown>>) {
          const keyNames = entryKeys(entry);
          const keys: Record<string, string> = { ...(last?.keys ?? {}) };
          for (const k of keyNames) {
            const kv = entry[k] as string | number | boolean;
            keys[memberName(k)] = String(typeof kv === 'string' && kv.startsWith(BIG_MARK) ? kv.slice(BIG_MARK.length) : kv);
          }
          const here = last ? [...parent, { name: last.name, keys }] : parent;
          for (const [k, child] of Object.entries(entry)) {
            if (keyNames.includes(k)) continue;
            yield* walk(child, [...here, { name: memberName(k) }]);
          }
        }
        return;
      }
      yield { elems, leaf: leafList(v, ietf) };
      return;
    }
    if (isObject(v)) {
      for (const [k, child] of Object.entries(v)) yield* walk(child, [...elems, { name: memberName(k) }]);
    }
  }
  yield* walk(root, base);
}
