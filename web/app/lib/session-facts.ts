/**
 * What the device page says about a session's last point and last error, from the
 * workflow's status and the stored samples. Pure: the loader gathers the inputs.
 */
import type { DeviceSessionStatus } from '../../../core/names';

/** States in which the workflow's lastError is about the attempt that just failed. */
const FAILING_STATES = new Set(['backoff', 'auth-failed', 'config-invalid']);

/**
 * The newest point: the workflow's lastPointAt only moves when an attempt ends (its
 * heartbeats are not in the status), so a streaming device also needs the newest
 * stored sample; the later of the two is the truth.
 */
export function lastPointAt(status: Pick<DeviceSessionStatus, 'lastPointAt'> | null | undefined, newestStored: number | undefined): number | undefined {
  const t = Math.max(status?.lastPointAt ?? 0, newestStored ?? 0);
  return t > 0 ? t : undefined;
}

/** The last error as the page shows it. */
export interface LastErrorFact {
  message: string;
  /** True while the session is failing because of it; false once a later connection was made. */
  current: boolean;
  /** When it happened (the failing state's start), when the workflow's recent states still hold it. */
  at?: number;
}

/**
 * The workflow keeps its last error across reconnects (Temporal Web hides it while streaming);
 * the page shows it with its time, labelled as belonging to an earlier connection unless the
 * session is failing right now.
 */
export function lastErrorFact(status: Pick<DeviceSessionStatus, 'state' | 'since' | 'lastError' | 'recent'> | null | undefined): LastErrorFact | undefined {
  if (!status?.lastError) return undefined;
  if (FAILING_STATES.has(status.state)) return { message: status.lastError, current: true, at: status.since };
  const failed = [...(status.recent ?? [])].reverse().find((r) => FAILING_STATES.has(r.state));
  return { message: status.lastError, current: false, at: failed?.at };
}
