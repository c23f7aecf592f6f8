/**
 * The door between the ingest batcher's buffering policy (storage/batcher.ts) and
 * what stores a batch (storage/pg-writer.ts, or an in-memory writer in unit tests).
 */
import type { TelemetryPoint } from '../core/point';

/** What one successful write reports. */
export interface WriteResult {
  /** Points the writer tried to store (after its own per-point checks). */
  rows: number;
  /** Rows newly stored; `rows − inserted` were stored already (a retried batch). */
  inserted: number;
  /** Series that received points. */
  seriesIds: number[];
}

/** Stores one batch; throws when it could not (the batcher retries the same points). Must be idempotent. */
export interface BatchWriter {
  write(points: TelemetryPoint[]): Promise<WriteResult>;
}
