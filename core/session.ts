/**
 * The contract between the session activity and a protocol implementation.
 * A protocol is a folder under protocols/ that exports a `ProtocolSession`;
 * protocols/index.ts registers it. Nothing here does I/O.
 */
import type { DeviceConfig, SubscriptionProfile } from './device';
import type { TelemetryPoint } from './point';

/** Where a session hands its points. `push` returns a promise while the sink is full: await it (backpressure). */
export interface PointSink {
  push(points: TelemetryPoint[]): void | Promise<void>;
}

/** Progress a session reports; the activity turns it into heartbeat details and metrics. */
export type SessionEvent =
  | { type: 'connected'; detail?: string }
  | { type: 'synced' }
  | { type: 'points'; count: number; lastTimestamp: number }
  | { type: 'dropped'; count: number; reason: string }
  | { type: 'warning'; message: string }
  /** What the session settled on with the device: gNMI encoding and whether Capabilities was answered (ADR 014). */
  | { type: 'negotiated'; encoding: string; capabilities?: 'answered' | 'unimplemented' | 'timeout' };

/** Minimal structured logger; never give it a secret. */
export interface Logger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  debug(msg: string, fields?: Record<string, unknown>): void;
}

/** What a gNMI device answered to Capabilities, kept for the next collector that takes its running session over (ADR 298). */
export interface GnmiCapabilitiesAnswer {
  encodings: string[];
  gnmiVersion: string;
}

/** What a protocol session receives. */
export interface SessionContext {
  device: DeviceConfig;
  profiles: SubscriptionProfile[];
  sink: PointSink;
  /** Aborted when the session must end (cancel, lease over, shutdown). */
  signal: AbortSignal;
  onEvent(event: SessionEvent): void;
  /** Increments a named counter (exposed on /metrics), e.g. `gnmi_malformed_messages_total`. */
  count(name: string, by?: number, labels?: Record<string, string>): void;
  log: Logger;
  /** Store a newly approved host key (NETCONF first use). */
  saveHostKey?(sha256: string): Promise<void>;
  /** Told the SSH host key a NETCONF device presented and the pinned one (SHA-256 fingerprints) before they are compared: Test connection shows them. */
  onHostKey?(key: { presented: string; pinned?: string }): void;
  /**
   * gNMI (ADR 298): `known` is what the device answered to the collector that streamed it before a
   * hand-over, so the session subscribes without asking Capabilities again; `onAnswered` hears every
   * answer the device gives.
   */
  gnmiCapabilities?: { known?: GnmiCapabilitiesAnswer; onAnswered?(answer: GnmiCapabilitiesAnswer): void };
}

/** A protocol implementation: run until ctx.signal aborts (resolve) or the session breaks (reject with SessionError). */
export interface ProtocolSession {
  readonly protocol: 'gnmi' | 'netconf';
  run(ctx: SessionContext): Promise<void>;
}

/** Why a session ended; FAILURE_HANDLING says what follows. */
export type SessionErrorCode =
  | 'AUTH_FAILED' // bad credentials / permission denied: non-retryable
  | 'CONFIG_INVALID' // bad path, unsupported mode, bad settings: non-retryable
  | 'HOST_KEY_MISMATCH' // pinned SSH key differs: non-retryable
  | 'HOST_KEY_UNKNOWN' // no pinned key and first-use not approved: non-retryable
  | 'TLS_FAILED' // certificate verification failed: non-retryable
  | 'UNAVAILABLE' // network / device down: retry
  | 'PROTOCOL_ERROR' // malformed or oversized data: retry
  | 'STALLED' // no data within the idle timeout: retry
  | 'INTERNAL'; // anything else: retry

/** What the device-session workflow does after an attempt failed with a given failure type. */
export type FailureHandling =
  /** Retrying cannot fix it: the workflow parks in this state until the operator acts. */
  | { then: 'park'; state: 'auth-failed' | 'config-invalid' }
  /** The collector, not the device, went away: another collector takes over at once (a few times in a row). */
  | { then: 'fail-over' }
  /** Retry after a jittered, growing delay. */
  | { then: 'back-off' };

/**
 * The one classification table, keyed by failure type: every session error code, plus
 * the two ways an attempt loses its collector (COLLECTOR_LEAVING from a collector that
 * shuts down, TIMEOUT when heartbeats stop). The session activity marks `park` rows
 * non-retryable; the workflow's decisions (core/session-machine.ts) follow the same rows.
 */
export const FAILURE_HANDLING: Readonly<Record<SessionErrorCode | 'COLLECTOR_LEAVING' | 'TIMEOUT', FailureHandling>> = {
  AUTH_FAILED: { then: 'park', state: 'auth-failed' },
  CONFIG_INVALID: { then: 'park', state: 'config-invalid' },
  HOST_KEY_MISMATCH: { then: 'park', state: 'config-invalid' },
  HOST_KEY_UNKNOWN: { then: 'park', state: 'config-invalid' },
  TLS_FAILED: { then: 'park', state: 'config-invalid' },
  UNAVAILABLE: { then: 'back-off' },
  PROTOCOL_ERROR: { then: 'back-off' },
  STALLED: { then: 'back-off' },
  INTERNAL: { then: 'back-off' },
  COLLECTOR_LEAVING: { then: 'fail-over' },
  TIMEOUT: { then: 'fail-over' },
};

/** How a failure of this type is handled; unknown or missing types back off. */
export function failureHandling(type: string | undefined): FailureHandling {
  return (type !== undefined && Object.hasOwn(FAILURE_HANDLING, type) && FAILURE_HANDLING[type as keyof typeof FAILURE_HANDLING]) || { then: 'back-off' };
}

/** A typed session failure; message reads `CODE: details`. */
export class SessionError extends Error {
  constructor(readonly code: SessionErrorCode, details: string, options?: { cause?: unknown }) {
    super(`${code}: ${details}`, options);
    this.name = 'SessionError';
  }
  get retryable(): boolean {
    return FAILURE_HANDLING[this.code].then !== 'park';
  }
}

/** Narrow an unknown error to a SessionError, wrapping anything else as INTERNAL. */
export function toSessionError(err: unknown): SessionError {
  if (err instanceof SessionError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new SessionError('INTERNAL', message, { cause: err });
}
