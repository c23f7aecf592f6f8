/**
 * Health endpoints of the worker roles, at the paths core/roles.ts gives them:
 * liveness stays 200 while a dependency is away (a restart would not help),
 * health (readiness) says 503 and which dependency is missing, never the raw error.
 * Real processes against the test PostgreSQL and Temporal; the database "goes away"
 * by closing a TCP proxy the process reaches it through.
 */
import assert from 'node:assert/strict';
import { role } from '../../core/roles';
import { freePort, waitFor, type ManagedChild } from '../../scripts/infra/proc';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { processEnv, spawnEntry } from '../support/system';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy';

type Answer = { status: number; body: Record<string, unknown>; text: string };

async function get(port: number, path: string): Promise<Answer | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(5000) });
    const text = await res.text();
    return { status: res.status, body: JSON.parse(text) as Record<string, unknown>, text };
  } catch {
    return undefined; // not listening yet
  }
}

/** Poll `path` until it answers `status`; returns that answer. */
async function answerWith(port: number, path: string, status: number): Promise<Answer> {
  let last: Answer | undefined;
  await waitFor(`${path} answering ${status}`, async () => (last = await get(port, path))?.status === status, 90_000, 500).catch((err: Error) => {
    throw new Error(`${err.message}; last answer: ${last ? `${last.status} ${last.text}` : 'none'}`);
  });
  return last!;
}

describe('worker health endpoints', function () {
  this.timeout(240_000);
  // A database of its own: other suites in this mocha process point process.env.DATABASE_URL
  // at databases they drop afterwards.
  let tdb: TestDatabase;
  before(async () => {
    tdb = await createTestDatabase('worker_health');
  });
  after(async () => {
    await tdb?.drop();
  });
  const testDatabaseUrl = () => tdb.url;
  const children: ManagedChild[] = [];
  const proxies: TcpProxy[] = [];
  afterEach(async () => {
    await Promise.allSettled(children.splice(0).map((c) => c.stop()));
    await Promise.allSettled(proxies.splice(0).map((p) => p.close()));
  });

  const control = role('control');
  const collector = role('collector');

  it('control: /livez and /healthz answer 200 when the worker runs and its database answers', async () => {
    const port = await freePort();
    children.push(spawnEntry('control', control.entry, processEnv(testDatabaseUrl(), { [control.port!.env]: String(port) })));
    const health = await answerWith(port, control.healthPath!, 200);
    assert.deepEqual(health.body, { ok: true, worker: 'RUNNING', database: 'ok', temporal: 'ok' });
    const live = await answerWith(port, control.livePath!, 200);
    assert.equal(live.body.worker, 'RUNNING');
  });

  it('control: database gone while running → /healthz 503 naming the database without the raw error, /livez still 200', async () => {
    const db = new URL(testDatabaseUrl());
    const proxy = await startTcpProxy({ targetPort: Number(db.port), targetHost: db.hostname });
    proxies.push(proxy);
    db.port = String(proxy.port);
    const port = await freePort();
    children.push(spawnEntry('control-db-gone', control.entry, processEnv(db.toString(), { [control.port!.env]: String(port) })));
    await answerWith(port, control.healthPath!, 200);
    await proxy.close();
    const health = await answerWith(port, control.healthPath!, 503);
    assert.equal(health.body.database, 'unreachable');
    assert.equal(health.body.temporal, 'ok');
    assert.doesNotMatch(health.text, /ECONNREFUSED|127\.0\.0\.1|postgres/i, 'no raw error details in the body');
    const live = await answerWith(port, control.livePath!, 200);
    assert.equal(live.body.ok, true);
  });


  it('collector: database gone while running → /healthz 503, /livez 200 (its held points are not thrown away by a restart)', async () => {
    // The collector checks the stored secrets at start-up, so it starts against the real database
    // through a proxy, which then goes away.
    const db = new URL(testDatabaseUrl());
    const proxy = await startTcpProxy({ targetPort: Number(db.port), targetHost: db.hostname });
    proxies.push(proxy);
    db.port = String(proxy.port);
    const port = await freePort();
    children.push(spawnEntry('collector-db-gone', collector.entry, processEnv(db.toString(), { [collector.port!.env]: String(port) })));
    await answerWith(port, collector.healthPath!, 200);
    await proxy.close();
    const health = await answerWith(port, collector.healthPath!, 503);
    assert.match(String((health.body.problems as string[]).join(' ')), /database unreachable/);
    const live = await answerWith(port, collector.livePath!, 200);
    assert.equal(live.body.worker, 'RUNNING');
  });
});
