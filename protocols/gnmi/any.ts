/**
 * TypedValue any_val (google.protobuf.Any): the protobuf well-known wrapper
 * types (DoubleValue … BytesValue) decoded from their bytes into a leaf value;
 * any other type kept as JSON text with the payload in base64. The wrappers are
 * single-field messages, so a few lines of wire-format reading do instead of a
 * schema. Pure functions.
 */
import { float32ToNumber, integerFromText, type LeafValue } from './values';

/** An any_val whose type is a known wrapper but whose bytes do not decode as it. */
export class AnyPayloadError extends Error {
  constructor(detail: string) {
    super(`MALFORMED_ANY: ${detail}`);
    this.name = 'AnyPayloadError';
  }
}

/** Why a wrapper's bytes did not decode; decodeAny() reports it as AnyPayloadError. */
class Malformed extends Error {}

/** google.protobuf.Any as proto-loader hands it over (no `json` option: bytes stay bytes). */
export interface WireAny {
  type_url?: string;
  value?: Uint8Array;
}

/** Protobuf wire types used by the wrappers (groups, 3 and 4, are not accepted). */
const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;
const FIXED32 = 5;

type Wrapper = 'DoubleValue' | 'FloatValue' | 'Int64Value' | 'UInt64Value' | 'Int32Value' | 'UInt32Value' | 'BoolValue' | 'StringValue' | 'BytesValue';

/** Wire type of field 1 (`value`) in each wrapper message. */
const WRAPPER_WIRE_TYPE: Record<Wrapper, number> = {
  DoubleValue: FIXED64,
  FloatValue: FIXED32,
  Int64Value: VARINT,
  UInt64Value: VARINT,
  Int32Value: VARINT,
  UInt32Value: VARINT,
  BoolValue: VARINT,
  StringValue: LENGTH_DELIMITED,
  BytesValue: LENGTH_DELIMITED,
};

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The wrapper named by a type URL. Only the part after the last '/' names the
 * type (the host part is free-form per any.proto), so "google.protobuf.Int64Value"
 * without a host is accepted too.
 */
function wrapperOf(typeUrl: string): Wrapper | undefined {
  const name = typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
  if (!name.startsWith('google.protobuf.')) return undefined;
  const short = name.slice('google.protobuf.'.length);
  return Object.hasOwn(WRAPPER_WIRE_TYPE, short) ? (short as Wrapper) : undefined;
}

/** Reads the fields of one protobuf message; every read checks the bounds. */
class WireReader {
  private pos = 0;

  constructor(private readonly buf: Uint8Array) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  /** A base-128 varint as an unsigned 64-bit integer (at most 10 bytes, as protobuf allows). */
  varint(): bigint {
    let result = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.buf.length) throw new Malformed('truncated varint');
      const byte = this.buf[this.pos++];
      result |= BigInt(byte & 0x7f) << BigInt(7 * i);
      if ((byte & 0x80) === 0) return BigInt.asUintN(64, result);
    }
    throw new Malformed('varint longer than 10 bytes');
  }

  bytes(n: number): Uint8Array {
    if (n > this.buf.length - this.pos) throw new Malformed(`field needs ${n} bytes, ${this.buf.length - this.pos} left`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  lengthDelimited(): Uint8Array {
    const len = this.varint();
    if (len > BigInt(this.buf.length - this.pos)) throw new Malformed(`length ${len} runs past the end`);
    return this.bytes(Number(len));
  }

  /** Skip a field this decoder does not use (unknown fields are legal protobuf). */
  skip(wireType: number): void {
    switch (wireType) {
      case VARINT:
        this.varint();
        return;
      case FIXED64:
        this.bytes(8);
        return;
      case LENGTH_DELIMITED:
        this.lengthDelimited();
        return;
      case FIXED32:
        this.bytes(4);
        return;
      default:
        throw new Malformed(`unsupported wire type ${wireType}`);
    }
  }
}

/** Field 1 of a wrapper message: its raw bytes or varint, undefined when absent (proto3 default). */
function readValueField(payload: Uint8Array, expected: number): Uint8Array | bigint | undefined {
  const r = new WireReader(payload);
  let value: Uint8Array | bigint | undefined;
  while (!r.done) {
    const tag = r.varint();
    const field = tag >> 3n;
    const wireType = Number(tag & 7n);
    if (field === 0n) throw new Malformed('field number 0');
    if (field !== 1n) {
      r.skip(wireType);
      continue;
    }
    if (wireType !== expected) throw new Malformed(`field 1 has wire type ${wireType}, expected ${expected}`);
    // A repeated occurrence of a singular field replaces the earlier one (protobuf merge rule).
    if (wireType === VARINT) value = r.varint();
    else if (wireType === FIXED64) value = r.bytes(8);
    else if (wireType === FIXED32) value = r.bytes(4);
    else value = r.lengthDelimited();
  }
  return value;
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** Decode a wrapper payload into the leaf value its scalar kind maps to (as the plain TypedValue kinds do). */
function decodeWrapper(wrapper: Wrapper, payload: Uint8Array): LeafValue {
  const raw = readValueField(payload, WRAPPER_WIRE_TYPE[wrapper]);
  const asInt = (bits: 32 | 64, signed: boolean): LeafValue => {
    const v = typeof raw === 'bigint' ? raw : 0n;
    return integerFromText((signed ? BigInt.asIntN(bits, v) : BigInt.asUintN(bits, v)).toString());
  };
  switch (wrapper) {
    case 'DoubleValue':
      return { value: raw instanceof Uint8Array ? view(raw).getFloat64(0, true) : 0 };
    case 'FloatValue':
      return { value: raw instanceof Uint8Array ? float32ToNumber(view(raw).getFloat32(0, true)) : 0 };
    case 'Int64Value':
      return asInt(64, true);
    case 'UInt64Value':
      return asInt(64, false);
    // int32 on the wire is sign-extended to 64 bits; the low 32 bits are the value.
    case 'Int32Value':
      return asInt(32, true);
    case 'UInt32Value':
      return asInt(32, false);
    case 'BoolValue':
      return { value: typeof raw === 'bigint' && raw !== 0n };
    case 'StringValue':
      if (!(raw instanceof Uint8Array)) return { value: '' };
      try {
        return { value: STRICT_UTF8.decode(raw) };
      } catch {
        throw new Malformed('not valid UTF-8');
      }
    case 'BytesValue':
      return { value: Buffer.from(raw instanceof Uint8Array ? raw : []).toString('base64') };
  }
}

/**
 * The leaf value of an any_val: a wrapper type becomes its number, boolean or
 * string; anything else becomes the compact JSON text {"@type": url, "value":
 * base64 bytes}, so what the device sent is kept. Throws AnyPayloadError when a
 * wrapper's bytes are malformed.
 */
export function decodeAny(any: WireAny | undefined): LeafValue {
  const typeUrl = any?.type_url ?? '';
  const payload = any?.value ?? new Uint8Array(0);
  const wrapper = wrapperOf(typeUrl);
  if (wrapper) {
    try {
      return decodeWrapper(wrapper, payload);
    } catch (err) {
      if (err instanceof Malformed) throw new AnyPayloadError(`google.protobuf.${wrapper}: ${err.message}`);
      throw err;
    }
  }
  return rawAny(any);
}

/** The raw form of an any_val, kept as text when it is not (or cannot be) decoded: {"@type": url, "value": base64}. */
export function rawAny(any: WireAny | undefined): LeafValue {
  return { value: JSON.stringify({ '@type': any?.type_url ?? '', value: Buffer.from(any?.value ?? new Uint8Array(0)).toString('base64') }) };
}
