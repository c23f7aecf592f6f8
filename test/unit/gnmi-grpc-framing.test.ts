import assert from 'node:assert/strict';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { decodeGrpcMessage, frameGrpcMessage, GrpcFramingError, GrpcMessageReader, grpcStatusFromHttp, grpcTimeoutHeader } from '../../protocols/gnmi/grpc-framing';
import { toGnmiSessionError, counterFor, OVERSIZED_COUNTER } from '../../protocols/gnmi/errors';
import { GrpcCallError } from '../../protocols/gnmi/h2-transport';

const bytes = (...xs: number[]) => Buffer.from(xs);

/** Feed `chunks` and collect every message the reader hands back. */
function read(reader: GrpcMessageReader, chunks: Buffer[]): string[] {
  const out: string[] = [];
  for (const c of chunks) for (const m of reader.push(c) ?? []) out.push(m.toString('hex'));
  return out;
}

describe('gRPC message framing (node:http2 gNMI transport)', () => {
  it('frames a message with a 5-byte prefix: flag 0, big-endian length', () => {
    assert.deepEqual(frameGrpcMessage(bytes(0xaa, 0xbb, 0xcc)), bytes(0, 0, 0, 0, 3, 0xaa, 0xbb, 0xcc));
    assert.deepEqual(frameGrpcMessage(new Uint8Array(0)), bytes(0, 0, 0, 0, 0));
  });

  it('reads messages split anywhere, byte by byte and several in one chunk', () => {
    const wire = Buffer.concat([frameGrpcMessage(bytes(1, 2, 3)), frameGrpcMessage(bytes()), frameGrpcMessage(Buffer.alloc(300, 7))]);
    const want = ['010203', '', Buffer.alloc(300, 7).toString('hex')];
    assert.deepEqual(read(new GrpcMessageReader(1024), [wire]), want);
    const oneByOne = [...wire].map((b) => bytes(b));
    const reader = new GrpcMessageReader(1024);
    assert.deepEqual(read(reader, oneByOne), want);
    assert.equal(reader.midMessage, false);
    for (let cut = 1; cut < wire.length; cut += 37) assert.deepEqual(read(new GrpcMessageReader(1024), [wire.subarray(0, cut), wire.subarray(cut)]), want, `cut at ${cut}`);
  });

  it('knows when the body stops inside a message', () => {
    const reader = new GrpcMessageReader(1024);
    assert.equal(reader.push(frameGrpcMessage(bytes(1, 2, 3)).subarray(0, 6)), undefined);
    assert.equal(reader.midMessage, true);
  });

  it('refuses a message above the limit from its prefix alone, in grpc-js words (RESOURCE_EXHAUSTED, "larger than max")', () => {
    const reader = new GrpcMessageReader(100);
    assert.deepEqual(read(reader, [frameGrpcMessage(Buffer.alloc(100))]), [Buffer.alloc(100).toString('hex')], 'the limit itself is allowed');
    assert.throws(
      () => reader.push(bytes(0, 0, 0, 0, 101)),
      (e: GrpcFramingError) => e.code === GrpcStatus.RESOURCE_EXHAUSTED && e.details === 'Received message larger than max (101 vs. 100)',
    );
  });

  it('refuses a compressed message: no encoding is ever advertised', () => {
    assert.throws(
      () => new GrpcMessageReader(100).push(bytes(1, 0, 0, 0, 1, 9)),
      (e: GrpcFramingError) => e.code === GrpcStatus.INTERNAL && /compressed/.test(e.details),
    );
  });

  it('percent-decodes grpc-message and keeps a malformed one as sent', () => {
    assert.equal(decodeGrpcMessage('bad%20password%3A%20%E2%9C%93'), 'bad password: ✓');
    assert.equal(decodeGrpcMessage('100%'), '100%');
    assert.equal(decodeGrpcMessage(undefined), '');
  });

  it('maps HTTP statuses without grpc-status as gRPC specifies', () => {
    assert.equal(grpcStatusFromHttp(401), GrpcStatus.UNAUTHENTICATED);
    assert.equal(grpcStatusFromHttp(404), GrpcStatus.UNIMPLEMENTED);
    assert.equal(grpcStatusFromHttp(503), GrpcStatus.UNAVAILABLE);
    assert.equal(grpcStatusFromHttp(500), GrpcStatus.UNKNOWN);
  });

  it('writes grpc-timeout in at most 8 digits', () => {
    assert.equal(grpcTimeoutHeader(5000), '5000m');
    assert.equal(grpcTimeoutHeader(0.2), '1m');
    assert.equal(grpcTimeoutHeader(1e9), '1000000S');
    assert.equal(grpcTimeoutHeader(1e12), '277778H');
  });

  it('its call errors become the session errors grpc-js errors become', () => {
    const oversized = toGnmiSessionError(new GrpcCallError(GrpcStatus.RESOURCE_EXHAUSTED, 'Received message larger than max (200 vs. 100)'), 'Subscribe');
    assert.equal(oversized.code, 'PROTOCOL_ERROR');
    assert.equal(counterFor(oversized), OVERSIZED_COUNTER);
    assert.equal(toGnmiSessionError(new GrpcCallError(GrpcStatus.INTERNAL, 'Response message parsing error: index out of range'), 'Subscribe').code, 'PROTOCOL_ERROR');
    assert.equal(toGnmiSessionError(new GrpcCallError(GrpcStatus.UNAVAILABLE, 'No connection established. Last error: self-signed certificate'), 'gNMI').code, 'TLS_FAILED');
    assert.equal(toGnmiSessionError(new GrpcCallError(GrpcStatus.UNAVAILABLE, 'Connection dropped: read ECONNRESET'), 'gNMI').code, 'UNAVAILABLE');
    assert.equal(toGnmiSessionError(new GrpcCallError(GrpcStatus.UNAUTHENTICATED, 'bad password'), 'gNMI').code, 'AUTH_FAILED');
    assert.match(new GrpcCallError(GrpcStatus.NOT_FOUND, 'no such path').message, /^5 NOT_FOUND: no such path$/);
  });
});
