/**
 * A simulated NETCONF server over SSH (RFC 6241/6242): hello with base:1.1,
 * notifications, ietf-subscribed-notifications and ietf-yang-push; <get>,
 * <get-config> (running) and, on an NMDA device, RFC 8526 <get-data>
 * (operational, running), each with subtree or XPath filters; RFC 8641
 * periodic and on-change subscriptions;
 * RFC 5277 create-subscription; rpc-error for the rest; password and public-key
 * authentication; a stable host key; fault injection (faults.ts).
 */
import { timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import ssh2, { type Connection, type ParsedKey } from 'ssh2';

// ssh2 is CommonJS; Node's ESM loader only detects some of its named exports.
const { Server, utils } = ssh2;
import { encodeMessage, FrameDecoder, FramingError, type Framing } from '../../protocols/netconf/framing';
import { CAP, formatDateTime, hasCapability, helloXml, NETCONF_NS, readHello, rpcErrorXml } from '../../protocols/netconf/rpc';
import { sshFingerprint } from '../../protocols/netconf/ssh';
import { child, escapeXml, parseXml, type XmlNode } from '../../protocols/netconf/xml';
import type { SimDevice } from '../model';
import { applySubtreeFilter, configData, deviceData, flattenLeaves, MODELS, toXml, UnsupportedFilterError, xpathToFilter, type DataNode, type FlatLeaf } from './data';
import { NetconfFaults, type FaultTarget } from './faults';

export { NetconfFaults } from './faults';

/** A login the server accepts. `publicKey` is an OpenSSH public key line. */
export interface NetconfUser {
  username: string;
  password?: string;
  publicKey?: string;
}

/** Options of startNetconfServer. */
export interface NetconfServerOptions {
  device: SimDevice;
  host?: string;
  /** 0 = ephemeral. */
  port?: number;
  /** PEM/OpenSSH private host key. */
  hostKey?: string | Buffer;
  /** Generated on first run and kept (mode 0600). */
  hostKeyFile?: string;
  users?: NetconfUser[];
  /** Period of RFC 5277 health-sample events, ms (default 1000). */
  notificationIntervalMs?: number;
  /** Advertise base:1.1 (default true); false makes a base:1.0-only device (end-of-message framing). */
  base11?: boolean;
  /** Smallest periodic YANG-push period accepted, centiseconds (default 10). */
  minPeriodCs?: number;
  /**
   * An NMDA device (default true): advertises ietf-interfaces 2018-02-20 and ietf-netconf-nmda,
   * serves `/interfaces` beside `/interfaces-state` and answers <get-data>. false: a pre-NMDA
   * device advertising ietf-interfaces 2014-05-08 with `/interfaces-state` only.
   */
  nmda?: boolean;
}

/** A running server. */
export interface NetconfServer {
  port: number;
  hostKeySha256: string;
  close(): Promise<void>;
  faults: NetconfFaults;
  /** What clients did (tests, the control surface). */
  stats: NetconfServerStats;
}

/** Counts of client activity. */
export interface NetconfServerStats {
  sessionsOpened: number;
  closeSessions: number;
  rpcs: number;
}

const COMMON_CAPABILITIES = [
  CAP.base10,
  CAP.base11,
  CAP.notification,
  CAP.interleave,
  CAP.xpath,
  `${MODELS.system.ns}?module=ietf-system&revision=2014-08-06`,
  `${MODELS.health.ns}?module=sim-system-health&revision=2026-01-01`,
  `${NETCONF_NS.subscribed}?module=ietf-subscribed-notifications&revision=2019-09-09`,
  `${NETCONF_NS.yangPush}?module=ietf-yang-push&revision=2019-09-09`,
];

/** What an NMDA device adds (RFC 8342, 8343, 8526; yang-library 1.1 per RFC 8526 §2). */
const NMDA_CAPABILITIES = [
  `${MODELS.interfaces.ns}?module=ietf-interfaces&revision=2018-02-20`,
  `${NETCONF_NS.nmda}?module=ietf-netconf-nmda&revision=2019-01-07`,
  `${NETCONF_NS.datastores}?module=ietf-datastores&revision=2018-02-14`,
  'urn:ietf:params:netconf:capability:yang-library:1.1?revision=2019-01-04&content-id=sim-1',
];

/** A pre-NMDA device: RFC 7223's ietf-interfaces. */
const LEGACY_CAPABILITIES = [`${MODELS.interfaces.ns}?module=ietf-interfaces&revision=2014-05-08`];

/** The capabilities a simulated server advertises. */
export function serverCapabilities(opts: Pick<NetconfServerOptions, 'base11' | 'nmda'>): string[] {
  const caps = [...COMMON_CAPABILITIES, ...(opts.nmda === false ? LEGACY_CAPABILITIES : NMDA_CAPABILITIES)];
  return opts.base11 === false ? caps.filter((c) => c !== CAP.base11) : caps;
}

const MAX_REQUEST_BYTES = 1024 * 1024;

function loadHostKey(opts: NetconfServerOptions): string | Buffer {
  if (opts.hostKey) return opts.hostKey;
  if (opts.hostKeyFile) {
    if (existsSync(opts.hostKeyFile)) return readFileSync(opts.hostKeyFile);
    const key = generateEd25519Key();
    mkdirSync(path.dirname(opts.hostKeyFile), { recursive: true });
    writeFileSync(opts.hostKeyFile, key, { mode: 0o600 });
    return key;
  }
  return generateEd25519Key();
}

/**
 * A new ed25519 private key (OpenSSH format) that ssh2 can read back: about one in two
 * hundred keys ssh2's generator makes fails its own parser ("Malformed OpenSSH private
 * key"), so draw again — a few tries are plenty. `encrypted`: the private half encrypted (bcrypt KDF).
 */
export function generateEd25519KeyPair(encrypted?: { passphrase: string; cipher: string; rounds: number }): { private: string; public: string } {
  for (let i = 0; i < 20; i++) {
    const pair = encrypted ? utils.generateKeyPairSync('ed25519', encrypted) : utils.generateKeyPairSync('ed25519');
    if (!(utils.parseKey(pair.private, encrypted?.passphrase) instanceof Error) && !(utils.parseKey(pair.public) instanceof Error)) return pair;
  }
  throw new Error('could not generate a readable ed25519 key');
}

/** The private half of generateEd25519KeyPair(). */
export const generateEd25519Key = (): string => generateEd25519KeyPair().private;

function parseOne(key: string | Buffer, what: string): ParsedKey {
  const parsed = utils.parseKey(key);
  if (parsed instanceof Error) throw new Error(`invalid ${what}: ${parsed.message}`);
  return Array.isArray(parsed) ? parsed[0] : parsed;
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Start a simulated NETCONF server. */
export async function startNetconfServer(opts: NetconfServerOptions): Promise<NetconfServer> {
  const hostKey = loadHostKey(opts);
  const hostKeySha256 = sshFingerprint(parseOne(hostKey, 'host key').getPublicSSH());
  const users = (opts.users ?? [{ username: 'admin', password: 'admin' }]).map((u) => ({ ...u, key: u.publicKey ? parseOne(u.publicKey, `public key of ${u.username}`) : undefined }));
  const connections = new Set<Connection>();
  const sessions = new Set<ServerSession>();
  const bootTime = Date.now();
  let nextSessionId = 1;
  let nextSubscriptionId = 100;
  const faults: NetconfFaults = new NetconfFaults({
    sessions: () => sessions,
    dropConnections: () => {
      for (const c of connections) c.end();
    },
  });
  const stats: NetconfServerStats = { sessionsOpened: 0, closeSessions: 0, rpcs: 0 };
  const shared: SharedState = {
    stats,
    capabilities: serverCapabilities(opts),
    nmda: opts.nmda !== false,
    device: opts.device,
    bootTime,
    faults,
    notificationIntervalMs: opts.notificationIntervalMs ?? 1000,
    minPeriodCs: opts.minPeriodCs ?? 10,
    newSubscriptionId: () => nextSubscriptionId++,
  };

  const server = new Server({ hostKeys: [hostKey] }, (client) => {
    connections.add(client);
    client.on('close', () => connections.delete(client));
    client.on('error', () => client.end());
    client.on('authentication', (ctx) => {
      if (faults.rejectingCredentials) return ctx.reject(['password', 'publickey']);
      const user = users.find((u) => u.username === ctx.username);
      if (ctx.method === 'password' && user?.password !== undefined && sameText(ctx.password, user.password)) return ctx.accept();
      if (ctx.method === 'publickey' && user?.key) {
        const pub = user.key.getPublicSSH();
        if (ctx.key.algo !== user.key.type || !pub.equals(ctx.key.data)) return ctx.reject(['password', 'publickey']);
        if (!ctx.signature) return ctx.accept(); // the client asks whether this key would do
        if (ctx.blob && user.key.verify(ctx.blob, ctx.signature, ctx.hashAlgo as never) === true) return ctx.accept();
      }
      ctx.reject(['password', 'publickey']);
    });
    client.on('ready', () => {
      client.on('session', (accept) => {
        const session = accept();
        session.on('subsystem', (acceptSub, rejectSub, info) => {
          if (info.name !== 'netconf') return rejectSub();
          const stream = acceptSub() as unknown as Duplex;
          const s = new ServerSession(stream, nextSessionId++, shared);
          stats.sessionsOpened++;
          sessions.add(s);
          stream.on('close', () => {
            s.stop();
            sessions.delete(s);
          });
        });
      });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    hostKeySha256,
    faults,
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sessions) s.stop();
        for (const c of connections) c.end();
        server.close(() => resolve());
      }),
  };
}

interface SharedState {
  capabilities: string[];
  nmda: boolean;
  stats: NetconfServerStats;
  device: SimDevice;
  bootTime: number;
  faults: NetconfFaults;
  notificationIntervalMs: number;
  minPeriodCs: number;
  newSubscriptionId(): number;
}

interface PushSubscription {
  id: number;
  kind: 'periodic' | 'on-change';
  intervalMs: number;
  filter?: XmlNode[];
  timer?: NodeJS.Timeout;
  last?: Map<string, FlatLeaf>;
  suspended: boolean;
}

class RpcErrorReply extends Error {
  constructor(readonly tag: string, readonly type: string, message: string, readonly appTag?: string) {
    super(message);
  }
}

/** One NETCONF session (one SSH channel) on the server side. */
class ServerSession implements FaultTarget {
  framing: Framing = 'eom';
  private readonly decoder = new FrameDecoder({ maxMessageBytes: MAX_REQUEST_BYTES, holdAfterFirstMessage: true });
  private helloDone = false;
  private readonly subscriptions = new Map<number, PushSubscription>();
  private eventTimer?: NodeJS.Timeout;
  private neverEnding?: NodeJS.Timeout;
  private stopped = false;
  /** A raw message that never ends is being written: regular messages are held (see openRawMessage). */
  private rawMessageOpen = false;
  private lastOper = new Map<string, boolean>();

  constructor(private readonly stream: Duplex, private readonly sessionId: number, private readonly shared: SharedState) {
    stream.on('data', (chunk: Buffer) => this.onData(chunk));
    stream.on('error', () => this.stop());
    this.send(helloXml(shared.capabilities, sessionId), 'eom');
  }

  stop(): void {
    this.stopped = true;
    for (const s of this.subscriptions.values()) clearInterval(s.timer);
    this.subscriptions.clear();
    clearInterval(this.eventTimer);
    clearInterval(this.neverEnding);
  }

  writeRaw(bytes: Buffer): void {
    if (!this.stopped) this.stream.write(bytes);
  }

  sendMessage(xml: string): void {
    this.send(xml);
  }

  openRawMessage(): void {
    this.rawMessageOpen = true;
  }

  private send(xml: string, framing: Framing = this.framing): void {
    if (this.stopped || this.shared.faults.stalled || this.rawMessageOpen) return;
    this.stream.write(encodeMessage(xml, framing));
  }

  startNeverEndingMessage(): void {
    if (this.stopped || this.neverEnding) return;
    this.openRawMessage();
    const block = Buffer.from('<interface><name>x</name></interface>'.repeat(100));
    const chunk = this.framing === 'chunked' ? Buffer.concat([Buffer.from(`\n#${block.length}\n`), block]) : block;
    this.writeRaw(Buffer.from(this.framing === 'chunked' ? '\n#14\n<notification>' : '<notification>'));
    this.neverEnding = setInterval(() => this.writeRaw(chunk), 20);
  }

  terminateSubscriptions(reason: string): void {
    for (const s of [...this.subscriptions.values()]) {
      clearInterval(s.timer);
      this.subscriptions.delete(s.id);
      this.notify(`<subscription-terminated xmlns="${NETCONF_NS.subscribed}"><id>${s.id}</id><reason xmlns:sn="${NETCONF_NS.subscribed}">${escapeXml(reason)}</reason></subscription-terminated>`);
    }
  }

  suspendSubscriptions(reason: string): void {
    for (const s of this.subscriptions.values()) {
      s.suspended = true;
      this.notify(`<subscription-suspended xmlns="${NETCONF_NS.subscribed}"><id>${s.id}</id><reason xmlns:sn="${NETCONF_NS.subscribed}">${escapeXml(reason)}</reason></subscription-suspended>`);
    }
  }

  private notify(event: string): void {
    this.send(`<notification xmlns="${NETCONF_NS.notification}"><eventTime>${formatDateTime(Date.now())}</eventTime>${event}</notification>`);
  }

  private onData(chunk: Buffer): void {
    if (this.stopped) return;
    let messages: Buffer[];
    try {
      messages = this.decoder.write(chunk);
    } catch (err) {
      if (err instanceof FramingError) return this.abort();
      throw err;
    }
    for (const m of messages) this.onMessage(m);
  }

  private abort(): void {
    this.stop();
    this.stream.end();
  }

  private onMessage(bytes: Buffer): void {
    if (this.stopped) return;
    let root: XmlNode;
    try {
      root = parseXml(bytes.toString('utf8'));
    } catch {
      if (!this.helloDone) return this.abort();
      return this.send(`<rpc-reply xmlns="${NETCONF_NS.base}">${rpcErrorXml({ type: 'rpc', tag: 'malformed-message', message: 'message is not well-formed XML' })}</rpc-reply>`);
    }
    if (!this.helloDone) {
      const hello = readHello(root);
      if (!hello) return this.abort();
      this.helloDone = true;
      this.framing = hasCapability(hello.capabilities, CAP.base11) && hasCapability(this.shared.capabilities, CAP.base11) ? 'chunked' : 'eom';
      try {
        for (const m of this.decoder.setFraming(this.framing)) this.onMessage(m);
      } catch {
        this.abort();
      }
      return;
    }
    if (this.shared.faults.stalled) return;
    if (root.name !== 'rpc' || root.ns !== NETCONF_NS.base) return;
    const id = root.attrs['message-id'];
    const idAttr = id === undefined ? '' : ` message-id="${escapeXml(id)}"`;
    const op = root.children[0];
    this.shared.stats.rpcs++;
    if (op?.name === 'close-session') this.shared.stats.closeSessions++;
    try {
      const body = op ? this.handle(op) : undefined;
      if (body === undefined) throw new RpcErrorReply('operation-not-supported', 'protocol', 'empty rpc');
      this.send(`<rpc-reply xmlns="${NETCONF_NS.base}"${idAttr}>${body}</rpc-reply>`);
      if (op.name === 'close-session') {
        this.stop();
        setTimeout(() => this.stream.end(), 10);
      }
    } catch (err) {
      const e = err instanceof RpcErrorReply ? err : new RpcErrorReply('operation-failed', 'application', err instanceof Error ? err.message : String(err));
      this.send(`<rpc-reply xmlns="${NETCONF_NS.base}"${idAttr}>${rpcErrorXml({ type: e.type, tag: e.tag, message: e.message, appTag: e.appTag })}</rpc-reply>`);
    }
  }

  private data(filter?: XmlNode[]): DataNode[] {
    const all = deviceData(this.shared.device, this.shared.bootTime, { nmda: this.shared.nmda });
    return filter ? applySubtreeFilter(all, filter) : all;
  }

  private config(filter?: XmlNode[]): DataNode[] {
    const all = configData(this.shared.device);
    return filter ? applySubtreeFilter(all, filter) : all;
  }

  /** Returns the reply body. */
  private handle(op: XmlNode): string {
    const base = op.ns === NETCONF_NS.base;
    if (base && op.name === 'get') return `<data>${toXml(this.data(this.readFilter(child(op, 'filter'))))}</data>`;
    if (base && op.name === 'get-config') return this.getConfig(op);
    if (op.ns === NETCONF_NS.nmda && op.name === 'get-data' && this.shared.nmda) return this.getData(op);
    if (base && op.name === 'close-session') return '<ok/>';
    if (op.ns === NETCONF_NS.notification && op.name === 'create-subscription') return this.createSubscription(op);
    if (op.ns === NETCONF_NS.subscribed && op.name === 'establish-subscription') return this.establish(op);
    if (op.ns === NETCONF_NS.subscribed && op.name === 'delete-subscription') {
      const sid = Number(child(op, 'id')?.text);
      const s = this.subscriptions.get(sid);
      if (!s) throw new RpcErrorReply('invalid-value', 'application', `no subscription ${sid}`, 'ietf-subscribed-notifications:no-such-subscription');
      clearInterval(s.timer);
      this.subscriptions.delete(sid);
      return '<ok/>';
    }
    throw new RpcErrorReply('operation-not-supported', 'protocol', `<${op.name}> is not supported by this simulator`);
  }

  /** RFC 6241 <get-config>: only the running datastore exists here. */
  private getConfig(op: XmlNode): string {
    const source = child(op, 'source')?.children[0]?.name;
    if (source !== 'running') throw new RpcErrorReply(source ? 'invalid-value' : 'missing-element', 'protocol', source ? `datastore ${source} is not supported (running only)` : 'source is required');
    return `<data>${toXml(this.config(this.readFilter(child(op, 'filter'))))}</data>`;
  }

  /** RFC 8526 <get-data> on ds:operational or ds:running, with a subtree or XPath filter. */
  private getData(op: XmlNode): string {
    const nmda = NETCONF_NS.nmda;
    const ds = child(op, 'datastore', nmda);
    if (!ds) throw new RpcErrorReply('missing-element', 'protocol', 'datastore is required');
    // The value is an identityref: a prefix bound in scope to ietf-datastores, then the name.
    const [prefix, name] = ds.text.includes(':') ? ds.text.split(':', 2) : ['', ds.text];
    if (prefix && ds.scope.get(prefix) !== NETCONF_NS.datastores) throw new RpcErrorReply('invalid-value', 'protocol', `unknown datastore ${ds.text}`);
    const subtree = child(op, 'subtree-filter', nmda);
    const xpath = child(op, 'xpath-filter', nmda);
    const filter = subtree ? subtree.children : xpath ? this.xpath(xpath.text, xpath.scope) : undefined;
    let nodes: DataNode[];
    if (name === 'operational') nodes = this.data(filter);
    else if (name === 'running' || name === 'intended') nodes = this.config(filter);
    else throw new RpcErrorReply('invalid-value', 'protocol', `datastore ${ds.text} is not supported (operational, running, intended)`);
    return `<data xmlns="${nmda}">${toXml(nodes, nmda)}</data>`;
  }

  /** A `<filter>` element (subtree or xpath) → subtree filter nodes; undefined = everything. */
  private readFilter(f: XmlNode | undefined): XmlNode[] | undefined {
    if (!f) return undefined;
    const type = f.attrs.type ?? 'subtree';
    if (type === 'subtree') return f.children;
    if (type === 'xpath') return this.xpath(f.attrs.select ?? '', f.scope);
    throw new RpcErrorReply('bad-attribute', 'protocol', `filter type ${type} is not supported`);
  }

  private xpath(expr: string, scope: ReadonlyMap<string, string>): XmlNode[] {
    try {
      return xpathToFilter(expr, scope);
    } catch (err) {
      if (err instanceof UnsupportedFilterError) throw new RpcErrorReply('invalid-value', 'application', err.message);
      throw err;
    }
  }

  private establish(op: XmlNode): string {
    const yp = NETCONF_NS.yangPush;
    if (!child(op, 'datastore', yp)) throw new RpcErrorReply('operation-not-supported', 'application', 'only datastore (YANG-push) subscriptions are supported');
    let filter: XmlNode[] | undefined;
    const subtree = child(op, 'datastore-subtree-filter', yp);
    const xpath = child(op, 'datastore-xpath-filter', yp);
    if (subtree) filter = subtree.children;
    else if (xpath) filter = this.xpath(xpath.text, xpath.scope);
    const periodic = child(op, 'periodic', yp);
    const onChange = child(op, 'on-change', yp);
    const id = this.shared.newSubscriptionId();
    let sub: PushSubscription;
    if (periodic) {
      const period = Number(child(periodic, 'period', yp)?.text);
      if (!Number.isInteger(period) || period < this.shared.minPeriodCs) {
        throw new RpcErrorReply('invalid-value', 'application', `period must be at least ${this.shared.minPeriodCs} centiseconds`, 'ietf-yang-push:period-unsupported');
      }
      sub = { id, kind: 'periodic', intervalMs: period * 10, filter, suspended: false };
    } else if (onChange) {
      const damp = Number(child(onChange, 'dampening-period', yp)?.text ?? '0');
      if (!Number.isInteger(damp) || damp < 0) throw new RpcErrorReply('invalid-value', 'application', 'bad dampening-period');
      sub = { id, kind: 'on-change', intervalMs: Math.max(damp * 10, 100), filter, suspended: false };
    } else {
      throw new RpcErrorReply('missing-element', 'application', 'periodic or on-change is required');
    }
    this.subscriptions.set(id, sub);
    // Send the first update after the reply has gone out.
    setImmediate(() => this.tick(sub));
    sub.timer = setInterval(() => this.tick(sub), sub.intervalMs);
    return `<id xmlns="${NETCONF_NS.subscribed}">${id}</id>`;
  }

  private tick(sub: PushSubscription): void {
    if (this.stopped || sub.suspended || !this.subscriptions.has(sub.id)) return;
    const data = this.data(sub.filter);
    const yp = NETCONF_NS.yangPush;
    if (sub.kind === 'periodic' || !sub.last) {
      if (sub.kind === 'on-change') sub.last = flattenLeaves(data);
      this.notify(`<push-update xmlns="${yp}"><id>${sub.id}</id><datastore-contents>${toXml(data)}</datastore-contents></push-update>`);
      return;
    }
    const now = flattenLeaves(data);
    const edits: string[] = [];
    let n = 0;
    for (const [target, leaf] of now) {
      if (sub.last.get(target)?.value === leaf.value) continue;
      edits.push(`<edit><edit-id>e${++n}</edit-id><operation>replace</operation><target>${escapeXml(target)}</target><value><${leaf.name} xmlns="${leaf.ns}">${escapeXml(leaf.value)}</${leaf.name}></value></edit>`);
    }
    for (const target of sub.last.keys()) {
      if (!now.has(target)) edits.push(`<edit><edit-id>e${++n}</edit-id><operation>delete</operation><target>${escapeXml(target)}</target></edit>`);
    }
    sub.last = now;
    if (edits.length === 0) return;
    this.notify(`<push-change-update xmlns="${yp}"><id>${sub.id}</id><datastore-changes><yang-patch><patch-id>s${sub.id}-${Date.now()}</patch-id>${edits.join('')}</yang-patch></datastore-changes></push-change-update>`);
  }

  private createSubscription(op: XmlNode): string {
    const stream = child(op, 'stream')?.text || 'NETCONF';
    if (stream !== 'NETCONF') throw new RpcErrorReply('invalid-value', 'application', `no such stream: ${stream}`);
    if (this.eventTimer) throw new RpcErrorReply('operation-failed', 'protocol', 'a subscription is already active on this session');
    const filter = this.readFilter(child(op, 'filter'));
    const H = MODELS.health.ns;
    for (const itf of this.shared.device.interfaces) this.lastOper.set(itf.name, itf.operUp);
    const emit = (event: DataNode) => {
      const kept = filter ? applySubtreeFilter([event], filter) : [event];
      if (kept.length > 0) this.notify(toXml(kept));
    };
    this.eventTimer = setInterval(() => {
      if (this.stopped) return;
      const d = this.shared.device;
      d.advance();
      for (const itf of d.interfaces) {
        if (this.lastOper.get(itf.name) === itf.operUp) continue;
        this.lastOper.set(itf.name, itf.operUp);
        emit({
          name: 'link-state-change',
          ns: H,
          children: [{ name: 'interface', ns: H, children: [{ name: 'name', ns: H, text: itf.name, key: true }, { name: 'oper-status', ns: H, text: itf.operUp ? 'up' : 'down' }] }],
        });
      }
      emit({
        name: 'health-sample',
        ns: H,
        children: [
          { name: 'cpu-utilization', ns: H, text: String(Math.round(d.cpuPercent * 10) / 10) },
          { name: 'memory-used', ns: H, text: String(Math.round(d.memoryUsed)) },
          { name: 'temperature', ns: H, text: String(Math.round(d.temperatureC * 10) / 10) },
        ],
      });
    }, this.shared.notificationIntervalMs);
    return '<ok/>';
  }
}
