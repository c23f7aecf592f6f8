/**
 * gRPC message framing over HTTP/2 DATA frames, as a pure state machine (no socket): each
 * message is a 1-byte compressed flag, a 4-byte big-endian length, then the message. The
 * reader is fed chunks as they arrive and hands back whole messages; a message above the
 * limit is refused from its length alone (nothing of it is buffered), and a compressed one is
 * refused because this client never advertises an encoding (grpc-accept-encoding).
 */
import { status as GrpcStatus } from '@grpc/grpc-js';

/** Bytes before each message: compressed flag and length. */
export const GRPC_PREFIX_BYTES = 5;

/** A framing failure with the gRPC status grpc-js reports for the same thing. */
export class GrpcFramingError extends Error {
  constructor(
    readonly code: GrpcStatus,
    readonly details: string,
  ) {
    super(details);
    this.name = 'GrpcFramingError';
  }
}

/** One message with its 5-byte prefix, ready for a DATA frame. */
export function frameGrpcMessage(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(GRPC_PREFIX_BYTES + message.length);
  out[0] = 0;
  out.writeUInt32BE(message.length, 1);
  out.set(message, GRPC_PREFIX_BYTES);
  return out;
}

/**
 * Splits a response body into messages. `push(chunk)` returns the messages completed by the
 * chunk (usually zero or one: no array is allocated when none completes) or throws
 * GrpcFramingError; after a throw the reader is spent.
 */
export class GrpcMessageReader {
  private readonly prefix = Buffer.alloc(GRPC_PREFIX_BYTES);
  private prefixFilled = 0;
  private message: Buffer | null = null;
  private messageFilled = 0;

  constructor(private readonly maxMessageBytes: number) {}

  /** Whether a message is partly received (a stream ending here ended mid-message). */
  get midMessage(): boolean {
    return this.prefixFilled > 0 || this.message !== null;
  }

  push(chunk: Buffer): Buffer[] | undefined {
    let out: Buffer[] | undefined;
    let at = 0;
    while (at < chunk.length) {
      if (this.message === null) {
        const take = Math.min(GRPC_PREFIX_BYTES - this.prefixFilled, chunk.length - at);
        chunk.copy(this.prefix, this.prefixFilled, at, at + take);
        this.prefixFilled += take;
        at += take;
        if (this.prefixFilled < GRPC_PREFIX_BYTES) break;
        const length = this.prefix.readUInt32BE(1);
        if (this.prefix[0] !== 0) {
          // The flag says compressed although we accept none (grpc-js: INTERNAL as well).
          throw new GrpcFramingError(GrpcStatus.INTERNAL, `Received compressed message but no message encoding was negotiated (flag ${this.prefix[0]})`);
        }
        if (length > this.maxMessageBytes) {
          // grpc-js's wording: errors.ts tells an oversized message by "larger than max".
          throw new GrpcFramingError(GrpcStatus.RESOURCE_EXHAUSTED, `Received message larger than max (${length} vs. ${this.maxMessageBytes})`);
        }
        this.prefixFilled = 0;
        if (length === 0) {
          (out ??= []).push(Buffer.alloc(0));
          continue;
        }
        // A whole message inside this chunk is handed on as a view, without a copy.
        if (chunk.length - at >= length) {
          (out ??= []).push(chunk.subarray(at, at + length));
          at += length;
          continue;
        }
        this.message = Buffer.allocUnsafe(length);
        this.messageFilled = 0;
      }
      const take = Math.min(this.message.length - this.messageFilled, chunk.length - at);
      chunk.copy(this.message, this.messageFilled, at, at + take);
      this.messageFilled += take;
      at += take;
      if (this.messageFilled === this.message.length) {
        (out ??= []).push(this.message);
        this.message = null;
      }
    }
    return out;
  }
}

/** grpc-message is percent-encoded (gRPC over HTTP/2): decoded, or left as sent when malformed. */
export function decodeGrpcMessage(text: string | undefined): string {
  if (!text) return '';
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The gRPC status of an HTTP response that carries none (gRPC's HTTP-to-gRPC status mapping). */
export function grpcStatusFromHttp(httpStatus: number): GrpcStatus {
  switch (httpStatus) {
    case 400:
      return GrpcStatus.INTERNAL;
    case 401:
      return GrpcStatus.UNAUTHENTICATED;
    case 403:
      return GrpcStatus.PERMISSION_DENIED;
    case 404:
      return GrpcStatus.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return GrpcStatus.UNAVAILABLE;
    default:
      return GrpcStatus.UNKNOWN;
  }
}

/** The grpc-timeout header for a deadline `ms` from now (at most 8 digits, so coarser units for long ones). */
export function grpcTimeoutHeader(ms: number): string {
  const n = Math.max(1, Math.ceil(ms));
  if (n < 1e8) return `${n}m`;
  const s = Math.ceil(n / 1000);
  if (s < 1e8) return `${s}S`;
  return `${Math.min(99_999_999, Math.ceil(s / 3600))}H`;
}
