/**
 * The deployable roles of switch-telemetry: one image, one entry point per role,
 * configured only by environment. This table is the one source of truth for how
 * each role is started, which port it serves and where its health check lives.
 * The topology runner (`npm run topology`, the topology test suite), the
 * container entrypoint, the Compose file and the Kubernetes manifests all follow
 * it, and a test checks that they do.
 */

/** A role's name, as given to the container entrypoint (`docker run IMAGE collector`). */
export type RoleName = 'migrate' | 'collector' | 'control' | 'web' | 'simulator';

/** How one role runs. */
export interface RoleSpec {
  name: RoleName;
  /** Entry file, relative to the repository root. */
  entry: string;
  /** V8 flags the role's node process is started with (before `--import tsx`). */
  nodeFlags: readonly string[];
  /** Runs once to completion (a Job / one-shot service) rather than as a long-lived process. */
  oneShot: boolean;
  /** The setting that holds the role's HTTP port, with its default; absent when the role serves none. */
  port?: { env: string; default: number };
  /** The setting that holds the address the HTTP port binds to (0.0.0.0 in containers). */
  hostEnv?: string;
  /** HTTP path answering 200 when the role can do its work (readiness and health checks). */
  healthPath?: string;
  /**
   * HTTP path answering 200 while the process is alive, whatever its dependencies do
   * (liveness: a restart would not cure a database outage, and would lose a collector's
   * held points). Absent: liveness is the port accepting connections.
   */
  livePath?: string;
  /** Settings the role cannot start without when run outside the embedded setup. */
  requiredEnv: readonly string[];
}

/**
 * The collector allocates a few short-lived objects per point (decoded updates,
 * points, path strings); a 64 MiB young generation halves its scavenges' share
 * of CPU: 7.55 → 5.6–5.9 µs of collector CPU per point, for ~90 MiB more RSS
 * (docs/performance.md, optimisation 3).
 */
const COLLECTOR_NODE_FLAGS = ['--max-semi-space-size=64'] as const;

/** Every role, in start order. */
export const ROLES: readonly RoleSpec[] = [
  {
    name: 'migrate',
    entry: 'workers/migrate.ts',
    nodeFlags: [],
    oneShot: true,
    requiredEnv: ['DATABASE_URL', 'TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE'],
  },
  {
    name: 'control',
    entry: 'workers/control.ts',
    nodeFlags: [],
    oneShot: false,
    port: { env: 'CONTROL_HEALTH_PORT', default: 9465 },
    hostEnv: 'CONTROL_HEALTH_HOST',
    healthPath: '/healthz',
    livePath: '/livez',
    requiredEnv: ['DATABASE_URL', 'TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE'],
  },
  {
    name: 'collector',
    entry: 'workers/collector.ts',
    nodeFlags: COLLECTOR_NODE_FLAGS,
    oneShot: false,
    port: { env: 'COLLECTOR_METRICS_PORT', default: 9464 },
    hostEnv: 'COLLECTOR_METRICS_HOST',
    healthPath: '/healthz',
    livePath: '/livez',
    requiredEnv: ['DATABASE_URL', 'TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'SECRETS_KEY'],
  },
  {
    name: 'web',
    entry: 'web/server.ts',
    nodeFlags: [],
    oneShot: false,
    port: { env: 'WEB_PORT', default: 3000 },
    hostEnv: 'WEB_HOST',
    healthPath: '/healthz',
    requiredEnv: ['DATABASE_URL', 'TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'SECRETS_KEY', 'SESSION_SECRET'],
  },
  {
    name: 'simulator',
    entry: 'simulator/main.ts',
    nodeFlags: [],
    oneShot: false,
    port: { env: 'SIM_CONTROL_PORT', default: 57399 },
    hostEnv: 'SIM_HOST',
    healthPath: '/devices',
    requiredEnv: [],
  },
];

/** The role named `name`; throws on an unknown name. */
export function role(name: RoleName): RoleSpec {
  const spec = ROLES.find((r) => r.name === name);
  if (!spec) throw new Error(`unknown role ${name}`);
  return spec;
}

/** V8 flags per entry file (for launchers that start entry files directly). */
export const ENTRY_NODE_FLAGS: Readonly<Record<string, readonly string[]>> = Object.fromEntries(
  ROLES.filter((r) => r.nodeFlags.length > 0).map((r) => [r.entry, r.nodeFlags]),
);
