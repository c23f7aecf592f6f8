/**
 * The web process: serves the built React Router app (SSR, resource routes,
 * the SSE live hub) and its static assets from web/build. Build first with
 * `npx react-router build` (the start script does it when sources changed).
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequestListener } from '@react-router/node';
import type { ServerBuild } from 'react-router';
import { loadConfig } from '../core/config';
import { createLogger } from '../core/log';
import { createKnex } from '../activities/db/pool';
import { countUsers, ensureAdminFromEnv } from './app/lib/users.server';

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

async function main() {
  const config = loadConfig();
  if (!fs.existsSync(serverEntry)) throw new Error(`No web build at ${serverEntry}: run "npx react-router build" in web/ (npm start does it).`);
  await prepareUsers(config);
  const build = (await import(pathToFileURL(serverEntry).href)) as ServerBuild;
  const handle = createRequestListener({ build, mode: 'production' });
  const server = http.createServer((req, res) => {
    if (serveStatic(req, res)) return;
    handle(req, res);
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
