/**
 * A minimal gRPC client for gNMI on node:http2 (GNMI_TRANSPORT=http2, ADR 265): one HTTP/2
 * session per device, a POST per call, 5-byte framed messages (grpc-framing.ts), the status from
 * the trailers (or a trailers-only response). It replaces grpc-js's resolver, load balancer,
 * subchannel and connectivity state machine, which cost each dial milliseconds of CPU and each
 * session kilobytes of heap, with what a gNMI session uses: Capabilities with a deadline, the
 * Subscribe stream, keepalive pings, close. Failures are errors with grpc-js's codes and
 * wording (GrpcCallError), so toGnmiSessionError types them the same way for both transports.
 *
 * Event handlers are module functions reading their call or connection from a symbol on the
 * emitter: no closure per call or session (issue 16).
 */
import http2 from 'node:http2';
import net from 'node:net';
import { checkServerIdentity } from 'node:tls';
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { DeviceConfig } from '../../core/device';
import type { GnmiClient, GnmiSubscribeCall, GnmiUnaryDone } from './transport';
import { decodeGrpcMessage, frameGrpcMessage, GrpcFramingError, GrpcMessageReader, grpcStatusFromHttp, grpcTimeoutHeader } from './grpc-framing';
import { readCapabilityResponse, readSubscribeResponse, writeSubscribeRequest, type WireCapabilityResponse, type WireSubscribeRequest, type WireSubscribeResponse } from './proto';
import { credentialsHeaders, tlsMaterial, type TlsMaterial } from './tls';

/**
 * Keepalive while calls are open: a ping after `timeMs` without data, answered within `timeoutMs`
 * (or data arriving meanwhile) or the connection is dropped.
 */
export interface Http2Keepalive {
  timeMs: number;
  timeoutMs: number;
}

/** Keepalive as the grpc-js channel has it (gnmiChannelOptions): a ping every 30 s, answered within 10 s. */
export const GNMI_KEEPALIVE: Http2Keepalive = { timeMs: 30_000, timeoutMs: 10_000 };

const { NGHTTP2_CANCEL, NGHTTP2_REFUSED_STREAM, NGHTTP2_ENHANCE_YOUR_CALM, NGHTTP2_INADEQUATE_SECURITY } = http2.constants;

/** A failed call: grpc-js's ServiceError shape (code, details, message `code NAME: details`). */
export class GrpcCallError extends Error {
  constructor(
    readonly code: GrpcStatus,
    readonly details: string,
  ) {
    super(`${code} ${GrpcStatus[code]}: ${details}`);
    this.name = 'GrpcCallError';
  }
}

const CALL = Symbol('grpcCall');
const CONNECTION = Symbol('gnmiConnection');

type CallStream = http2.ClientHttp2Stream & { [CALL]?: H2Call };
type Session = http2.ClientHttp2Session & { [CONNECTION]?: H2Connection };

/** Queued responses past which the stream is paused until the reader catches up (backpressure reaches the device). */
const HIGH_WATER = 4;

/**
 * One call on the session: framing in, status out. A unary call (`done` set) keeps its one
 * message; a streaming call queues messages for its async iterator.
 */
class H2Call implements GnmiSubscribeCall {
  private readonly reader: GrpcMessageReader;
  private queue: WireSubscribeResponse[] = [];
  private waiting: { resolve: (r: IteratorResult<WireSubscribeResponse>) => void; reject: (e: unknown) => void } | null = null;
  /** Set once the call's outcome is known: null for OK, else the error. */
  private outcome: GrpcCallError | null | undefined = undefined;
  private unaryMessage: Buffer | undefined;
  /** The status the device sent (null: OK), applied at close. */
  private received: GrpcCallError | null | undefined = undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private paused = false;

  constructor(
    private readonly connection: H2Connection,
    private readonly stream: CallStream,
    private readonly done: GnmiUnaryDone<WireCapabilityResponse> | undefined,
    timeoutMs: number | undefined,
  ) {
    this.reader = new GrpcMessageReader(connection.maxMessageBytes);
    stream[CALL] = this;
    stream.on('response', onResponse);
    stream.on('trailers', onTrailers);
    stream.on('data', onData);
    stream.on('end', onStreamEnd);
    stream.on('error', onStreamError);
    stream.on('close', onStreamClose);
    if (timeoutMs !== undefined) this.deadlineTimer = setTimeout(onDeadline, timeoutMs, this);
  }

  write(request: WireSubscribeRequest): void {
    if (this.outcome !== undefined || this.stream.destroyed) return;
    this.stream.write(frameGrpcMessage(writeSubscribeRequest(request)));
  }

  /** The last request message: the request side ends with it (a unary call). */
  writeLast(message: Uint8Array): void {
    if (this.outcome !== undefined || this.stream.destroyed) return;
    this.stream.end(frameGrpcMessage(message));
  }

  cancel(): void {
    this.fail(new GrpcCallError(GrpcStatus.CANCELLED, 'Cancelled on client'));
  }

  [Symbol.asyncIterator](): AsyncIterator<WireSubscribeResponse> {
    return this;
  }

  next(): Promise<IteratorResult<WireSubscribeResponse>> {
    const msg = this.queue.shift();
    if (msg !== undefined) {
      if (this.paused && this.queue.length < HIGH_WATER / 2) {
        this.paused = false;
        this.stream.resume();
      }
      return Promise.resolve({ value: msg, done: false });
    }
    if (this.outcome === null) return Promise.resolve({ value: undefined, done: true });
    if (this.outcome) return Promise.reject(this.outcome);
    return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
  }

  return(): Promise<IteratorResult<WireSubscribeResponse>> {
    this.cancel();
    return Promise.resolve({ value: undefined, done: true });
  }

  /** Response headers: a trailers-only response carries the status here. */
  response(headers: http2.IncomingHttpHeaders & http2.IncomingHttpStatusHeader): void {
    if (headers['grpc-status'] !== undefined) return this.status(headers);
    const httpStatus = headers[':status'] ?? 0;
    if (httpStatus !== 200) return this.fail(new GrpcCallError(grpcStatusFromHttp(httpStatus), `Received HTTP status code ${httpStatus}`));
    const type = headers['content-type'];
    if (typeof type !== 'string' || !type.startsWith('application/grpc')) this.fail(new GrpcCallError(GrpcStatus.UNKNOWN, `Received invalid content-type ${type}`));
  }

  /**
   * Trailers (or trailers-only headers): the call's status, which takes effect when the stream
   * closes: a paused stream may still hold messages sent before it, read first.
   */
  status(headers: http2.IncomingHttpHeaders): void {
    const raw = headers['grpc-status'];
    const code = Number(Array.isArray(raw) ? raw[0] : raw);
    const message = headers['grpc-message'];
    const details = decodeGrpcMessage(Array.isArray(message) ? message[0] : message);
    if (!Number.isInteger(code) || raw === undefined) this.received = new GrpcCallError(GrpcStatus.UNKNOWN, 'Received trailers without grpc-status');
    else this.received = code === GrpcStatus.OK ? null : new GrpcCallError(code as GrpcStatus, details);
  }

  data(chunk: Buffer): void {
    this.connection.readSinceCheck = true;
    if (this.outcome !== undefined) return;
    let messages: Buffer[] | undefined;
    try {
      messages = this.reader.push(chunk);
    } catch (err) {
      if (err instanceof GrpcFramingError) return this.fail(new GrpcCallError(err.code, err.details));
      throw err;
    }
    if (!messages) return;
    for (const bytes of messages) {
      if (this.done) {
        if (this.unaryMessage) return this.fail(new GrpcCallError(GrpcStatus.UNIMPLEMENTED, 'Received a second response message on a unary call'));
        this.unaryMessage = bytes;
        continue;
      }
      let msg: WireSubscribeResponse;
      try {
        msg = readSubscribeResponse(bytes);
      } catch (err) {
        // grpc-js's wording: errors.ts tells a malformed message by "parsing error".
        return this.fail(new GrpcCallError(GrpcStatus.INTERNAL, `Response message parsing error: ${(err as Error).message}`));
      }
      if (this.waiting) {
        const w = this.waiting;
        this.waiting = null;
        w.resolve({ value: msg, done: false });
      } else {
        this.queue.push(msg);
        if (!this.paused && this.queue.length >= HIGH_WATER) {
          this.paused = true;
          this.stream.pause();
        }
      }
    }
  }

  /**
   * The device's side ended and every message it sent was read: the status it sent decides. Our
   * side of a bidi stream is still open (half-closed), so the stream is closed here: no close
   * event would come otherwise.
   */
  ended(): void {
    if (this.outcome !== undefined) return;
    if (this.received === undefined) {
      // A stream destroyed with its session (keepalive, socket error) ends too: its close event says why.
      if (this.stream.destroyed || this.connection.lastError) return;
      return this.fail(new GrpcCallError(GrpcStatus.UNAVAILABLE, 'Connection dropped: the stream ended without a status'));
    }
    if (this.received === null && this.reader.midMessage) return this.fail(new GrpcCallError(GrpcStatus.INTERNAL, 'The stream ended inside a message'));
    if (this.received) return this.fail(this.received);
    this.finish(null);
    if (!this.stream.closed) this.stream.close();
  }

  /** The stream closed: whatever it did not say (status, error, reset) decides the outcome. */
  closed(error: Error | undefined): void {
    if (this.outcome !== undefined) return;
    if (this.received !== undefined) return this.ended();
    const connError = this.connection.lastError;
    if (error || connError) {
      const cause = connError ?? error!;
      const what = this.connection.established ? 'Connection dropped' : 'No connection established. Last error';
      this.fail(new GrpcCallError(GrpcStatus.UNAVAILABLE, `${what}: ${cause.message}`));
    } else if (this.stream.rstCode) {
      this.fail(new GrpcCallError(grpcStatusFromReset(this.stream.rstCode), `Received RST_STREAM with code ${this.stream.rstCode}`));
    } else {
      this.fail(new GrpcCallError(GrpcStatus.UNAVAILABLE, 'Connection dropped: the stream ended without a status'));
    }
  }

  deadlineExpired(): void {
    this.deadlineTimer = undefined;
    this.fail(new GrpcCallError(GrpcStatus.DEADLINE_EXCEEDED, 'Deadline exceeded'));
  }

  private fail(error: GrpcCallError): void {
    if (this.outcome !== undefined) return;
    this.finish(error);
    // Ends the stream with RST_STREAM CANCEL: the device stops sending.
    if (!this.stream.closed) this.stream.close(NGHTTP2_CANCEL);
  }

  private finish(error: GrpcCallError | null): void {
    if (this.outcome !== undefined) return;
    this.outcome = error;
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    this.deadlineTimer = undefined;
    if (this.paused) {
      this.paused = false;
      this.stream.resume();
    }
    if (this.done) {
      const message = this.unaryMessage;
      this.unaryMessage = undefined;
      if (error) return this.done(error);
      if (!message) return this.done(new GrpcCallError(GrpcStatus.UNIMPLEMENTED, 'No message received'));
      let response: WireCapabilityResponse;
      try {
        response = readCapabilityResponse(message);
      } catch (err) {
        return this.done(new GrpcCallError(GrpcStatus.INTERNAL, `Response message parsing error: ${(err as Error).message}`));
      }
      return this.done(null, response);
    }
    // A failed stream drops what it had not handed over yet (grpc-js does the same on cancel).
    if (error) this.queue = [];
    if (this.waiting && this.queue.length === 0) {
      const w = this.waiting;
      this.waiting = null;
      if (error) w.reject(error);
      else w.resolve({ value: undefined, done: true });
    }
  }

  /** The stream is gone: the connection forgets the call. */
  release(): void {
    this.connection.calls.delete(this);
    delete this.stream[CALL];
  }
}

function onResponse(this: CallStream, headers: http2.IncomingHttpHeaders & http2.IncomingHttpStatusHeader): void {
  this[CALL]?.response(headers);
}
function onTrailers(this: CallStream, headers: http2.IncomingHttpHeaders): void {
  this[CALL]?.status(headers);
}
function onData(this: CallStream, chunk: Buffer): void {
  this[CALL]?.data(chunk);
}
function onStreamEnd(this: CallStream): void {
  this[CALL]?.ended();
}
function onStreamError(this: CallStream, err: Error): void {
  const call = this[CALL];
  if (call) streamErrors.set(call, err);
}
function onStreamClose(this: CallStream): void {
  const call = this[CALL];
  if (!call) return;
  const err = streamErrors.get(call);
  streamErrors.delete(call);
  call.closed(err);
  call.release();
}
function onDeadline(call: H2Call): void {
  call.deadlineExpired();
}

/** A stream's error until its close event (rare: no field on every call for it). */
const streamErrors = new WeakMap<H2Call, Error>();

/** gRPC's mapping of an RST_STREAM code received without a status. */
function grpcStatusFromReset(code: number): GrpcStatus {
  switch (code) {
    case NGHTTP2_REFUSED_STREAM:
      return GrpcStatus.UNAVAILABLE;
    case NGHTTP2_CANCEL:
      return GrpcStatus.CANCELLED;
    case NGHTTP2_ENHANCE_YOUR_CALM:
      return GrpcStatus.RESOURCE_EXHAUSTED;
    case NGHTTP2_INADEQUATE_SECURITY:
      return GrpcStatus.PERMISSION_DENIED;
    default:
      return GrpcStatus.INTERNAL;
  }
}

/**
 * One device's HTTP/2 connection, opened at its first call and again at the next call after it
 * closed (a GOAWAY, a dropped socket): a session's later calls (ONCE rounds, an encoding tried
 * after a refusal) do not inherit a dead connection.
 */
class H2Connection {
  session: Session | null = null;
  /** Why the current session failed (a connect or TLS error), for the calls it takes down. */
  lastError: Error | undefined;
  /** Whether the current session's connection (and TLS handshake) completed. */
  established = false;
  readonly calls = new Set<H2Call>();
  private keepaliveTimer: NodeJS.Timeout | undefined;
  private pingOutstanding = false;
  /** Whether data arrived since the last keepalive check: proof the path works, as grpc-go counts it. */
  readSinceCheck = false;

  constructor(
    private readonly url: string,
    private readonly options: http2.SecureClientSessionOptions,
    private readonly headers: http2.OutgoingHttpHeaders,
    readonly maxMessageBytes: number,
    private readonly keepalive: Http2Keepalive,
  ) {}

  call(method: string, timeoutMs: number | undefined, done?: GnmiUnaryDone<WireCapabilityResponse>): H2Call {
    const session = this.open();
    const headers: http2.OutgoingHttpHeaders = { ...this.headers, ':path': method };
    if (timeoutMs !== undefined) headers['grpc-timeout'] = grpcTimeoutHeader(timeoutMs);
    const stream = session.request(headers, { endStream: false }) as CallStream;
    const call = new H2Call(this, stream, done, timeoutMs);
    this.calls.add(call);
    return call;
  }

  private open(): Session {
    if (this.session && !this.session.closed && !this.session.destroyed) return this.session;
    this.lastError = undefined;
    this.established = false;
    const session = http2.connect(this.url, this.options) as Session;
    session[CONNECTION] = this;
    session.on('error', onSessionError);
    session.on('goaway', onSessionGoaway);
    session.on('close', onSessionClose);
    session.once('connect', onSessionConnect);
    this.session = session;
    return session;
  }

  connected(session: Session): void {
    if (session !== this.session) return;
    this.established = true;
    this.armKeepalive(this.keepalive.timeMs);
  }

  /** A session that failed or was told to go away takes no new calls; its calls end as their streams do. */
  retire(session: Session, error: Error | undefined): void {
    if (error && session === this.session) this.lastError ??= error;
    if (session !== this.session) return;
    this.session = null;
    this.disarmKeepalive();
  }

  keepaliveDue(): void {
    this.keepaliveTimer = undefined;
    const session = this.session;
    if (!session || session.destroyed) return;
    const read = this.readSinceCheck;
    this.readSinceCheck = false;
    if (this.pingOutstanding) {
      // On a slow link the ack queues behind the data; data still arriving shows the path alive.
      if (read) return this.armKeepalive(this.keepalive.timeoutMs);
      // No answer to the last ping within the timeout, and nothing else: the path is dead although the socket is open.
      this.lastError = new Error(`keepalive ping not answered within ${this.keepalive.timeoutMs} ms`);
      session.destroy();
      return;
    }
    if (this.calls.size > 0 && !read) {
      this.pingOutstanding = true;
      session.ping((err) => {
        if (err || session !== this.session) return;
        this.pingOutstanding = false;
        this.armKeepalive(this.keepalive.timeMs);
      });
      this.armKeepalive(this.keepalive.timeoutMs);
    } else {
      this.armKeepalive(this.keepalive.timeMs);
    }
  }

  close(): void {
    for (const call of this.calls) call.cancel();
    this.disarmKeepalive();
    const session = this.session;
    this.session = null;
    // Graceful: the cancelled streams' RST_STREAMs go out, then the session ends (GOAWAY).
    if (session && !session.closed) session.close();
  }

  private armKeepalive(ms: number): void {
    if (this.keepaliveTimer) clearTimeout(this.keepaliveTimer);
    this.keepaliveTimer = setTimeout(onKeepalive, ms, this);
    this.keepaliveTimer.unref();
  }

  private disarmKeepalive(): void {
    if (this.keepaliveTimer) clearTimeout(this.keepaliveTimer);
    this.keepaliveTimer = undefined;
    this.pingOutstanding = false;
  }
}

function onSessionError(this: Session, err: Error): void {
  this[CONNECTION]?.retire(this, err);
}
function onSessionGoaway(this: Session, errorCode: number): void {
  this[CONNECTION]?.retire(this, errorCode ? new Error(`GOAWAY received with code ${errorCode}`) : undefined);
}
function onSessionClose(this: Session): void {
  this[CONNECTION]?.retire(this, undefined);
}
function onSessionConnect(this: Session): void {
  this[CONNECTION]?.connected(this);
}
function onKeepalive(connection: H2Connection): void {
  connection.keepaliveDue();
}

/** node:http2 connect options for a device's TLS material. */
function connectOptions(device: DeviceConfig, tls: TlsMaterial): http2.SecureClientSessionOptions {
  // No push, no compression: the only settings a gNMI client needs beyond the defaults.
  const options: http2.SecureClientSessionOptions = { settings: { enablePush: false } };
  if (!tls.secure) return options;
  options.ca = tls.ca;
  options.cert = tls.cert;
  options.key = tls.key;
  options.ALPNProtocols = ['h2'];
  // The name the certificate must carry, and the SNI sent (an IP address is verified against the certificate's IP entries, with no SNI).
  const name = tls.serverName ?? device.host;
  if (!net.isIP(name)) options.servername = name;
  if (tls.serverName) {
    const name = tls.serverName;
    options.checkServerIdentity = (_host, cert) => checkServerIdentity(name, cert);
  }
  if (!tls.verify) {
    options.rejectUnauthorized = false;
    options.checkServerIdentity = () => undefined;
  }
  return options;
}

/** A gNMI client of one device on node:http2; no I/O until the first call (as with grpc-js). */
export function dialGnmiHttp2(device: DeviceConfig, keepalive: Http2Keepalive = GNMI_KEEPALIVE): GnmiClient {
  const tls = tlsMaterial(device);
  const creds = credentialsHeaders(device);
  const host = net.isIPv6(device.host) ? `[${device.host}]` : device.host;
  const url = `${tls.secure ? 'https' : 'http'}://${host}:${device.port}`;
  const headers: http2.OutgoingHttpHeaders = {
    ':method': 'POST',
    'content-type': 'application/grpc',
    te: 'trailers',
    'user-agent': 'switch-telemetry-gnmi-http2',
  };
  if (tls.secure && tls.serverName) headers[':authority'] = tls.serverName;
  if (creds) {
    headers.username = creds.username;
    headers.password = creds.password;
  }
  return new Http2GnmiClient(new H2Connection(url, connectOptions(device, tls), headers, device.gnmi.maxMessageBytes, keepalive), tls.label);
}

/** The GnmiClient over one H2Connection (a class: no closures per session). */
class Http2GnmiClient implements GnmiClient {
  constructor(
    private readonly connection: H2Connection,
    readonly security: string,
  ) {}

  capabilities(timeoutMs: number, done: GnmiUnaryDone<WireCapabilityResponse>): H2Call {
    const call = this.connection.call('/gnmi.gNMI/Capabilities', timeoutMs, done);
    // CapabilityRequest has no fields set: an empty message, and the request side ends.
    call.writeLast(EMPTY);
    return call;
  }

  subscribe(): H2Call {
    return this.connection.call('/gnmi.gNMI/Subscribe', undefined);
  }

  close(): void {
    this.connection.close();
  }
}

const EMPTY = new Uint8Array(0);
