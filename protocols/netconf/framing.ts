/**
 * NETCONF message framing (RFC 6242) as a pure state machine: bytes in, whole
 * messages out. It never touches a socket, so the transport (collector or
 * simulator) only feeds it and turns its errors into typed failures.
 *
 * - base:1.0 end-of-message framing: message `]]>]]>`
 * - base:1.1 chunked framing: (`\n#<size>\n` data)+ `\n##\n`
 *
 * The size limit is enforced before anything is buffered: a chunk header that
 * announces more than the remaining budget fails at the header, not after the data.
 *
 * Memory is bounded by the budget whatever the write pattern: message bytes are
 * copied into one growing buffer (ByteAccumulator), never kept as one Buffer view
 * per write or per chunk — a device sending 1-byte chunks would otherwise cost a
 * ~100-byte object per data byte (about 1.7 GB of heap for a 16 MiB budget) and
 * pin every socket buffer those views point into.
 */

/** Which framing a session uses; every session starts with `eom` for the hello. */
export type Framing = 'eom' | 'chunked';

/** Why the byte stream cannot be framed. */
export type FramingErrorCode = 'MALFORMED_FRAMING' | 'MESSAGE_TOO_LARGE';

/** A framing failure; the decoder is unusable afterwards. */
export class FramingError extends Error {
  constructor(readonly code: FramingErrorCode, details: string) {
    super(`${code}: ${details}`);
    this.name = 'FramingError';
  }
}

const EOM = Buffer.from(']]>]]>');
const LF = 0x0a;
const HASH = 0x23;
/** RFC 6242: chunk-size is at most 4294967295 (10 digits). */
const MAX_CHUNK_SIZE = 4294967295;
const MAX_CHUNK_DIGITS = 10;

/** Smallest buffer a message starts with; it doubles as bytes arrive. */
const MIN_CAPACITY = 4096;
const EMPTY = Buffer.alloc(0);

/**
 * Bytes of one message copied into a single buffer that grows by doubling up to
 * `limit`: memory is at most about twice the bytes held (plus the copy while
 * growing), independent of how many writes or chunks delivered them.
 */
export class ByteAccumulator {
  private buf: Buffer = EMPTY;
  private used = 0;

  constructor(private readonly limit: number) {}

  /** Bytes held. */
  get length(): number {
    return this.used;
  }

  /** Bytes allocated (what the held bytes cost). */
  get capacity(): number {
    return this.buf.length;
  }

  /** Copy `src[from, to)` in. */
  append(src: Buffer, from = 0, to = src.length): void {
    const n = to - from;
    if (n <= 0) return;
    if (this.used + n > this.buf.length) this.grow(this.used + n);
    src.copy(this.buf, this.used, from, to);
    this.used += n;
  }

  private grow(need: number): void {
    let cap = Math.max(MIN_CAPACITY, this.buf.length * 2);
    while (cap < need) cap *= 2;
    cap = Math.max(need, Math.min(cap, this.limit));
    const next = Buffer.allocUnsafe(cap);
    this.buf.copy(next, 0, 0, this.used);
    this.buf = next;
  }

  /** The last n held bytes (a view). */
  tail(n: number): Buffer {
    return this.buf.subarray(this.used - n, this.used);
  }

  /** Forget the last n held bytes. */
  dropTail(n: number): void {
    this.used -= n;
  }

  /** Hand out the held bytes and start over (the next message starts small again). */
  take(): Buffer {
    const out = this.buf.subarray(0, this.used);
    this.buf = EMPTY;
    this.used = 0;
    return out;
  }
}

type ChunkState =
  | 'lf' // expecting the LF that starts a chunk header or end-of-chunks
  | 'hash' // expecting '#'
  | 'first' // expecting a digit 1-9 (chunk) or '#' (end-of-chunks)
  | 'digits' // reading size digits until LF
  | 'data' // reading chunk data
  | 'end-lf'; // after '##', expecting LF

/** Options of a decoder. */
export interface FrameDecoderOptions {
  /** Largest message accepted, bytes. */
  maxMessageBytes: number;
  /** Initial framing (default `eom`, as for the hello). */
  framing?: Framing;
  /**
   * Stop after the first complete message and hold the rest until setFraming()
   * is called: the hello decides the framing of everything after it.
   */
  holdAfterFirstMessage?: boolean;
}

/** Decodes a NETCONF byte stream into messages. */
export class FrameDecoder {
  private framing: Framing;
  private readonly max: number;
  /** The message being assembled. */
  private readonly msg: ByteAccumulator;
  private failed: FramingError | undefined;
  private holding: boolean;
  /** The first message was emitted while holding: later bytes wait for setFraming(). */
  private firstSeen = false;
  private readonly held: ByteAccumulator;
  // chunked state
  private state: ChunkState = 'lf';
  private digits = '';
  private remaining = 0;
  private chunksInMessage = 0;

  constructor(opts: FrameDecoderOptions) {
    this.max = opts.maxMessageBytes;
    // Up to 5 bytes over the budget may be held in eom mode: they may start the delimiter.
    this.msg = new ByteAccumulator(this.max + EOM.length);
    this.held = new ByteAccumulator(this.max);
    this.framing = opts.framing ?? 'eom';
    this.holding = opts.holdAfterFirstMessage ?? false;
  }

  /** Current framing. */
  get current(): Framing {
    return this.framing;
  }

  /** True while part of a message is buffered (used for the message-completion timeout). */
  get inMessage(): boolean {
    if (this.framing === 'eom') return this.msg.length > 0;
    return this.msg.length > 0 || this.state !== 'lf' || this.chunksInMessage > 0;
  }

  /** Bytes held in memory right now. */
  get bufferedBytes(): number {
    return this.msg.length + this.held.length;
  }

  /** Bytes allocated for what is buffered (at most about twice bufferedBytes). */
  get allocatedBytes(): number {
    return this.msg.capacity + this.held.capacity;
  }

  /**
   * Feed bytes; returns every message completed by them (possibly none).
   * Throws FramingError on malformed framing or an oversized message.
   */
  write(chunk: Uint8Array): Buffer[] {
    if (this.failed) throw this.failed;
    const data = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.holding && this.firstSeen) return this.hold(data);
    const out: Buffer[] = [];
    try {
      if (this.framing === 'eom') this.writeEom(data, out);
      else this.writeChunked(data, 0, out);
    } catch (err) {
      if (err instanceof FramingError) this.failed = err;
      throw err;
    }
    return out;
  }

  private hold(data: Buffer): Buffer[] {
    if (this.held.length + data.length > this.max) {
      this.failed = new FramingError('MESSAGE_TOO_LARGE', `more than ${this.max} bytes arrived before the framing was chosen`);
      throw this.failed;
    }
    this.held.append(data);
    return [];
  }

  /**
   * Choose the framing for everything after the first message and decode the
   * bytes held since then. Returns the messages they complete.
   */
  setFraming(framing: Framing): Buffer[] {
    if (this.failed) throw this.failed;
    this.framing = framing;
    this.holding = false;
    this.firstSeen = false;
    const held = this.held.take();
    return held.length > 0 ? this.write(held) : [];
  }

  private emit(out: Buffer[], msg: Buffer): void {
    out.push(msg);
    if (this.holding) this.firstSeen = true;
  }

  private ensureRoom(extra: number, slack = 0): void {
    if (this.msg.length + extra > this.max + slack) {
      throw new FramingError('MESSAGE_TOO_LARGE', `message exceeds ${this.max} bytes`);
    }
  }

  private take(): Buffer {
    return this.msg.take();
  }

  private writeEom(data: Buffer, out: Buffer[]): void {
    let start = 0;
    while (start < data.length) {
      if (this.holding && this.firstSeen) {
        this.hold(data.subarray(start));
        return;
      }
      // A delimiter may straddle the buffered bytes and this write.
      const tailLen = Math.min(EOM.length - 1, this.msg.length);
      if (tailLen > 0) {
        const probe = Buffer.concat([this.msg.tail(tailLen), data.subarray(start, start + EOM.length - 1)]);
        const at = probe.indexOf(EOM);
        if (at >= 0 && at < tailLen) {
          this.msg.dropTail(tailLen - at);
          this.checkComplete();
          this.emit(out, this.take());
          start += EOM.length - (tailLen - at);
          continue;
        }
      }
      const at = data.indexOf(EOM, start);
      if (at < 0) {
        // Keep up to 5 bytes of slack: they may be the start of a delimiter.
        this.ensureRoom(data.length - start, EOM.length - 1);
        this.msg.append(data, start);
        return;
      }
      this.ensureRoom(at - start);
      // A whole message inside this write is handed out as a view, without a copy.
      if (this.msg.length === 0) this.emit(out, data.subarray(start, at));
      else {
        this.msg.append(data, start, at);
        this.emit(out, this.take());
      }
      start = at + EOM.length;
    }
  }

  private checkComplete(): void {
    if (this.msg.length > this.max) throw new FramingError('MESSAGE_TOO_LARGE', `message exceeds ${this.max} bytes`);
  }

  private malformed(what: string, byte: number): never {
    const shown = byte >= 0x20 && byte < 0x7f ? `'${String.fromCharCode(byte)}'` : `0x${byte.toString(16).padStart(2, '0')}`;
    throw new FramingError('MALFORMED_FRAMING', `${what}, got ${shown}`);
  }

  private writeChunked(data: Buffer, from: number, out: Buffer[]): void {
    let i = from;
    while (i < data.length) {
      if (this.holding && this.firstSeen) {
        this.hold(data.subarray(i));
        return;
      }
      switch (this.state) {
        case 'data': {
          const n = Math.min(this.remaining, data.length - i);
          this.msg.append(data, i, i + n);
          this.remaining -= n;
          i += n;
          if (this.remaining === 0) this.state = 'lf';
          break;
        }
        case 'lf':
          if (data[i] !== LF) this.malformed('expected LF before a chunk header', data[i]);
          this.state = 'hash';
          i++;
          break;
        case 'hash':
          if (data[i] !== HASH) this.malformed("expected '#' in a chunk header", data[i]);
          this.state = 'first';
          i++;
          break;
        case 'first': {
          const b = data[i];
          if (b === HASH) {
            if (this.chunksInMessage === 0) this.malformed('end-of-chunks before any chunk', b);
            this.state = 'end-lf';
          } else if (b >= 0x31 && b <= 0x39) {
            this.digits = String.fromCharCode(b);
            this.state = 'digits';
          } else {
            this.malformed('expected a chunk size (1-9) or #', b);
          }
          i++;
          break;
        }
        case 'digits': {
          const b = data[i];
          if (b === LF) {
            const size = Number(this.digits);
            if (size > MAX_CHUNK_SIZE) throw new FramingError('MALFORMED_FRAMING', `chunk size ${this.digits} exceeds ${MAX_CHUNK_SIZE}`);
            // The budget check happens here, before a single data byte is kept.
            if (this.msg.length + size > this.max) {
              throw new FramingError('MESSAGE_TOO_LARGE', `chunk of ${size} bytes would exceed ${this.max} bytes per message`);
            }
            this.remaining = size;
            this.chunksInMessage++;
            this.state = 'data';
          } else if (b >= 0x30 && b <= 0x39) {
            if (this.digits.length >= MAX_CHUNK_DIGITS) throw new FramingError('MALFORMED_FRAMING', 'chunk size has too many digits');
            this.digits += String.fromCharCode(b);
          } else {
            this.malformed('expected a digit or LF in a chunk size', b);
          }
          i++;
          break;
        }
        case 'end-lf':
          if (data[i] !== LF) this.malformed('expected LF after ##', data[i]);
          i++;
          this.state = 'lf';
          this.chunksInMessage = 0;
          this.emit(out, this.take());
          break;
      }
    }
  }
}

/** Frame one message for sending. */
export function encodeMessage(xml: string | Buffer, framing: Framing): Buffer {
  const body = typeof xml === 'string' ? Buffer.from(xml, 'utf8') : xml;
  if (framing === 'eom') return Buffer.concat([body, EOM]);
  if (body.length === 0) throw new Error('a chunked message needs at least one byte');
  return Buffer.concat([Buffer.from(`\n#${body.length}\n`), body, Buffer.from('\n##\n')]);
}
