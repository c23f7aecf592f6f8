/**
 * The NETCONF protocol session: one SSH connection per device, one NETCONF
 * session (SSH channel) per subscription profile, so that an RFC 5277
 * subscription never blocks a poller and each profile has its own message ids.
 * Runs until ctx.signal aborts (close-session, resolve) or something breaks
 * (reject with a SessionError).
 */
import type { Client } from 'ssh2';
import { NetconfProfileSpec } from '../../core/device';
import type { TelemetryPoint } from '../../core/point';
import { SessionError, type ProtocolSession, type SessionContext } from '../../core/session';
import { NetconfChannel, RpcFailure } from './channel';
import { listKeyLookup, treeToPoints, type KeyLookup } from './points';
import { validatedProfileSpec } from '../profile-spec';
import {
  advertisesModule,
  CAP,
  createSubscriptionXml,
  describeRpcError,
  FilterError,
  getDataXml,
  getXml,
  hasCapability,
  IETF_INTERFACES_NMDA_REVISION,
  moduleRevision,
  NETCONF_NS,
  type FilterSpec,
  type Notification,
} from './rpc';
import { countLeaves, parseSubtreeFilterNodes, selectSubtree, withListKeys } from './subtree';
import { connectSsh, openNetconfChannel } from './ssh';
import { deleteSubscriptionXml, establishSubscriptionXml, readPushEvent, readSubscriptionId, type PushTrigger } from './yang-push';

/** Timings and limits of the collector (tests shorten them). */
export interface NetconfProtocolOptions {
  /** SSH handshake and authentication. */
  connectTimeoutMs?: number;
  /** Hello and rpc-reply wait. */
  rpcTimeoutMs?: number;
  /** A message that has started must end within this time. */
  messageTimeoutMs?: number;
  /** Periodic YANG-push: no update for max(this, 3 periods) means the device stalled. */
  idleTimeoutMs?: number;
  /** First delay before re-establishing a terminated or suspended subscription; doubles up to 30 s. */
  resubscribeDelayMs?: number;
  maxDepth?: number;
}

const DEFAULTS: Required<NetconfProtocolOptions> = {
  connectTimeoutMs: 15_000,
  rpcTimeoutMs: 30_000,
  messageTimeoutMs: 30_000,
  idleTimeoutMs: 60_000,
  resubscribeDelayMs: 1_000,
  maxDepth: 64,
};

/** Build the NETCONF ProtocolSession with the given timings. */
export function createNetconfProtocol(options: NetconfProtocolOptions = {}): ProtocolSession {
  const opts = { ...DEFAULTS, ...options };
  return { protocol: 'netconf', run: (ctx) => new NetconfSession(ctx, opts).run() };
}

interface Profile {
  name: string;
  spec: NetconfProfileSpec;
  keys: KeyLookup;
  /** The filter sent, once resolved against the device's hello (select: interfaces-auto). */
  resolved?: FilterSpec;
}

/** Counter of leaves a device sent that the profile's subtree filter did not select (skipped, ADR 023). */
export const UNREQUESTED_COUNTER = 'netconf_unrequested_leaves_total';

/**
 * The filter a profile sends to a device with these capabilities: as written, or for
 * `select: interfaces-auto` the ietf-interfaces tree the device's advertised revision
 * says it serves (ADR 022). `tree` names the choice for the session event.
 */
export function resolveFilter(spec: NetconfProfileSpec, caps: readonly string[]): FilterSpec & { tree?: string } {
  const written: FilterSpec = { type: spec.filterType, filter: spec.filter };
  if (spec.select !== 'interfaces-auto') return written;
  const revision = moduleRevision(caps, NETCONF_NS.interfaces);
  if (revision === undefined && !advertisesModule(caps, NETCONF_NS.interfaces)) return written;
  const nmda = revision !== undefined && revision >= IETF_INTERFACES_NMDA_REVISION;
  const root = nmda ? 'interfaces' : 'interfaces-state';
  return { type: 'subtree', filter: `<${root} xmlns="${NETCONF_NS.interfaces}"/>`, tree: `/${root} (ietf-interfaces ${revision ?? 'without revision'})` };
}

/** Map a failed rpc to a session failure: a device refusing our request is a configuration problem. */
export function rpcFailureToSessionError(err: unknown, what: string): SessionError {
  if (err instanceof SessionError) return err;
  if (err instanceof FilterError) return new SessionError('CONFIG_INVALID', `${what}: ${err.message}`);
  if (err instanceof RpcFailure) {
    const tags = new Set(err.errors.map((e) => e.tag));
    const detail = `${what}: the device answered rpc-error ${err.errors.map(describeRpcError).join('; ')}`;
    if (tags.has('access-denied')) return new SessionError('AUTH_FAILED', detail);
    if ([...tags].every((t) => t === 'resource-denied' || t === 'in-use' || t === 'lock-denied')) return new SessionError('UNAVAILABLE', detail);
    return new SessionError('CONFIG_INVALID', detail);
  }
  return new SessionError('INTERNAL', `${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}

class NetconfSession {
  private client?: Client;
  private readonly channels: NetconfChannel[] = [];
  private fatal!: (err: SessionError) => void;
  private readonly failure: Promise<never>;
  private failedWith?: SessionError;
  private connectedSent = false;
  private readonly unsynced = new Set<string>();
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Called once when the session stops (abort or failure); wakes sleepers without piling up listeners. */
  private readonly wakers = new Set<() => void>();

  constructor(private readonly ctx: SessionContext, private readonly opts: Required<NetconfProtocolOptions>) {
    this.failure = new Promise<never>((_, reject) => {
      this.fatal = (err) => {
        if (this.failedWith) return;
        this.failedWith = err;
        reject(err);
        this.wakeAll();
      };
    });
    this.failure.catch(() => {});
  }

  async run(): Promise<void> {
    const { ctx } = this;
    const profiles = this.readProfiles();
    if (ctx.signal.aborted) return;
    const aborted = new Promise<void>((resolve) =>
      ctx.signal.addEventListener(
        'abort',
        () => {
          resolve();
          this.wakeAll();
        },
        { once: true },
      ),
    );
    try {
      this.client = await connectSsh({ device: ctx.device, saveHostKey: ctx.saveHostKey, onHostKey: ctx.onHostKey, readyTimeoutMs: this.opts.connectTimeoutMs, signal: ctx.signal });
      if (ctx.signal.aborted) return;
      this.client.on('error', (err: Error) => this.fatal(new SessionError('UNAVAILABLE', `SSH connection failed: ${err.message}`, { cause: err })));
      this.client.on('close', () => this.fatal(new SessionError('UNAVAILABLE', 'the device closed the SSH connection')));
      for (const p of profiles) this.unsynced.add(p.name);
      const runners = profiles.map((p) => this.runProfile(p).catch((err) => this.fatal(rpcFailureToSessionError(err, `profile ${p.name}`))));
      void runners;
      await Promise.race([aborted, this.failure]);
    } finally {
      await this.teardown();
    }
  }

  private readProfiles(): Profile[] {
    const out: Profile[] = [];
    for (const p of this.ctx.profiles) {
      if (p.protocol !== 'netconf') continue;
      const spec = validatedProfileSpec(NetconfProfileSpec, p.name, p.netconf ?? {});
      out.push({ name: p.name, spec, keys: listKeyLookup(spec.listKeys) });
    }
    if (out.length === 0) throw new SessionError('CONFIG_INVALID', 'no NETCONF subscription profile is attached to the device');
    return out;
  }

  private async teardown(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (this.failedWith) for (const ch of this.channels) ch.shutdown();
    else await Promise.all(this.channels.map((ch) => ch.close(1000)));
    if (this.client) {
      this.client.removeAllListeners('close');
      this.client.removeAllListeners('error');
      this.client.on('error', () => {});
      this.client.end();
    }
  }

  private wakeAll(): void {
    for (const w of [...this.wakers]) w();
    this.wakers.clear();
  }

  /** Resolves after ms, or as soon as the session stops. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.stopped) return resolve();
      const wake = () => {
        clearTimeout(t);
        this.timers.delete(t);
        this.wakers.delete(wake);
        resolve();
      };
      const t = setTimeout(wake, ms);
      this.timers.add(t);
      this.wakers.add(wake);
    });
  }

  private get stopped(): boolean {
    return this.ctx.signal.aborted || this.failedWith !== undefined;
  }

  /** Open a NETCONF session for a profile and check the device supports its method. */
  private async openChannel(profile: Profile, onNotification?: (n: Notification, at: number) => void | Promise<void>): Promise<NetconfChannel> {
    const stream = await openNetconfChannel(this.client!);
    const ch = new NetconfChannel(stream, {
      maxMessageBytes: this.ctx.device.netconf.maxMessageBytes,
      messageTimeoutMs: this.opts.messageTimeoutMs,
      maxDepth: this.opts.maxDepth,
      count: (n, by, labels) => this.ctx.count(n, by, labels),
      onNotification,
      onFailure: (err) => this.fatal(err),
    });
    this.channels.push(ch);
    const hello = await ch.exchangeHello(this.opts.rpcTimeoutMs);
    const caps = hello.capabilities;
    const { method, filterType } = profile.spec;
    const missing = (what: string) => new SessionError('CONFIG_INVALID', `profile ${profile.name}: method ${method} needs ${what}, which the device does not advertise`);
    const resolved = resolveFilter(profile.spec, caps);
    profile.resolved = { type: resolved.type, filter: resolved.filter };
    if (resolved.tree) this.ctx.log.info('netconf filter chosen from the hello', { deviceId: this.ctx.device.id, profile: profile.name, tree: resolved.tree });
    if ((method === 'get' || method === 'get-data') && resolved.type === 'xpath' && !hasCapability(caps, CAP.xpath)) throw missing(':xpath');
    if (method === 'get-data' && !advertisesModule(caps, NETCONF_NS.nmda)) throw missing('ietf-netconf-nmda (RFC 8526)');
    if (method.startsWith('yang-push') && !(advertisesModule(caps, NETCONF_NS.subscribed) && advertisesModule(caps, NETCONF_NS.yangPush))) throw missing('ietf-subscribed-notifications and ietf-yang-push');
    if (method === 'notifications' && !hasCapability(caps, CAP.notification)) throw missing(':notification');
    if (!this.connectedSent) {
      this.connectedSent = true;
      const tree = resolved.tree ? `, collecting ${resolved.tree}` : '';
      this.ctx.onEvent({ type: 'connected', detail: `NETCONF session ${hello.sessionId ?? '?'}, ${ch.currentFraming === 'chunked' ? 'base:1.1 chunked' : 'base:1.0 end-of-message'} framing${tree}` });
      this.ctx.log.info('netconf connected', { deviceId: this.ctx.device.id, sessionId: hello.sessionId, framing: ch.currentFraming });
    }
    return ch;
  }

  private async deliver(profile: Profile, points: TelemetryPoint[]): Promise<void> {
    if (points.length > 0) {
      const pushed = this.ctx.sink.push(points);
      if (pushed) await pushed;
      let last = 0;
      for (const p of points) if (p.timestamp > last) last = p.timestamp;
      this.ctx.onEvent({ type: 'points', count: points.length, lastTimestamp: last });
    }
    if (this.unsynced.delete(profile.name) && this.unsynced.size === 0) this.ctx.onEvent({ type: 'synced' });
  }

  private countUnkeyed = (path: string): void => {
    this.ctx.count('netconf_unkeyed_lists_total');
    this.ctx.log.debug('list entry without known keys', { deviceId: this.ctx.device.id, path });
  };

  private runProfile(profile: Profile): Promise<void> {
    switch (profile.spec.method) {
      case 'get':
      case 'get-data':
        return this.runGet(profile);
      case 'yang-push-periodic':
      case 'yang-push-on-change':
        return this.runYangPush(profile);
      case 'notifications':
        return this.runNotifications(profile);
    }
  }

  private filter(profile: Profile): FilterSpec {
    return profile.resolved ?? { type: profile.spec.filterType, filter: profile.spec.filter };
  }

  /**
   * Poll `<get>` or `<get-data>` (ds:operational) at the profile period; the reply's receive
   * time is the observation time. With a subtree filter, whatever the device sent beyond
   * what the filter selects is skipped and counted (a device that ignores filters, ADR 023).
   */
  private async runGet(profile: Profile): Promise<void> {
    const ch = await this.openChannel(profile);
    const written = this.filter(profile);
    const filter = written.type === 'subtree' ? { ...written, filter: withListKeys(written.filter, profile.keys) } : written;
    const request = profile.spec.method === 'get-data' ? getDataXml(filter) : getXml(filter);
    const what = profile.spec.method === 'get-data' ? '<get-data>' : '<get>';
    const selection = filter.type === 'subtree' ? parseSubtreeFilterNodes(filter.filter) : undefined;
    let warned = false;
    while (!this.stopped) {
      const started = Date.now();
      const reply = await ch.rpc(request, this.opts.rpcTimeoutMs).catch((err) => {
        throw rpcFailureToSessionError(err, `profile ${profile.name}: ${what}`);
      });
      if (this.stopped) return;
      let data = reply.data?.children ?? [];
      if (selection && selection.length > 0) {
        const kept = selectSubtree(data, selection, profile.keys);
        const extra = countLeaves(data) - countLeaves(kept);
        if (extra > 0) {
          this.ctx.count(UNREQUESTED_COUNTER, extra, { profile: profile.name });
          if (!warned) {
            warned = true;
            this.ctx.onEvent({ type: 'warning', message: `profile ${profile.name}: the device answered ${what} with ${extra} leaves its subtree filter does not select; they are skipped (counted in ${UNREQUESTED_COUNTER})` });
          }
        }
        data = kept;
      }
      const points = treeToPoints(data, { deviceId: this.ctx.device.id, timestamp: Date.now(), keys: profile.keys, onUnkeyed: this.countUnkeyed });
      await this.deliver(profile, points);
      await this.sleep(Math.max(0, profile.spec.periodMs - (Date.now() - started)));
    }
  }

  /** RFC 8639/8641 subscription; re-established after subscription-terminated or -suspended. */
  private async runYangPush(profile: Profile): Promise<void> {
    const trigger: PushTrigger =
      profile.spec.method === 'yang-push-periodic' ? { kind: 'periodic', periodMs: profile.spec.periodMs } : { kind: 'on-change', dampeningMs: profile.spec.dampeningMs };
    let current: string | undefined;
    let wake: (() => void) | undefined;
    let lost: { id: string; type: string; reason?: string } | undefined;
    const ch = await this.openChannel(profile, async (n, receivedAt) => {
      if (!n.event) return;
      const ev = readPushEvent(n.event, { deviceId: this.ctx.device.id, keys: profile.keys, eventTime: n.eventTime, receivedAt, onUnkeyed: this.countUnkeyed });
      if (ev.type === 'update') {
        if (ev.id === current) await this.deliver(profile, ev.points);
      } else if ((ev.type === 'terminated' || ev.type === 'suspended') && ev.id === current) {
        current = undefined;
        lost = { id: ev.id, type: ev.type, reason: ev.reason };
        this.ctx.count('netconf_subscriptions_lost_total', 1, { reason: ev.type });
        this.ctx.onEvent({ type: 'warning', message: `subscription ${ev.id} ${ev.type}${ev.reason ? ` (${ev.reason})` : ''}; re-establishing` });
        wake?.();
      }
    });
    const request = establishSubscriptionXml(this.filter(profile), trigger);
    let delay = this.opts.resubscribeDelayMs;
    let first = true;
    while (!this.stopped) {
      if (lost) {
        // A suspended subscription still exists on the device: remove it first (best effort).
        if (lost.type === 'suspended') await ch.rpc(deleteSubscriptionXml(lost.id), this.opts.rpcTimeoutMs).catch(() => undefined);
        lost = undefined;
        await this.sleep(delay);
        delay = Math.min(delay * 2, 30_000);
        if (this.stopped) return;
      }
      const reply = await ch.rpc(request, this.opts.rpcTimeoutMs).catch((err) => {
        throw rpcFailureToSessionError(err, `profile ${profile.name}: establish-subscription`);
      });
      current = readSubscriptionId(reply.node);
      if (!current) throw new SessionError('PROTOCOL_ERROR', `profile ${profile.name}: establish-subscription reply carries no subscription id`);
      this.ctx.log.info('subscription established', { deviceId: this.ctx.device.id, profile: profile.name, id: current, resubscribe: !first });
      if (!first) delay = this.opts.resubscribeDelayMs;
      first = false;
      // Wait until the subscription is lost, the session stops, or a periodic subscription goes quiet.
      let waiting = true;
      await new Promise<void>((resolve) => {
        wake = resolve;
        if (this.stopped) return resolve();
        this.wakers.add(wake);
        if (trigger.kind === 'periodic') {
          const limit = Math.max(this.opts.idleTimeoutMs, 3 * trigger.periodMs);
          const check = (self?: NodeJS.Timeout) => {
            if (self) this.timers.delete(self);
            if (!waiting) return;
            if (this.stopped || lost) return resolve();
            if (Date.now() - ch.lastMessageAt > limit) {
              this.fatal(new SessionError('STALLED', `profile ${profile.name}: no push-update for ${limit} ms`));
              return resolve();
            }
            const t: NodeJS.Timeout = setTimeout(() => check(t), Math.min(1000, limit / 4));
            this.timers.add(t);
          };
          check();
        }
      });
      waiting = false;
      if (wake) this.wakers.delete(wake);
      wake = undefined;
    }
  }

  /** RFC 5277 create-subscription: each notification's event element becomes points at its eventTime. */
  private async runNotifications(profile: Profile): Promise<void> {
    const ch = await this.openChannel(profile, async (n, receivedAt) => {
      if (!n.event) return;
      const points = treeToPoints([n.event], { deviceId: this.ctx.device.id, timestamp: n.eventTime ?? receivedAt, keys: profile.keys, onUnkeyed: this.countUnkeyed });
      await this.deliver(profile, points);
    });
    await ch.rpc(createSubscriptionXml(profile.spec.stream, this.filter(profile)), this.opts.rpcTimeoutMs).catch((err) => {
      throw rpcFailureToSessionError(err, `profile ${profile.name}: create-subscription`);
    });
    // Subscribed: events arrive when they happen, so the profile counts as synced now.
    await this.deliver(profile, []);
  }
}
