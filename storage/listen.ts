/**
 * One reconnecting LISTEN connection (the live hub's doorbells; a collector's hand-overs,
 * taken-over announcements and bulk pauses on one connection, by combineRoutes; with no
 * channels and a `setup`, a collector's liveness connection, ADR 296).
 * A dedicated client LISTENs on the channels; when it drops or cannot connect, it tries again
 * every `retryMs` until it is closed. Notifications sent while it was away are lost, so
 * `onConnected(true)` tells the owner to catch up after a reconnect.
 */
import pg from 'pg';

/** What to listen to and whom to tell. */
export interface ListenOptions {
  databaseUrl: string;
  channels: readonly string[];
  onNotification(channel: string, payload: string | undefined): void;
  /** Listening now; `reconnected` when an earlier connection was lost or failed (anything sent meanwhile was missed). */
  onConnected?(reconnected: boolean): void;
  /** Run on each new connection once it listens, before it counts as up; a failure drops it and another attempt follows. */
  setup?(client: pg.Client): Promise<void>;
  /** A connection failed or dropped (another attempt follows after `retryMs`). */
  onError?(err: Error): void;
  retryMs?: number;
  /** The wait before the first attempt after a connection that was up dropped (default `retryMs`); later attempts wait `retryMs`. */
  reconnectMs?: number;
}

/** A running listener. */
export interface Listener {
  /** True while the LISTEN connection is up. */
  readonly connected: boolean;
  /** Resolves when listening (at once if it is); rejects with the error of the next failed attempt otherwise (retrying goes on). */
  ready(): Promise<void>;
  close(): Promise<void>;
}

/** Channels and what to do with what is heard on them: one part of a connection's listening. */
export interface NotificationRoute {
  channels: readonly string[];
  onNotification(channel: string, payload: string | undefined): void;
}

/** Several routes on one connection: every channel LISTENed once, each notification given to the routes that listen on its channel. */
export function combineRoutes(...routes: NotificationRoute[]): NotificationRoute {
  const byChannel = new Map<string, NotificationRoute[]>();
  for (const r of routes) for (const ch of r.channels) byChannel.set(ch, [...(byChannel.get(ch) ?? []), r]);
  return {
    channels: [...byChannel.keys()],
    onNotification(channel, payload) {
      for (const r of byChannel.get(channel) ?? []) r.onNotification(channel, payload);
    },
  };
}

/** Channel names are identifiers we choose, never input: refuse anything else rather than quote it. */
const CHANNEL = /^[a-z_][a-z0-9_]*$/;

/** Listen on `channels`, reconnecting until closed. */
export function listenReconnecting(opts: ListenOptions): Listener {
  for (const ch of opts.channels) if (!CHANNEL.test(ch)) throw new Error(`not a channel name: ${JSON.stringify(ch)}`);
  const retryMs = opts.retryMs ?? 1000;
  let client: pg.Client | undefined;
  let up = false;
  let failed = false;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  let waiters: Array<{ resolve(): void; reject(err: Error): void }> = [];
  const settle = (err?: Error) => {
    const w = waiters;
    waiters = [];
    for (const { resolve, reject } of w) err ? reject(err) : resolve();
  };

  const connect = () => {
    retry = undefined;
    if (closed) return;
    const c = new pg.Client({ connectionString: opts.databaseUrl });
    client = c;
    const lost = (err?: Error) => {
      if (client !== c) return;
      const wasUp = up;
      client = undefined;
      up = false;
      failed = true;
      c.end().catch(() => undefined);
      if (err) opts.onError?.(err);
      settle(err ?? new Error('the LISTEN connection ended'));
      if (!closed) retry = setTimeout(connect, wasUp ? (opts.reconnectMs ?? retryMs) : retryMs);
    };
    c.on('error', lost);
    c.on('end', () => lost(closed ? undefined : new Error('the LISTEN connection ended')));
    c.on('notification', (msg) => opts.onNotification(msg.channel, msg.payload));
    c.connect()
      .then(() => (opts.channels.length ? c.query(opts.channels.map((ch) => `LISTEN ${ch}`).join('; ')) : undefined))
      .then(() => opts.setup?.(c))
      .then(() => {
        if (client !== c) return;
        up = true;
        opts.onConnected?.(failed);
        settle();
      })
      .catch((err) => lost(err as Error));
  };
  connect();
  return {
    get connected() {
      return up;
    },
    ready() {
      if (up) return Promise.resolve();
      if (closed) return Promise.reject(new Error('the listener is closed'));
      return new Promise((resolve, reject) => waiters.push({ resolve, reject }));
    },
    async close() {
      closed = true;
      clearTimeout(retry);
      const c = client;
      client = undefined;
      up = false;
      settle(new Error('the listener is closed'));
      await c?.end().catch(() => undefined);
    },
  };
}
