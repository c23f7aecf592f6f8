/**
 * The web process: serves the built React Router app (SSR, resource routes,
 * the SSE live hub) and its static assets from web/build. Build first with
 * `npx react-router build` (the start script does it when sources changed).
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { once } from 'node:events';
import { createRequestHandler, type ServerBuild } from 'react-router';
import { loadConfig } from '../core/config';
import { createLogger } from '../core/log';
import { createKnex } from '../storage/pool';
import { countUsers, ensureAdminFromEnv } from '../storage/users';
import { openKeyring, SecretsUnreadableError } from '../storage/secrets';

const log = createLogger('web');
const here = path.dirname(fileURLToPath(import.meta.url));
const clientDir = path.join(here, 'build', 'client');
const serverEntry = path.join(here, 'build', 'server', 'index.js');

const MIME: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** Serve a file from build/client when the URL names one; true when handled. */
function serveStatic(req: http.IncomingMessage, res: http.ServerResponse): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const url = new URL(req.url ?? '/', 'http://x');
  let rel: string;
  try {
    rel = decodeURIComponent(url.pathname);
  } catch {
    return false;
  }
  const file = path.join(clientDir, path.normalize(rel));
  if (!file.startsWith(clientDir + path.sep)) return false;
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    return false;
  }
  if (!stat.isFile()) return false;
  res.writeHead(200, {
    'content-type': MIME[path.extname(file)] ?? 'application/octet-stream',
    'content-length': stat.size,
    'cache-control': rel.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'public, max-age=300',
  });
  if (req.method === 'HEAD') res.end();
  else fs.createReadStream(file).pipe(res);
  return true;
}

/** Largest body a request may carry, by route class: imports take files, every other form is small. */
export function bodyLimitFor(pathname: string, config: Pick<ReturnType<typeof loadConfig>, 'WEB_MAX_FORM_BYTES' | 'WEB_MAX_IMPORT_BYTES'>): number {
  // React Router's data requests for the same route end in .data.
  const route = pathname.replace(/\.data$/, '').replace(/\/+$/, '');
  return route === '/devices/import' ? config.WEB_MAX_IMPORT_BYTES : config.WEB_MAX_FORM_BYTES;
}

/** Thrown into a request's body stream when it passes its limit. */
class BodyTooLarge extends Error {
  constructor(limit: number) {
    super(`request body larger than ${limit} bytes`);
  }
}

/**
 * After a 413: how long the connection is kept before it is dropped, and how many bytes of
 * the rest of the body are read (and thrown away) before reading stops.
 */
const LINGER_MS = 2000;
const LINGER_BYTES = 8 * 1024 * 1024;

/**
 * Answer 413 at once, then close the connection. Closing a socket with unread data
 * resets it, and a client still sending would then lose the answer before reading it;
 * so, as servers' "lingering close" does, the rest of the body is read and discarded for
 * a while (never kept: memory stays flat). Past LINGER_BYTES reading stops instead: the
 * sender waits on TCP flow control, where it reads the answer and hangs up, until the
 * linger time drops the socket. A busy client gets the whole linger time to read the
 * answer, however fast it can send.
 */
function refuseTooLarge(req: http.IncomingMessage, res: http.ServerResponse, limit: number): void {
  log.warn('request body too large', { method: req.method, path: (req.url ?? '').split('?')[0], limit, declared: req.headers['content-length'] });
  if (!res.headersSent) {
    // No 'Connection: close': Node would reset the socket as soon as the answer is out, before the client reads it.
    res.writeHead(413, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(`Request body too large: at most ${limit} bytes here.\n`);
  }
  let discarded = 0;
  const timer = setTimeout(() => req.socket.destroy(), LINGER_MS);
  timer.unref();
  req.socket.once('close', () => clearTimeout(timer));
  req.on('data', (chunk: Buffer) => {
    discarded += chunk.byteLength;
    if (discarded > LINGER_BYTES) req.pause();
  });
  req.once('end', () => clearTimeout(timer));
  req.resume();
}

/**
 * A request's body as a web stream that reads the socket only as fast as the
 * app consumes it, and errors (after a 413 went out) once it passes `limit`
 * bytes — chunked bodies included, whose length is known only while streaming.
 */
function limitedBody(req: http.IncomingMessage, res: http.ServerResponse, limit: number): ReadableStream<Uint8Array> {
  let seen = 0;
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        req.on('data', (chunk: Buffer) => {
          seen += chunk.byteLength;
          if (seen > limit) {
            req.removeAllListeners('data');
            refuseTooLarge(req, res, limit);
            controller.error(new BodyTooLarge(limit));
            return;
          }
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
          if ((controller.desiredSize ?? 0) <= 0) req.pause();
        });
        req.once('end', () => {
          try {
            controller.close();
          } catch {
            // already errored
          }
        });
        req.once('error', (err) => {
          try {
            controller.error(err);
          } catch {
            // already closed
          }
        });
      },
      pull() {
        req.resume();
      },
      cancel() {
        req.pause();
      },
    },
    { highWaterMark: 64 * 1024, size: (chunk) => chunk.byteLength },
  );
}

/** What loaders and actions receive as `context`: the client's address (sign-in throttling keys on it). */
export interface WebLoadContext {
  clientAddress: string;
}

/**
 * The Node request listener: builds a fetch Request (body limited per route
 * class), runs React Router, and writes the Response respecting the socket's
 * back-pressure, so a slow reader (an SSE client) holds the app's stream back
 * instead of growing the process's memory.
 */
function requestListener(build: ServerBuild, config: ReturnType<typeof loadConfig>) {
  const handle = createRequestHandler(build, 'production');
  return async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', `http://${req.headers.host ?? `${config.WEB_HOST}:${config.WEB_PORT}`}`);
    const hasBody = method !== 'GET' && method !== 'HEAD';
    const limit = bodyLimitFor(url.pathname, config);
    const declared = Number(req.headers['content-length']);
    if (hasBody && Number.isFinite(declared) && declared > limit) return refuseTooLarge(req, res, limit);
    const aborted = new AbortController();
    res.on('close', () => aborted.abort());
    const headers = new Headers();
    for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
    const init: RequestInit & { duplex?: 'half' } = { method, headers, signal: aborted.signal };
    if (hasBody) {
      init.body = limitedBody(req, res, limit);
      init.duplex = 'half';
    }
    let response: Response;
    try {
      response = await handle(new Request(url, init), { clientAddress: req.socket.remoteAddress ?? 'unknown' } satisfies WebLoadContext as never);
    } catch (err) {
      log.error('request failed', { path: url.pathname, error: (err as Error).message });
      response = new Response('Internal Server Error', { status: 500, headers: { 'content-type': 'text/plain' } });
    }
    if (res.headersSent || res.destroyed) {
      await response.body?.cancel().catch(() => undefined); // a 413 already answered
      return;
    }
    const raw: string[] = [];
    for (const [k, v] of response.headers) raw.push(k, v);
    res.writeHead(response.status, raw);
    if (response.body && method !== 'HEAD') {
      const reader = response.body.getReader();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done || res.destroyed) break;
          if (!res.write(value)) await Promise.race([once(res, 'drain'), once(res, 'close')]);
        }
      } catch {
        // the client went away or the stream failed mid-way
      } finally {
        await reader.cancel().catch(() => undefined);
      }
    }
    res.end();
  };
}

/** Create the first admin from ADMIN_EMAIL / ADMIN_PASSWORD, or say where the first-run setup page is. */
async function prepareUsers(config: ReturnType<typeof loadConfig>) {
  const db = createKnex(config.DATABASE_URL, 1);
  try {
    const created = await ensureAdminFromEnv(db, config);
    if (created) log.info('created the first admin from ADMIN_EMAIL', { email: created.email });
    else if ((await countUsers(db)) === 0) {
      log.warn('no users yet: open the web app to create the first admin (/setup), or set ADMIN_EMAIL and ADMIN_PASSWORD');
    }
  } catch (err) {
    // The users table may not exist yet (migrations pending): the app reports it per request.
    log.warn('could not check users', { error: (err as Error).message });
  } finally {
    await db.destroy();
  }
}

/**
 * Refuse to start with a fresh secrets key while stored device secrets need another
 * (ADR 044; the collector and `npm start` check the same). A database that does not
 * answer yet is no reason to stay down: the app reports it per request.
 */
async function checkSecretsKey(config: ReturnType<typeof loadConfig>) {
  const db = createKnex(config.DATABASE_URL, 1);
  try {
    await openKeyring(db, { key: config.SECRETS_KEY, keyFile: config.SECRETS_KEY_FILE, dataDir: config.DATA_DIR });
  } catch (err) {
    if (err instanceof SecretsUnreadableError) throw err;
    log.warn('could not check the secrets key against the database', { error: (err as Error).message });
  } finally {
    await db.destroy();
  }
}

async function main() {
  const config = loadConfig();
  await checkSecretsKey(config);
  if (!fs.existsSync(serverEntry)) throw new Error(`No web build at ${serverEntry}: run "npx react-router build" in web/ (npm start does it).`);
  await prepareUsers(config);
  const build = (await import(pathToFileURL(serverEntry).href)) as ServerBuild;
  const handle = requestListener(build, config);
  const server = http.createServer((req, res) => {
    if (serveStatic(req, res)) return;
    handle(req, res).catch((err) => log.error('request listener failed', { error: (err as Error).message }));
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.WEB_PORT, config.WEB_HOST, () => resolve());
  });
  log.info('web app listening', { url: `http://${config.WEB_HOST}:${config.WEB_PORT}` });
  const stop = async () => {
    log.info('web app stopping');
    server.closeAllConnections();
    server.close();
    const mod = (build as unknown as { entry: { module: { closeContext?: () => Promise<void> } } }).entry.module;
    await mod.closeContext?.().catch(() => undefined);
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
