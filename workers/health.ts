/**
 * Health endpoints of the worker processes. Two questions, two paths (core/roles.ts
 * names them): liveness — is this process alive and not wedged (a restart would
 * help) — and health/readiness — can it do its work now (its worker polls, the
 * database and Temporal answer). A database outage fails the second, never the
 * first: restarting a collector that holds points for a database that is down
 * would lose them.
 */
import http from 'node:http';

/** Worker states in which the process still has a future (anything else: restart it). */
const LIVE_WORKER_STATES = new Set(['INITIALIZED', 'RUNNING', 'STOPPING', 'DRAINING', 'DRAINED']);

/** Undefined when `probe` answers within `timeoutMs`, else what went wrong. */
export async function reachable(probe: () => Promise<unknown>, timeoutMs = 2000): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      probe(),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs))),
    ]);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  } finally {
    clearTimeout(timer);
  }
}

/** True when a Temporal worker in `state` is alive (starting, running or shutting down in order). */
export function workerAlive(state: string): boolean {
  return LIVE_WORKER_STATES.has(state);
}

/** One health answer: HTTP 200 when ok, else 503; `body` is sent as JSON. */
export interface HealthAnswer {
  ok: boolean;
  body: Record<string, unknown>;
}

/** Send a health answer. */
export function sendHealth(res: http.ServerResponse, answer: HealthAnswer): void {
  res.writeHead(answer.ok ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify({ ok: answer.ok, ...answer.body }));
}

/** Listen on `host`:`port`; resolves with the bound port (0 picks a free one). */
export async function listen(server: http.Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return (server.address() as { port: number }).port;
}
