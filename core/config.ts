/**
 * Every setting, read from the environment once and validated, with defaults that
 * serve the embedded setup (`npm start`). The README lists them. Server-side only.
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

const int = (def: number) => z.coerce.number().int().nonnegative().default(def);

const schema = z.object({
  DATA_DIR: z.string().default(path.resolve(process.cwd(), '.data')),
  DATABASE_URL: z.string().url().optional(),
  /** Port of the PostgreSQL cluster the scripts manage when DATABASE_URL is unset. */
  PG_PORT: int(54329),
  TEMPORAL_ADDRESS: z.string().default('127.0.0.1:7233'),
  /** Port of the Temporal dev server `npm start` starts when TEMPORAL_ADDRESS is unset. */
  TEMPORAL_DEV_PORT: int(7233),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  TEMPORAL_UI_PORT: int(8233),
  TEMPORAL_UI_URL: z.string().optional(),
  TEMPORAL_API_KEY: z.string().optional(),
  TEMPORAL_TLS_CERT: z.string().optional(),
  TEMPORAL_TLS_KEY: z.string().optional(),
  TEMPORAL_TLS_CA: z.string().optional(),
  TEMPORAL_CLI: z.string().optional(),
  WEB_PORT: int(3000),
  WEB_HOST: z.string().default('127.0.0.1'),
  /** Signs the web session cookie; else a random secret kept in <DATA_DIR>/session.secret (0600). Comma-separate to rotate (first signs). */
  SESSION_SECRET: z.string().min(16).optional(),
  /** Hours a web sign-in lasts. */
  SESSION_MAX_AGE_HOURS: int(12),
  /** Mark the session cookie Secure (set when the web app is served over HTTPS). */
  WEB_COOKIE_SECURE: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
  /** Largest request body of a form post (bytes); larger ones get 413 while streaming. */
  WEB_MAX_FORM_BYTES: int(64 * 1024),
  /** Test connection on the device form gives up after this long (ms; ADR 091). */
  WEB_PROBE_TIMEOUT_MS: int(8000),
  /** Largest request body of a device import (multipart, bytes). */
  WEB_MAX_IMPORT_BYTES: int(2 * 1024 * 1024),
  /** Failed sign-ins of one account from one client before each further try waits (doubling). */
  WEB_SIGNIN_FREE_FAILURES: int(5),
  /** Longest wait imposed on one (account, client) pair, seconds. */
  WEB_SIGNIN_MAX_DELAY_S: int(900),
  /** Failed sign-ins one client may make across all accounts per 15 minutes. */
  WEB_SIGNIN_CLIENT_FAILURES: int(50),
  /** Live streams: oldest replay a `since` / Last-Event-ID may ask for (ms); older history comes from /api/series. */
  WEB_LIVE_REPLAY_MS: int(5 * 60_000),
  /** Live streams open at once per user, and in total per web process. */
  WEB_LIVE_STREAMS_PER_USER: int(8),
  WEB_LIVE_STREAMS_TOTAL: int(500),
  /** Web database pool: statement timeout (ms) for page and API queries. */
  WEB_STATEMENT_TIMEOUT_MS: int(10_000),
  /** Estimated points one /api/series request may scan (refused with a coarser range beyond it). */
  WEB_QUERY_MAX_POINTS: int(5_000_000),
  /** PostgreSQL JIT on the connections that run fleet and history queries (web, ctl query, alert evaluation); off by default (ADR 175). */
  QUERY_JIT: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
  /** History queries one user may run at once. */
  WEB_QUERIES_PER_USER: int(2),
  /** How often (ms) the web app mirrors session states from Temporal visibility into device_session_state (ADR 095). */
  WEB_FLEET_STATE_SYNC_MS: int(5000),
  /** Devices a bulk action (web, ctl) drives through Temporal at once (128: 1,000 pauses in 21 s here, 32: 46 s). */
  BULK_CONCURRENCY: int(128),
  /** Control worker: workflows kept in its sticky cache (beyond it each task replays the history); 0: the SDK's default from the heap size (ADR 170). */
  CONTROL_MAX_CACHED_WORKFLOWS: int(0),
  /** Control worker: workflow tasks run at once, and their pollers (the SDK's 40 and 10). */
  CONTROL_WORKFLOW_TASK_SLOTS: int(40),
  CONTROL_WORKFLOW_TASK_POLLERS: int(10),
  /** First admin of the web app, created at start-up when no user exists (else the /setup page asks). */
  ADMIN_EMAIL: z.string().email().optional(),
  ADMIN_PASSWORD: z.string().min(8).optional(),
  COLLECTOR_METRICS_PORT: int(9464),
  /** Address the collector's /metrics and health server binds to (0.0.0.0 in a container). */
  COLLECTOR_METRICS_HOST: z.string().default('127.0.0.1'),
  /** Port of the control worker's health server (/livez, /healthz); 0 picks a free one (tests). */
  CONTROL_HEALTH_PORT: int(9465),
  /** Address the control worker's health server binds to (0.0.0.0 in a container). */
  CONTROL_HEALTH_HOST: z.string().default('127.0.0.1'),
  COLLECTOR_MAX_SESSIONS: int(1000),
  /** Concurrent activity-task polls of a collector (failover bursts move many sessions at once). */
  COLLECTOR_ACTIVITY_POLLERS: int(10),
  /** Sessions of one collector that may be connecting at once (reconnect storms queue behind it). */
  COLLECTOR_MAX_CONCURRENT_DIALS: int(64),
  /** gRPC client of gNMI sessions: the lighter one on node:http2 (ADR 265), or grpc-js. */
  GNMI_TRANSPORT: z.enum(['grpc-js', 'http2']).default('http2'),
  /** On SIGTERM the collector exits within this bound even if something hangs (60 s: room for the overlap below, the results and the last flush, ADR 293, 295). */
  COLLECTOR_SHUTDOWN_FORCE_MS: int(60_000),
  /** Leaving (SIGTERM): how long hand-over results wait for the collector's own placement of its sessions (ADR 231; at most half the force bound, less under 6 s: ADR 293). */
  COLLECTOR_HANDOVER_PLACEMENT_WAIT_MS: int(4_000),
  /** Warm hand-over (ADR 235): how long a session dialled at once on a hand-over waits for its attempt to adopt it (ms); 0 turns warm hand-overs off. */
  COLLECTOR_WARM_ADOPT_MS: int(600_000),
  /** Warm hand-over of a gNMI session: subscribe with what the device answered to Capabilities on its previous collector instead of asking again (ADR 298); false asks every time. */
  GNMI_HANDOVER_REUSES_CAPABILITIES: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
  /**
   * Make before break (ADR 236): how long a leaving or drained collector keeps each stream until its new collector streams the device (ms, at
   * most half COLLECTOR_SHUTDOWN_FORCE_MS; on SIGTERM less under a 6 s bound, ADR 293); 0 ends them at once. On SIGTERM only sessions placed on
   * another collector wait (ADR 295): with none to take them (a lone collector) the streams end at once.
   */
  COLLECTOR_HANDOVER_OVERLAP_MS: int(30_000),
  /** Make before break when drained or rebalancing (ADR 236): the same wait, with no shutdown to bound it (ms). */
  COLLECTOR_MOVE_OVERLAP_MS: int(60_000),
  SESSION_HEARTBEAT_TIMEOUT_MS: int(10_000),
  /** This collector's name in the placement registry (ADR 110); default `<hostname>-<pid>`. */
  COLLECTOR_ID: z.string().regex(/^[A-Za-z0-9._-]{1,100}$/).optional(),
  /** A collector's liveness lease (ms) and how often it renews it: a lapsed lease fails its sessions over at once. */
  COLLECTOR_LEASE_MS: int(3000),
  COLLECTOR_LEASE_RENEW_MS: int(1000),
  /** Hold a liveness lock on a database connection of its own (ADR 296): when the process dies the lock goes with the connection and its lease ends at once. */
  COLLECTOR_LIVENESS_LOCK: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
  /** A collector whose main thread posts nothing to its lease thread for this long (ms) is hung: the lease is no longer renewed, so its sessions fail over (ADR 165). */
  COLLECTOR_STALL_MS: int(30_000),
  /** Place sessions on chosen collectors' own task queues (ADR 110); false: first poller of the shared queue. */
  SESSION_PLACEMENT: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
  /** Heartbeat timeout of placed sessions (ms): progress only, the collector lease detects a dead collector (120 s since ADR 300). */
  SESSION_PLACED_HEARTBEAT_TIMEOUT_MS: int(120_000),
  /** Placed sessions' heartbeats reach Temporal at most this often (ms; capped at half their timeout): pauses reach them directly (ADR 160); once a minute since ADR 300. */
  SESSION_PLACED_HEARTBEAT_THROTTLE_MS: int(60_000),
  /** Sessions the control worker moves at once when rebalancing or draining collectors. */
  PLACEMENT_MAX_MOVES: int(5),
  /** How often (ms) the control worker checks collector leases and balance. */
  PLACEMENT_MONITOR_MS: int(1000),
  /** A lost collector's sessions that their new collectors dial at once are told once those streams are up, at most this long (ms) after the loss (ADR 297); 0: at once. */
  PLACEMENT_LOST_SIGNAL_HOLD_MS: int(30_000),
  /** Alerting (issue 18): one webhook attempt's timeout, attempts per notification before giving up, continue-as-new bound of a rule workflow. */
  ALERT_WEBHOOK_TIMEOUT_MS: int(10000),
  ALERT_DELIVERY_MAX_ATTEMPTS: int(20),
  ALERT_MAX_EVALUATIONS: int(500),
  /** Alert evaluation queries the control worker runs at once; rules sharing a query at a step share one (ADR 190). */
  ALERT_EVAL_CONCURRENCY: int(3),
  SESSION_LEASE_MS: int(4 * 3600_000),
  SESSION_IDLE_TIMEOUT_MS: int(60_000),
  INGEST_BATCH_SIZE: int(5000),
  INGEST_FLUSH_MS: int(200),
  /**
   * Flushes a collector runs at once, points split by device (storage/batcher.ts): each lane keeps one
   * device's points in order and uses a connection of its own. 1: one flush at a time.
   */
  INGEST_FLUSH_LANES: z.coerce.number().int().min(1).max(16).default(1),
  INGEST_MAX_BUFFERED: int(200_000),
  /** While PostgreSQL is down, points held in memory before the oldest are dropped (counted). */
  INGEST_MAX_HELD: int(1_000_000),
  /**
   * A flush with numeric points older than this behind the flush time records their range for
   * the rollups to recompute. At most the rollup look-back (10 min): a point between the two
   * would reach neither the regular refresh nor the dirty ranges.
   */
  INGEST_LATE_AFTER_MS: z.coerce.number().int().min(0).max(600_000).default(300_000),
  /** Most series one device may create; points of further series are dropped and counted (reason series_limit). */
  INGEST_MAX_SERIES_PER_DEVICE: z.coerce.number().int().min(1).default(20_000),
  /** Points stamped further than this ahead of the collector's clock are dropped and counted (reason future_timestamp), ms. */
  INGEST_MAX_FUTURE_MS: z.coerce.number().int().min(1000).default(300_000),
  /** Storage mode: use TimescaleDB when the extension is available (auto), require it (on), or never (off). */
  STORAGE_TIMESCALEDB: z.enum(['auto', 'on', 'off']).default('auto'),
  /** Path of a TimescaleDB source release tarball the scripts build and install when the extension is missing. */
  TIMESCALEDB_SOURCE: z.string().optional(),
  /** sha256 of TIMESCALEDB_SOURCE when it is not the release the project knows (2.28.3). */
  TIMESCALEDB_SOURCE_SHA256: z.string().regex(/^[0-9a-fA-F]{64}$/).optional(),
  /** Storage modes the storage test suites run in (`timescaledb,native`; `native` opts out of TimescaleDB). */
  TEST_STORAGE_MODES: z.string().regex(/^(timescaledb|native)(,(timescaledb|native))*$/).default('timescaledb,native'),
  /** TimescaleDB chunk interval of samples and states (a PostgreSQL interval). */
  CHUNK_INTERVAL: z.string().regex(/^\d+ (minute|hour|day|week)s?$/).default('1 day'),
  /** TimescaleDB: compress raw chunks older than this (a PostgreSQL interval). */
  COMPRESS_AFTER: z.string().regex(/^\d+ (hour|day|week)s?$/).default('7 days'),
  /** Days of raw samples and states kept. */
  RETENTION_DAYS: int(30),
  /** Days of 1-minute and 1-hour rollups kept. */
  ROLLUP_RETENTION_DAYS: int(400),
  /** Native mode: daily partitions created ahead of today. */
  PARTITIONS_AHEAD_DAYS: int(3),
  /** Native mode: how often the maintenance schedule runs (seconds). */
  MAINTENANCE_INTERVAL_S: int(60),
  SECRETS_KEY: z.string().optional(),
  SECRETS_KEY_FILE: z.string().optional(),
  /** Files holding a secret setting (Compose / Kubernetes secrets): read once at start-up, trailing newline dropped. */
  DATABASE_URL_FILE: z.string().optional(),
  /** File holding the database password, put into DATABASE_URL (which then carries none). */
  DATABASE_PASSWORD_FILE: z.string().optional(),
  SESSION_SECRET_FILE: z.string().optional(),
  TEMPORAL_API_KEY_FILE: z.string().optional(),
  SIM_HOST: z.string().default('127.0.0.1'),
  SIM_GNMI_COUNT: int(3),
  SIM_GNMI_BASE_PORT: int(57400),
  SIM_NETCONF_COUNT: int(1),
  SIM_NETCONF_BASE_PORT: int(58300),
  SIM_CONTROL_PORT: int(57399),
  SIM_INTERFACES: int(8),
  // How simulated gNMI targets encode: every message built (tests) or patched pre-encoded templates (capacity benchmarks).
  SIM_GNMI_GENERATOR: z.enum(['realistic', 'templates']).default('realistic'),
  LOG_FORMAT: z.enum(['text', 'json']).default(process.env.NODE_ENV === 'production' ? 'json' : 'text'),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
});

/** Every setting's name (what deployment files may set; test/integration/deploy-files.test.ts checks them). */
export const SETTING_NAMES: readonly string[] = Object.keys(schema.shape);

/** The validated configuration. */
export type Config = z.infer<typeof schema> & {
  DATABASE_URL: string;
  TEMPORAL_UI_URL: string;
  /** Services the environment names instead of the embedded ones `npm start` runs: DATABASE_URL (or its file) set, TEMPORAL_ADDRESS set. */
  external: { database: boolean; temporal: boolean };
};

let cached: Config | undefined;

/** Settings that may instead be read from a file named by `<name>_FILE`. */
const FROM_FILE = ['DATABASE_URL', 'SESSION_SECRET', 'TEMPORAL_API_KEY'] as const;

/**
 * The environment with `<name>_FILE` settings replaced by their files' contents (validated like
 * the variable itself) and DATABASE_PASSWORD_FILE's password put into DATABASE_URL. Errors name
 * the setting and the file, never the contents.
 */
function withSecretFiles(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const problems: string[] = [];
  const read = (setting: string, file: string): string | undefined => {
    try {
      return fs.readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      problems.push(`  ${setting}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
      return undefined;
    }
  };
  const out: NodeJS.ProcessEnv = { ...env };
  for (const name of FROM_FILE) {
    const file = env[`${name}_FILE`];
    if (!file) continue;
    if (env[name]) problems.push(`  ${name}_FILE: set ${name} or ${name}_FILE, not both`);
    else out[name] = read(`${name}_FILE`, file);
  }
  if (env.DATABASE_PASSWORD_FILE) {
    const password = read('DATABASE_PASSWORD_FILE', env.DATABASE_PASSWORD_FILE);
    let url: URL | undefined;
    try {
      url = new URL(out.DATABASE_URL ?? '');
    } catch {
      problems.push('  DATABASE_PASSWORD_FILE: needs DATABASE_URL (or DATABASE_URL_FILE) naming the server and user');
    }
    if (url?.password) problems.push('  DATABASE_PASSWORD_FILE: DATABASE_URL already carries a password');
    else if (url && password !== undefined) {
      url.password = encodeURIComponent(password);
      out.DATABASE_URL = url.toString();
    }
  }
  if (problems.length) throw new Error(`Invalid configuration:\n${problems.join('\n')}`);
  return out;
}

/** Read and validate the environment (once); throws a readable error listing every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  if (cached && env === process.env) return cached;
  const parsed = schema.safeParse(withSecretFiles(env));
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const c = parsed.data;
  const config: Config = {
    ...c,
    DATABASE_URL: c.DATABASE_URL ?? managedDatabaseUrl(c.DATA_DIR, c.PG_PORT, 'switch_telemetry'),
    TEMPORAL_UI_URL: c.TEMPORAL_UI_URL ?? `http://127.0.0.1:${c.TEMPORAL_UI_PORT}`,
    external: { database: c.DATABASE_URL !== undefined, temporal: Boolean(env.TEMPORAL_ADDRESS) },
  };
  if (env === process.env) cached = config;
  return config;
}

/**
 * URL of the managed cluster's database: user postgres with the generated password kept in
 * `<dataDir>/postgres.password` (0600) by scripts/infra/postgres.ts, when that file exists.
 */
export function managedDatabaseUrl(dataDir: string, port: number, database: string): string {
  let password = '';
  try {
    password = fs.readFileSync(path.join(dataDir, 'postgres.password'), 'utf8').trim();
  } catch {
    // no managed cluster yet (or not readable): no password
  }
  return `postgres://postgres${password ? `:${encodeURIComponent(password)}` : ''}@127.0.0.1:${port}/${database}`;
}

type LogSettings = { LOG_FORMAT: 'text' | 'json'; LOG_LEVEL: 'debug' | 'info' | 'warn' | 'error' };
const logSchema = schema.pick({ LOG_FORMAT: true, LOG_LEVEL: true });
let lastLogSettings: { format: string | undefined; level: string | undefined; value: LogSettings } | undefined;

/**
 * The log settings alone, read on every call (loggers exist before, and while, the whole
 * configuration is validated; an invalid value falls back to the default). The collector makes
 * a logger per session, so the last answer is kept while the two variables stay the same (picking
 * and parsing the schema each time was about 2 % of a dial's CPU, issue 20).
 */
export function logSettings(env: NodeJS.ProcessEnv = process.env): LogSettings {
  const format = env.LOG_FORMAT;
  const level = env.LOG_LEVEL;
  if (lastLogSettings && lastLogSettings.format === format && lastLogSettings.level === level) return lastLogSettings.value;
  const parsed = logSchema.safeParse({ LOG_FORMAT: format, LOG_LEVEL: level || undefined });
  const value: LogSettings = parsed.success ? parsed.data : { LOG_FORMAT: format === 'json' ? 'json' : 'text', LOG_LEVEL: 'info' };
  lastLogSettings = { format, level, value };
  return value;
}

/**
 * The gNMI transport alone, read at each dial (the protocol layer runs in tests and benchmarks
 * without the whole configuration); an invalid value fails the dial, naming the setting.
 */
export function gnmiTransportSetting(env: NodeJS.ProcessEnv = process.env): 'grpc-js' | 'http2' {
  const parsed = schema.shape.GNMI_TRANSPORT.safeParse(env.GNMI_TRANSPORT || undefined);
  if (!parsed.success) throw new Error(`Invalid configuration:\n  GNMI_TRANSPORT: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
  return parsed.data;
}

/** Forget the cached configuration (tests change the environment). */
export function resetConfig(): void {
  cached = undefined;
}
