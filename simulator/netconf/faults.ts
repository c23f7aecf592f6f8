/**
 * Fault injection of a simulated NETCONF server. Plain methods, so the fleet's
 * HTTP control surface (or a test) can call them directly.
 */

/** What a fault needs from one live NETCONF session of the server. */
export interface FaultTarget {
  /** Write raw bytes on the channel, bypassing framing. */
  writeRaw(bytes: Buffer): void;
  /** Send one well-framed message. */
  sendMessage(xml: string): void;
  /** Start sending a message that never ends (stops when the channel closes). */
  startNeverEndingMessage(): void;
  /**
   * A message written raw has begun and never ends: hold every regular message from now
   * on, as a device would (a notification sent meanwhile would otherwise end the raw one).
   */
  openRawMessage(): void;
  terminateSubscriptions(reason: string): void;
  suspendSubscriptions(reason: string): void;
  readonly framing: 'eom' | 'chunked';
}

/** Hooks the server gives the fault controller. */
export interface FaultHost {
  sessions(): Iterable<FaultTarget>;
  dropConnections(): void;
}

/** Fault switches and one-shot injections. */
export class NetconfFaults {
  /** While true the server answers nothing and sends nothing. */
  stalled = false;
  /** While true every authentication attempt fails. */
  rejectingCredentials = false;

  constructor(private readonly host: FaultHost) {}

  /** Close every SSH connection now. */
  dropConnections(): void {
    this.host.dropConnections();
  }

  /** Stop (true) or resume (false) all output. */
  stall(on: boolean): void {
    this.stalled = on;
  }

  /** Refuse (true) or accept (false) credentials from now on. */
  rejectCredentials(on: boolean): void {
    this.rejectingCredentials = on;
  }

  /** Send bytes that break the session's framing. */
  sendMalformedFraming(): void {
    for (const s of this.host.sessions()) {
      s.writeRaw(Buffer.from(s.framing === 'chunked' ? '\n#12ab\n<notification/>\n##\n' : '<not-closed><x>]]>]]>'));
    }
  }

  /** Announce a chunk of about 4 GB (base:1.1) or stream an unbounded message (base:1.0). */
  sendHugeChunkHeader(): void {
    for (const s of this.host.sessions()) {
      if (s.framing === 'chunked') {
        s.openRawMessage();
        s.writeRaw(Buffer.from('\n#4294967295\n<notification>'));
      } else s.startNeverEndingMessage();
    }
  }

  /** Send a well-framed billion-laughs document. */
  sendBillionLaughs(): void {
    const ents = ['<!ENTITY lol "lol">'];
    for (let i = 1; i <= 9; i++) ents.push(`<!ENTITY lol${i} "${`&lol${i === 1 ? '' : i - 1};`.repeat(10)}">`);
    const doc = `<?xml version="1.0"?><!DOCTYPE lolz [${ents.join('')}]><notification xmlns="urn:ietf:params:xml:ns:netconf:notification:1.0"><eventTime>2026-01-01T00:00:00Z</eventTime><lolz>&lol9;</lolz></notification>`;
    for (const s of this.host.sessions()) s.sendMessage(doc);
  }

  /** Send a well-framed notification nested 10 000 levels deep. */
  sendDeepNesting(): void {
    const doc = `<notification xmlns="urn:ietf:params:xml:ns:netconf:notification:1.0"><eventTime>2026-01-01T00:00:00Z</eventTime>${'<a>'.repeat(10_000)}${'</a>'.repeat(10_000)}</notification>`;
    for (const s of this.host.sessions()) s.sendMessage(doc);
  }

  /**
   * Start a base:1.1 message made only of 1-byte chunks and send `dataBytes` of them
   * (5 bytes on the wire each), in 64 KiB writes one event-loop turn apart — how a
   * device would make a collector that keeps one buffer per chunk use ~100× the
   * message budget in heap. The message never ends.
   */
  sendOneByteChunks(dataBytes: number): void {
    const perWrite = 13_107;
    const block = Buffer.from('\n#1\nX'.repeat(perWrite));
    for (const s of this.host.sessions()) {
      if (s.framing !== 'chunked') continue;
      s.openRawMessage();
      let left = dataBytes;
      const next = () => {
        if (left <= 0) return;
        const n = Math.min(perWrite, left);
        s.writeRaw(n === perWrite ? block : block.subarray(0, n * 5));
        left -= n;
        setImmediate(next);
      };
      next();
    }
  }

  /** Start a message and keep it going forever. */
  sendNeverEndingMessage(): void {
    for (const s of this.host.sessions()) s.startNeverEndingMessage();
  }

  /** Send subscription-terminated for every YANG-push subscription (and drop them). */
  terminateSubscriptions(reason = 'sn:filter-unavailable'): void {
    for (const s of this.host.sessions()) s.terminateSubscriptions(reason);
  }

  /** Send subscription-suspended for every YANG-push subscription (and pause them). */
  suspendSubscriptions(reason = 'sn:insufficient-resources'): void {
    for (const s of this.host.sessions()) s.suspendSubscriptions(reason);
  }
}
