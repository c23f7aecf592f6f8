/**
 * Collector worker (task queue `device-sessions`): the long-running session
 * activities and the ingest batcher, plus /metrics and /healthz. Start more of
 * them, anywhere, to scale out; Temporal spreads sessions across them.
 */
import http from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Worker } from '@temporalio/worker';
import { loadConfig } from '../core/config';
import { createLogger } from '../core/log';
import { metrics } from '../core/metrics';
import { TASK_QUEUES } from '../core/names';
import { createPool, createKnex } from '../activities/db/pool';
import { loadKeyring } from '../activities/db/secrets';
import { IngestBatcher } from '../activities/ingest/batcher';
import { getProtocol } from '../activities/protocols';
import { createSessionActivities } from '../activities/session';
import { connectClient, connectWorker } from '../temporal/client';

const log = createLogger('collector');

async function main() {
  const config = loadConfig();
  const pool = createPool(config.DATABASE_URL, 8);
  const db = createKnex(config.DATABASE_URL, 4);
  const keyring = loadKeyring({ key: config.SECRETS_KEY, keyFile: config.SECRETS_KEY_FILE, dataDir: config.DATA_DIR });
  const batcher = new IngestBatcher({
    pool,
    batchSize: config.INGEST_BATCH_SIZE,
    flushIntervalMs: config.INGEST_FLUSH_MS,
    maxBuffered: config.INGEST_MAX_BUFFERED,
    metrics,
    log,
  });
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const liveSessions = new Map<string, 'connecting' | 'streaming'>();
  metrics.gauge('sessions', () => {
    let connecting = 0;
    let streaming = 0;
    for (const s of liveSessions.values()) s === 'streaming' ? streaming++ : connecting++;
    return [
      [{ state: 'connecting' }, connecting],
      [{ state: 'streaming' }, streaming],
    ];
  });
  metrics.gauge('event_loop_delay_p99_seconds', () => loopDelay.percentile(99) / 1e9);
  metrics.gauge('event_loop_delay_max_seconds', () => loopDelay.max / 1e9);
  metrics.gauge('process_resident_memory_bytes', () => process.memoryUsage().rss);

  const client = await connectClient(config);
  const connection = await connectWorker(config);
  const worker = await Worker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: TASK_QUEUES.sessions,
    activities: createSessionActivities({
      db,
      keyring,
      sink: batcher,
      getProtocol,
      client,
      metrics,
      liveSessions,
      idleTimeoutMs: config.SESSION_IDLE_TIMEOUT_MS,
      defaultLeaseMs: config.SESSION_LEASE_MS,
    }),
    maxConcurrentActivityTaskExecutions: config.COLLECTOR_MAX_SESSIONS,
    // Send heartbeats at least every 2 s so a pause (cancellation) reaches the session quickly.
    maxHeartbeatThrottleInterval: '2 seconds',
    defaultHeartbeatThrottleInterval: '2 seconds',
    // On SIGTERM, end sessions at once so they fail over now, not after a heartbeat timeout.
    shutdownGraceTime: '500 milliseconds',
    shutdownForceTime: '15 seconds',
  });

  const server = http.createServer(async (req, res) => {
    if (req.url === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(metrics.render());
    } else if (req.url === '/healthz') {
      const problems: string[] = [];
      if (worker.getState() !== 'RUNNING') problems.push(`worker ${worker.getState()}`);
      try {
        await pool.query('SELECT 1');
      } catch (err) {
        problems.push(`database: ${(err as Error).message}`);
      }
      res.writeHead(problems.length ? 503 : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: problems.length === 0, problems, sessions: liveSessions.size, buffered: batcher.buffered }));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.COLLECTOR_METRICS_PORT, '127.0.0.1', () => resolve());
  });
  log.info('collector worker running', { taskQueue: TASK_QUEUES.sessions, metrics: `http://127.0.0.1:${(server.address() as { port: number }).port}/metrics` });
  try {
    await worker.run();
  } finally {
    log.info('collector stopping: flushing the batcher');
    await batcher.close();
    server.close();
    await connection.close();
    await client.connection.close();
    await db.destroy();
    await pool.end();
    log.info('collector stopped', { written: metrics.total('ingest_points_written_total'), dropped: metrics.total('ingest_points_dropped_total') });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
