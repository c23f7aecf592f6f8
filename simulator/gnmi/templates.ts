/**
 * The cheap load generator of the simulated gNMI target (`SIM_GNMI_GENERATOR=templates`):
 * a SAMPLE subscription's notifications are encoded once, as SubscribeResponse bytes
 * whose timestamp and uint64 values are 10-byte varints, and each tick copies those
 * bytes and patches the numbers in place. The bytes decode to exactly what the
 * realistic generator sends (same prefixes, paths, typed values); only the varints are
 * written at their longest form, which protobuf decoders accept. Used for capacity
 * benchmarks, where encoding the load must not take the machine from the system
 * under test; tests keep the realistic generator.
 */
import type { WireNotification } from '../../protocols/gnmi/proto';
import type { SimLeaf } from '../model';
import { buildNotifications, type SelectedLeaf } from './encode';

/** How the target encodes its stream: every message built and serialised, or patched templates. */
export type GnmiGenerator = 'realistic' | 'templates';

/** Bytes of one notification with where to patch. */
interface Template {
  bytes: Buffer;
  timestampAt: number;
  /** Offsets of the 10-byte value varints, with the index of the leaf each belongs to. */
  valueAt: number[];
  leafIndex: number[];
}

/** Pre-encoded notifications of one subscription's leaf set. */
export class NotificationTemplates {
  private constructor(private readonly templates: Template[]) {}

  /**
   * Templates for `leaves` (values ignored), or undefined when a leaf is not a
   * uint64 counter (only those are patched). `serialize` encodes a SubscribeResponse.
   */
  static build(
    leaves: SelectedLeaf[],
    opts: { origin?: string; target?: string },
    serialize: (msg: object) => Buffer,
  ): NotificationTemplates | undefined {
    if (leaves.length === 0 || leaves.some((l) => typeof l.value !== 'bigint' || l.value < 0n)) return undefined;
    // Each leaf gets a distinct sentinel ≥ 2^63 (always a 10-byte varint), the timestamp -1 (also 10 bytes).
    const marked = leaves.map((l, i) => ({ path: l.path, value: (1n << 63n) + BigInt(i) }));
    const notifications: WireNotification[] = buildNotifications(marked, { encoding: 'PROTO', timestamp: '-1', origin: opts.origin, target: opts.target });
    const templates: Template[] = [];
    const tsMark = varint10(-1n & ((1n << 64n) - 1n));
    for (const n of notifications) {
      const bytes = serialize({ update: n });
      const timestampAt = bytes.indexOf(tsMark);
      if (timestampAt < 0) return undefined;
      const valueAt: number[] = [];
      const leafIndex: number[] = [];
      for (const u of n.update ?? []) {
        const i = Number(BigInt(String(u.val?.uint_val ?? '0')) - (1n << 63n));
        const at = bytes.indexOf(varint10((1n << 63n) + BigInt(i)));
        if (at < 0) return undefined;
        valueAt.push(at);
        leafIndex.push(i);
      }
      templates.push({ bytes, timestampAt, valueAt, leafIndex });
    }
    return new NotificationTemplates(templates);
  }

  /** Encoded SubscribeResponses for the current values (`values[i]` is leaf i's) at `timestampNs`. */
  render(values: ReadonlyArray<SimLeaf['value']>, timestampNs: bigint): Buffer[] {
    const out: Buffer[] = [];
    const tsLo = Number(timestampNs & 0xffffffffn);
    const tsHi = Number(timestampNs >> 32n);
    for (const t of this.templates) {
      const b = Buffer.allocUnsafe(t.bytes.length);
      t.bytes.copy(b);
      writeVarint10(b, t.timestampAt, tsLo, tsHi);
      for (let k = 0; k < t.valueAt.length; k++) {
        const v = values[t.leafIndex[k]] as bigint;
        writeVarint10(b, t.valueAt[k], Number(v & 0xffffffffn), Number((v >> 32n) & 0xffffffffn));
      }
      out.push(b);
    }
    return out;
  }
}

/** A uint64 as a varint padded to 10 bytes (continuation bits on the first nine). */
export function varint10(v: bigint): Buffer {
  const b = Buffer.alloc(10);
  writeVarint10(b, 0, Number(v & 0xffffffffn), Number((v >> 32n) & 0xffffffffn));
  return b;
}

/** Write the uint64 hi:lo as a 10-byte varint at `at`. */
function writeVarint10(b: Buffer, at: number, lo: number, hi: number): void {
  // 7 bits at a time from the 64-bit value held as two unsigned 32-bit halves.
  lo >>>= 0;
  hi >>>= 0;
  for (let i = 0; i < 9; i++) {
    b[at + i] = (lo & 0x7f) | 0x80;
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
  b[at + 9] = lo & 0x01;
}
