/**
 * The Temporal worker runtime's own logging: warnings and errors only (its info
 * lines — bundle sizes, state changes — drown the project's logs), everything
 * with LOG_LEVEL=debug.
 */
import { DefaultLogger, Runtime, type RuntimeOptions } from '@temporalio/worker';
import type { Config } from '../core/config';

/** Install once per process, before the first Worker or NativeConnection. */
export function installWorkerRuntime(config: Config, options: Omit<RuntimeOptions, 'logger'> = {}): void {
  Runtime.install({ ...options, logger: new DefaultLogger(config.LOG_LEVEL === 'debug' ? 'DEBUG' : 'WARN') });
}
