/**
 * Scalar conversion rules shared by the TypedValue and JSON decoders: 64-bit
 * integers kept exact as text above 2^53, float32 printed at its own precision.
 * Pure functions.
 */
import { nanosToMillis } from '../../core/point';
import type { WireInt64, WireLong } from './proto';

/** A decoded leaf value before it gets a path and a timestamp. */
export interface LeafValue {
  value: number | string | boolean;
  /** Exact decimal text of an integer a double cannot hold. */
  exact?: string;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const INTEGER_TEXT = /^-?\d+$/;

/** Integer given as decimal text (int64/uint64 on the wire): a double, plus the text when beyond 2^53. */
export function integerFromText(text: string): LeafValue {
  if (!INTEGER_TEXT.test(text)) throw new TypeError(`not an integer: ${JSON.stringify(text.slice(0, 40))}`);
  const big = BigInt(text);
  const value = Number(big);
  if (big > MAX_SAFE || big < -MAX_SAFE) return { value, exact: big.toString() };
  return { value };
}

/**
 * An int64/uint64 field (decimal text, or a WireLong from readSubscribeResponse) as a
 * leaf value. A Long whose high word has at most 21 significant bits is below 2^53 in
 * magnitude and is combined arithmetically (exact, no text); others go through
 * integerFromText so values beyond 2^53 keep their exact text.
 */
export function integerFromWire(v: WireInt64): LeafValue {
  if (typeof v === 'string') return integerFromText(v);
  const value = smallIntegerFromLong(v);
  return value !== undefined ? { value } : integerFromText(v.toString());
}

/** A WireLong below 2^53 in magnitude as its exact number; undefined for larger ones (they need text). */
export function smallIntegerFromLong(v: WireLong): number | undefined {
  const { low, high } = v;
  const small = v.unsigned ? high >>> 0 < 0x200000 : high > -0x200000 && high < 0x200000;
  return small ? high * 0x1_0000_0000 + (low >>> 0) : undefined;
}

/**
 * Nanoseconds since the epoch (decimal text or a WireLong) as milliseconds with a
 * microsecond fraction (the same figure as nanosToMillis: microseconds truncated).
 */
export function millisFromWireNanos(v: WireLong): number {
  const high = v.unsigned ? v.high >>> 0 : v.high;
  if (high < 0) return nanosToMillis(v.toString());
  // (high·2^32 + low) / 1000 without a BigInt: the high word's quotient and remainder apart.
  const micros = Math.floor(high / 1000) * 0x1_0000_0000 + Math.floor(((high % 1000) * 0x1_0000_0000 + (v.low >>> 0)) / 1000);
  return micros / 1000;
}

/**
 * A float32 widened to a double prints as 0.10000000149011612; print it with the
 * fewest digits that still round-trip through float32 instead (0.1).
 */
export function float32ToNumber(v: number): number {
  if (!Number.isFinite(v) || Number.isInteger(v)) return v;
  for (let p = 1; p <= 9; p++) {
    const candidate = Number(v.toPrecision(p));
    if (Math.fround(candidate) === v) return candidate;
  }
  return v;
}

/** gNMI Decimal64 (digits × 10^-precision) as a number, computed from text so 1.10 stays 1.1. */
export function decimal64ToNumber(digits: string, precision: number): number {
  if (!INTEGER_TEXT.test(digits)) throw new TypeError('decimal64 digits are not an integer');
  if (!Number.isInteger(precision) || precision < 0 || precision > 18) throw new TypeError(`decimal64 precision ${precision} out of range`);
  if (precision === 0) return Number(digits);
  const negative = digits.startsWith('-');
  const abs = (negative ? digits.slice(1) : digits).padStart(precision + 1, '0');
  const text = `${negative ? '-' : ''}${abs.slice(0, abs.length - precision)}.${abs.slice(abs.length - precision)}`;
  return Number(text);
}
