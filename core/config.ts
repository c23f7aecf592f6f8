/**
 * Every setting, read from the environment once and validated, with defaults that
 * serve the embedded setup (`npm start`). The README lists them. Server-side only.
 */
import path from 'node:path';
import { z } from 'zod';

const int = (def: number) => z.coerce.number().int().nonnegative().default(def);

const schema = z.object({
  DATA_DIR: z.string().default(path.resolve(process.cwd(), '.data')),
  DATABASE_URL: z.string().url().optional(),
  /** Port of the PostgreSQL cluster the scripts manage when DATABASE_URL is unset. */
  PG_PORT: int(54329),
  TEMPORAL_ADDRESS: z.string().default('127.0.0.1:7233'),
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
  COLLECTOR_METRICS_PORT: int(9464),
  COLLECTOR_MAX_SESSIONS: int(1000),
  SESSION_HEARTBEAT_TIMEOUT_MS: int(10_000),
  SESSION_LEASE_MS: int(4 * 3600_000),
  SESSION_IDLE_TIMEOUT_MS: int(60_000),
  INGEST_BATCH_SIZE: int(5000),
  INGEST_FLUSH_MS: int(200),
  INGEST_MAX_BUFFERED: int(200_000),
  SECRETS_KEY: z.string().optional(),
  SECRETS_KEY_FILE: z.string().optional(),
  SIM_HOST: z.string().default('127.0.0.1'),
  SIM_GNMI_COUNT: int(3),
  SIM_GNMI_BASE_PORT: int(57400),
  SIM_NETCONF_COUNT: int(0),
  SIM_NETCONF_BASE_PORT: int(58300),
  SIM_CONTROL_PORT: int(57399),
  SIM_INTERFACES: int(8),
  LOG_FORMAT: z.enum(['text', 'json']).default(process.env.NODE_ENV === 'production' ? 'json' : 'text'),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
});

/** The validated configuration. */
export type Config = z.infer<typeof schema> & { DATABASE_URL: string; TEMPORAL_UI_URL: string };

let cached: Config | undefined;

/** Read and validate the environment (once); throws a readable error listing every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  if (cached && env === process.env) return cached;
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const c = parsed.data;
  const config: Config = {
    ...c,
    DATABASE_URL: c.DATABASE_URL ?? `postgres://postgres@127.0.0.1:${c.PG_PORT}/switch_telemetry`,
    TEMPORAL_UI_URL: c.TEMPORAL_UI_URL ?? `http://127.0.0.1:${c.TEMPORAL_UI_PORT}`,
  };
  if (env === process.env) cached = config;
  return config;
}

/** Forget the cached configuration (tests change the environment). */
export function resetConfig(): void {
  cached = undefined;
}
