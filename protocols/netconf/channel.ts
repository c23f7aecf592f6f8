/**
 * One NETCONF session over one byte stream (an SSH `netconf` subsystem channel):
 * hello exchange, framing choice, message-id tracking, rpc-reply matching and
 * notification delivery. The thin I/O layer over framing.ts and xml.ts: every
 * parser error becomes a typed SessionError and a counter, never a crash.
 */
import type { Duplex } from 'node:stream';
import { SessionError } from '../../core/session';
import { encodeMessage, FrameDecoder, FramingError, type Framing } from './framing';
import { CAP, CLOSE_SESSION, describeRpcError, hasCapability, helloXml, readHello, readNotification, readRpcReply, rpcXml, type Hello, type Notification, type RpcError, type RpcReply } from './rpc';
import { parseXml, XmlSafetyError, type XmlNode } from './xml';

/** Counter of messages refused as hostile or malformed. */
export const HOSTILE_COUNTER = 'netconf_hostile_messages_total';

/** Capabilities the collector advertises. */
export const CLIENT_CAPABILITIES = [CAP.base10, CAP.base11];

/** Options of a channel. */
export interface ChannelOptions {
  maxMessageBytes: number;
  /** A message that has started must end within this time. */
  messageTimeoutMs: number;
  maxDepth?: number;
  count(name: string, by?: number, labels?: Record<string, string>): void;
  /** Called for every notification, in order; the channel stops reading while it is pending (backpressure). */
  onNotification?(n: Notification, receivedAt: number): void | Promise<void>;
  /** Called once when the channel fails or closes unexpectedly. */
  onFailure(err: SessionError): void;
}

/** An rpc that came back with rpc-error elements of severity error. */
export class RpcFailure extends Error {
  constructor(readonly errors: RpcError[]) {
    super(errors.map(describeRpcError).join('; '));
    this.name = 'RpcFailure';
  }
}

interface Pending {
  resolve(r: RpcReply): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

/** A client-side NETCONF session. */
export class NetconfChannel {
  private readonly decoder: FrameDecoder;
  private framing: Framing = 'eom';
  private nextId = 1;
  private readonly pending = new Map<string, Pending>();
  private helloWaiter?: { resolve(h: Hello): void; reject(e: Error): void };
  private failed: SessionError | undefined;
  private closing = false;
  private messageTimer: NodeJS.Timeout | undefined;
  private work: Promise<void> = Promise.resolve();
  private queued = 0;
  /** Time the last complete message arrived. */
  lastMessageAt = Date.now();
  hello?: Hello;

  constructor(private readonly stream: Duplex, private readonly opts: ChannelOptions) {
    this.decoder = new FrameDecoder({ maxMessageBytes: opts.maxMessageBytes, holdAfterFirstMessage: true });
    stream.on('data', (chunk: Buffer) => this.onData(chunk));
    stream.on('error', (err: Error) => this.fail(new SessionError('UNAVAILABLE', `channel error: ${err.message}`, { cause: err })));
    stream.on('close', () => this.fail(new SessionError('UNAVAILABLE', 'the device closed the NETCONF channel')));
  }

  /** Framing chosen after the hello. */
  get currentFraming(): Framing {
    return this.framing;
  }

  /** Exchange hellos; chooses chunked framing when both sides speak base:1.1. */
  async exchangeHello(timeoutMs: number): Promise<Hello> {
    const got = new Promise<Hello>((resolve, reject) => (this.helloWaiter = { resolve, reject }));
    this.stream.write(encodeMessage(helloXml(CLIENT_CAPABILITIES), 'eom'));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new SessionError('STALLED', `no hello from the device within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([got, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Send an operation and wait for its reply; rejects with RpcFailure on rpc-error. */
  rpc(operation: string, timeoutMs: number): Promise<RpcReply> {
    if (this.failed) return Promise.reject(this.failed);
    const id = String(this.nextId++);
    return new Promise<RpcReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new SessionError('STALLED', `no rpc-reply to message-id ${id} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.stream.write(encodeMessage(rpcXml(id, operation), this.framing));
    });
  }

  /** Send close-session and wait briefly for the reply (best effort), then end the channel. */
  async close(waitMs = 1000): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (!this.failed && this.hello) {
      try {
        await this.rpc(CLOSE_SESSION, waitMs);
      } catch {
        // best effort: the device may already be gone
      }
    }
    this.shutdown();
  }

  /** Tear down without a close-session. */
  shutdown(): void {
    this.closing = true;
    clearTimeout(this.messageTimer);
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(this.failed ?? new SessionError('UNAVAILABLE', 'channel closed'));
    }
    this.pending.clear();
    this.stream.removeAllListeners('data');
    this.stream.on('error', () => {});
    this.stream.end();
    this.stream.destroy();
  }

  private fail(err: SessionError): void {
    if (this.failed || this.closing) return;
    this.failed = err;
    clearTimeout(this.messageTimer);
    this.helloWaiter?.reject(err);
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.pending.clear();
    this.opts.onFailure(err);
    this.stream.removeAllListeners('data');
    this.stream.destroy();
  }

  private hostile(reason: string, details: string): void {
    this.opts.count(HOSTILE_COUNTER, 1, { reason });
    this.fail(new SessionError('PROTOCOL_ERROR', `${reason}: ${details}`));
  }

  private onData(chunk: Buffer): void {
    if (this.failed) return;
    let messages: Buffer[];
    try {
      messages = this.decoder.write(chunk);
    } catch (err) {
      if (err instanceof FramingError) return this.hostile(err.code === 'MESSAGE_TOO_LARGE' ? 'too-large' : 'malformed-framing', err.message);
      throw err;
    }
    for (const m of messages) {
      this.onMessage(m);
      if (this.failed) return;
    }
    this.armMessageTimer();
  }

  /** A message that started must finish: a never-ending message cannot hold the session forever. */
  private armMessageTimer(): void {
    if (this.decoder.inMessage) {
      this.messageTimer ??= setTimeout(() => {
        this.hostile('never-ending-message', `a message did not end within ${this.opts.messageTimeoutMs} ms (${this.decoder.bufferedBytes} bytes buffered)`);
      }, this.opts.messageTimeoutMs);
    } else if (this.messageTimer) {
      clearTimeout(this.messageTimer);
      this.messageTimer = undefined;
    }
  }

  private onMessage(bytes: Buffer): void {
    const receivedAt = Date.now();
    this.lastMessageAt = receivedAt;
    if (this.messageTimer) {
      clearTimeout(this.messageTimer);
      this.messageTimer = undefined;
    }
    let root: XmlNode;
    try {
      root = parseXml(bytes.toString('utf8'), { maxDepth: this.opts.maxDepth });
    } catch (err) {
      if (err instanceof XmlSafetyError) return this.hostile(`xml-${err.code.toLowerCase()}`, err.message);
      throw err;
    }
    if (!this.hello) {
      const hello = readHello(root);
      if (!hello) return this.hostile('no-hello', `expected <hello>, got <${root.name}>`);
      this.hello = hello;
      this.framing = hasCapability(hello.capabilities, CAP.base11) ? 'chunked' : 'eom';
      if (!hasCapability(hello.capabilities, CAP.base10) && !hasCapability(hello.capabilities, CAP.base11)) {
        return this.fail(new SessionError('CONFIG_INVALID', 'the device advertises neither base:1.0 nor base:1.1'));
      }
      let rest: Buffer[];
      try {
        rest = this.decoder.setFraming(this.framing);
      } catch (err) {
        if (err instanceof FramingError) return this.hostile('malformed-framing', err.message);
        throw err;
      }
      this.helloWaiter?.resolve(hello);
      for (const m of rest) {
        this.onMessage(m);
        if (this.failed) return;
      }
      return;
    }
    const reply = readRpcReply(root);
    if (reply) {
      const p = this.pending.get(reply.messageId);
      if (!p) {
        this.opts.count('netconf_unmatched_replies_total');
        return;
      }
      this.pending.delete(reply.messageId);
      clearTimeout(p.timer);
      const errors = reply.errors.filter((e) => e.severity !== 'warning');
      if (errors.length > 0) p.reject(new RpcFailure(errors));
      else p.resolve(reply);
      return;
    }
    const note = readNotification(root);
    if (note) {
      const handler = this.opts.onNotification;
      if (!handler) return;
      this.queued++;
      if (this.queued > 4) this.stream.pause();
      this.work = this.work
        .then(() => handler(note, receivedAt))
        .catch((err) => this.fail(err instanceof SessionError ? err : new SessionError('INTERNAL', String(err instanceof Error ? err.message : err), { cause: err })))
        .finally(() => {
          this.queued--;
          if (this.queued <= 1 && !this.failed) this.stream.resume();
        });
      return;
    }
    if (root.name === 'hello') return this.hostile('second-hello', 'the device sent a second hello');
    this.opts.count('netconf_unknown_messages_total');
  }
}
