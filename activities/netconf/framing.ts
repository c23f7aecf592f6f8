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
  private parts: Buffer[] = [];
  private size = 0;
  private failed: FramingError | undefined;
  private holding: boolean;
  /** The first message was emitted while holding: later bytes wait for setFraming(). */
  private firstSeen = false;
  private held: Buffer[] = [];
  private heldSize = 0;
  // chunked state
  private state: ChunkState = 'lf';
  private digits = '';
  private remaining = 0;
  private chunksInMessage = 0;

  constructor(opts: FrameDecoderOptions) {
    this.max = opts.maxMessageBytes;
    this.framing = opts.framing ?? 'eom';
    this.holding = opts.holdAfterFirstMessage ?? false;
  }

  /** Current framing. */
  get current(): Framing {
    return this.framing;
  }

  /** True while part of a message is buffered (used for the message-completion timeout). */
  get inMessage(): boolean {
    if (this.framing === 'eom') return this.size > 0;
    return this.size > 0 || this.state !== 'lf' || this.chunksInMessage > 0;
  }

  /** Bytes held in memory right now. */
  get bufferedBytes(): number {
    return this.size + this.heldSize;
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
    if (this.heldSize + data.length > this.max) {
      this.failed = new FramingError('MESSAGE_TOO_LARGE', `more than ${this.max} bytes arrived before the framing was chosen`);
      throw this.failed;
    }
    this.held.push(data);
    this.heldSize += data.length;
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
    const held = Buffer.concat(this.held);
    this.held = [];
    this.heldSize = 0;
    return held.length > 0 ? this.write(held) : [];
  }

  private emit(out: Buffer[], msg: Buffer): void {
    out.push(msg);
    if (this.holding) this.firstSeen = true;
  }

  private ensureRoom(extra: number, slack = 0): void {
    if (this.size + extra > this.max + slack) {
      throw new FramingError('MESSAGE_TOO_LARGE', `message exceeds ${this.max} bytes`);
    }
  }

  private take(): Buffer {
    const msg = this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts, this.size);
    this.parts = [];
    this.size = 0;
    return msg;
  }

  /** The last n buffered bytes of the current message. */
  private tail(n: number): Buffer {
    const bufs: Buffer[] = [];
    let need = n;
    for (let i = this.parts.length - 1; i >= 0 && need > 0; i--) {
      const p = this.parts[i];
      const piece = p.length > need ? p.subarray(p.length - need) : p;
      bufs.unshift(piece);
      need -= piece.length;
    }
    return Buffer.concat(bufs);
  }

  /** Drop the last n buffered bytes (the start of a delimiter split across writes). */
  private dropTail(n: number): void {
    let drop = n;
    while (drop > 0) {
      const p = this.parts[this.parts.length - 1];
      if (p.length <= drop) {
        this.parts.pop();
        drop -= p.length;
      } else {
        this.parts[this.parts.length - 1] = p.subarray(0, p.length - drop);
        drop = 0;
      }
    }
    this.size -= n;
  }

  private writeEom(data: Buffer, out: Buffer[]): void {
    let start = 0;
    while (start < data.length) {
      if (this.holding && this.firstSeen) {
        this.hold(data.subarray(start));
        return;
      }
      // A delimiter may straddle the buffered bytes and this write.
      const tailLen = Math.min(EOM.length - 1, this.size);
      if (tailLen > 0) {
        const probe = Buffer.concat([this.tail(tailLen), data.subarray(start, start + EOM.length - 1)]);
        const at = probe.indexOf(EOM);
        if (at >= 0 && at < tailLen) {
          this.dropTail(tailLen - at);
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
        this.parts.push(data.subarray(start));
        this.size += data.length - start;
        return;
      }
      this.ensureRoom(at - start);
      if (at > start) {
        this.parts.push(data.subarray(start, at));
        this.size += at - start;
      }
      this.emit(out, this.take());
      start = at + EOM.length;
    }
  }

  private checkComplete(): void {
    if (this.size > this.max) throw new FramingError('MESSAGE_TOO_LARGE', `message exceeds ${this.max} bytes`);
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
          this.parts.push(data.subarray(i, i + n));
          this.size += n;
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
            if (this.size + size > this.max) {
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
