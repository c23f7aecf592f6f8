/**
 * The one normalized event every protocol produces and every sink consumes.
 * Pure types: safe in workflows and the browser.
 */

/** A telemetry value as stored: numbers go to `samples`, text (and booleans) to `states`. */
export type PointValue = number | string | boolean;

/** One leaf observed at one time on one device. */
export interface TelemetryPoint {
  /** Device id (the database key). */
  deviceId: number;
  /** Canonical path (see core/path.ts). */
  path: string;
  /** Observation time in milliseconds since the epoch; may carry a fraction (microseconds). */
  timestamp: number;
  /** The value; `null` records a delete of the leaf. */
  value: PointValue | null;
  /**
   * Exact decimal text of an integer that a double cannot hold (|v| > 2^53);
   * `value` then holds the nearest double.
   */
  exact?: string;
}

/** Convert gNMI's nanosecond timestamp (decimal string or bigint) to milliseconds with a microsecond fraction. */
export function nanosToMillis(ns: string | bigint | number): number {
  if (typeof ns === 'number') return ns / 1e6;
  const big = typeof ns === 'bigint' ? ns : BigInt(ns);
  const micros = big / 1000n;
  return Number(micros) / 1000;
}
