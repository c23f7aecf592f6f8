/**
 * A loopback TCP proxy for fault tests: sits between the collector and a
 * simulated device and can add latency, limit bandwidth (per direction, per
 * connection) and reset every connection at once (RST, not FIN), as a network
 * would. Backpressure is kept: a shaped direction pauses its source while more
 * than `highWaterBytes` wait in its queue.
 */
import net from 'node:net';

/** Proxy settings; both may be changed while running. */
export interface ProxyShape {
  /** Added one-way delay of every chunk, ms. */
  latencyMs?: number;
  /** Bytes per second per direction and connection; 0 = unlimited. */
  bytesPerSecond?: number;
}

/** A running proxy. */
export interface TcpProxy {
  /** Port the proxy listens on (127.0.0.1). */
  port: number;
  /** Where new connections go. */
  readonly targetPort: number;
  /** Send new connections to another port from now on (a load balancer whose backend died); open ones stay. */
  retarget(port: number): void;
  /** Open client connections. */
  readonly connections: number;
  /** Connections accepted since start. */
  readonly accepted: number;
  /** Times at which connections were accepted (ms since epoch), oldest first. */
  readonly acceptedAt: number[];
  /** Bytes forwarded from the target to clients since start. */
  readonly bytesDown: number;
  /** Change latency / bandwidth for data sent from now on. */
  shape(s: ProxyShape): void;
  /** Reset (RST) every open connection at once; returns how many. */
  resetAll(): number;
  close(): Promise<void>;
}

const HIGH_WATER = 256 * 1024;

/** Forward `from` → `to`, delayed and rate-limited by the current shape. */
/** Forward `from` → `to`; returns a function that re-times queued data after a shape change. */
function shapedPipe(from: net.Socket, to: net.Socket, shape: () => Required<ProxyShape>, onBytes: (n: number) => void = () => undefined): () => void {
  const queue: Array<{ chunk: Buffer; at: number }> = [];
  let queued = 0;
  let nextFree = 0; // when the "wire" is free again (bandwidth)
  let timer: NodeJS.Timeout | undefined;
  let ended = false;
  const pump = () => {
    timer = undefined;
    const now = Date.now();
    while (queue.length && queue[0].at <= now) {
      const { chunk } = queue.shift()!;
      queued -= chunk.length;
      onBytes(chunk.length);
      if (!to.destroyed) to.write(chunk);
    }
    if (queued < HIGH_WATER && from.isPaused()) from.resume();
    if (queue.length) timer = setTimeout(pump, Math.max(0, queue[0].at - Date.now()));
    else if (ended && !to.destroyed) to.end();
  };
  from.on('data', (chunk: Buffer) => {
    const { latencyMs, bytesPerSecond } = shape();
    const now = Date.now();
    let at = now + latencyMs;
    if (bytesPerSecond > 0) {
      const start = Math.max(now, nextFree);
      nextFree = start + (chunk.length / bytesPerSecond) * 1000;
      at = Math.max(at, nextFree + latencyMs);
    }
    if (at <= now && queue.length === 0) {
      onBytes(chunk.length);
      to.write(chunk);
      return;
    }
    queue.push({ chunk, at });
    queued += chunk.length;
    if (queued >= HIGH_WATER) from.pause();
    if (!timer) timer = setTimeout(pump, Math.max(0, queue[0].at - now));
  });
  from.on('end', () => {
    ended = true;
    if (queue.length === 0 && !to.destroyed) to.end();
  });
  from.on('close', () => {
    if (timer && to.destroyed) clearTimeout(timer);
  });
  return () => {
    // Re-time what waits in the queue under the new shape (a lifted limit releases it now).
    const { latencyMs, bytesPerSecond } = shape();
    const now = Date.now();
    nextFree = now;
    for (const item of queue) {
      let at = now + latencyMs;
      if (bytesPerSecond > 0) {
        nextFree += (item.chunk.length / bytesPerSecond) * 1000;
        at = Math.max(at, nextFree + latencyMs);
      }
      item.at = Math.min(item.at, at);
    }
    if (timer) clearTimeout(timer);
    timer = queue.length ? setTimeout(pump, Math.max(0, queue[0].at - now)) : undefined;
  };
}

/** Start a proxy on a free loopback port in front of targetHost:targetPort. */
export async function startTcpProxy(opts: { targetPort: number; targetHost?: string } & ProxyShape): Promise<TcpProxy> {
  const current: Required<ProxyShape> = { latencyMs: opts.latencyMs ?? 0, bytesPerSecond: opts.bytesPerSecond ?? 0 };
  const pairs = new Set<[net.Socket, net.Socket]>();
  const reshapers = new Set<() => void>();
  const acceptedAt: number[] = [];
  let bytesDown = 0;
  let targetPort = opts.targetPort;
  const server = net.createServer((client) => {
    acceptedAt.push(Date.now());
    const upstream = net.connect({ host: opts.targetHost ?? '127.0.0.1', port: targetPort });
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const pair: [net.Socket, net.Socket] = [client, upstream];
    pairs.add(pair);
    const finish = () => {
      pairs.delete(pair);
      reshapers.delete(up);
      reshapers.delete(down);
      if (!client.destroyed) client.destroy();
      if (!upstream.destroyed) upstream.destroy();
    };
    client.on('error', finish);
    upstream.on('error', finish);
    client.on('close', finish);
    upstream.on('close', finish);
    const up = shapedPipe(client, upstream, () => current);
    const down = shapedPipe(upstream, client, () => current, (n) => (bytesDown += n));
    reshapers.add(up);
    reshapers.add(down);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    get targetPort() {
      return targetPort;
    },
    retarget(port) {
      targetPort = port;
    },
    get connections() {
      return pairs.size;
    },
    get accepted() {
      return acceptedAt.length;
    },
    acceptedAt,
    get bytesDown() {
      return bytesDown;
    },
    shape(s) {
      if (s.latencyMs !== undefined) current.latencyMs = s.latencyMs;
      if (s.bytesPerSecond !== undefined) current.bytesPerSecond = s.bytesPerSecond;
      for (const r of reshapers) r();
    },
    resetAll() {
      const n = pairs.size;
      for (const pair of [...pairs]) {
        pairs.delete(pair);
        for (const s of pair) if (!s.destroyed) s.resetAndDestroy();
      }
      return n;
    },
    close() {
      for (const pair of [...pairs]) for (const s of pair) s.destroy();
      pairs.clear();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
