/**
 * The Temporal worker runtime's own logging, through the project's structured
 * logger (one line each, JSON with LOG_FORMAT=json): warnings and errors only —
 * its info lines (bundle sizes, state changes) would drown the project's logs —
 * and everything with LOG_LEVEL=debug. Task tokens and stack traces are left out.
 * A session activity that failed with an ApplicationFailure is expected (the
 * device broke, the collector is leaving): the activity already logged why in one
 * line and the workflow records it, so the SDK's multi-line report goes to debug.
 */
import { ApplicationFailure, type LogLevel, type LogMetadata, type Logger as SdkLogger } from '@temporalio/common';
import { Runtime, type RuntimeOptions } from '@temporalio/worker';
import type { Config } from '../core/config';
import { createLogger } from '../core/log';

/** Fields of the SDK's log metadata worth a line; the rest (task tokens, run ids, namespaces) is noise. */
const KEPT_FIELDS = ['taskQueue', 'workflowId', 'workflowType', 'activityType', 'attempt', 'durationMs', 'state'];

/** SDK messages that are expected in this project's setup. */
const QUIET_MESSAGES = [/^No workflows registered/, /^No Nexus services registered/, /^No activities registered/];

type Level = 'debug' | 'info' | 'warn' | 'error';
const FROM_SDK: Record<LogLevel, Level> = { TRACE: 'debug', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' };

/** A Temporal SDK logger writing through createLogger('temporal'); `debug` shows everything. */
export function sdkLogger(debug: boolean): SdkLogger {
  const log = createLogger('temporal', {}, { level: debug ? 'debug' : 'warn' });
  const write = (sdkLevel: LogLevel, message: string, meta?: LogMetadata) => {
    const fields: Record<string, unknown> = {};
    for (const k of KEPT_FIELDS) if (meta?.[k] !== undefined) fields[k] = meta[k];
    const err = meta?.error ?? meta?.failure;
    if (err instanceof Error) fields.error = `${err.name}: ${err.message}`;
    else if (err !== undefined) fields.error = String(err);
    let level = FROM_SDK[sdkLevel] ?? 'info';
    if (QUIET_MESSAGES.some((re) => re.test(message))) level = 'debug';
    if (message === 'Activity failed' && err instanceof ApplicationFailure) level = 'debug';
    log[level](message, fields);
  };
  return {
    log: write,
    trace: (m, meta) => write('TRACE', m, meta),
    debug: (m, meta) => write('DEBUG', m, meta),
    info: (m, meta) => write('INFO', m, meta),
    warn: (m, meta) => write('WARN', m, meta),
    error: (m, meta) => write('ERROR', m, meta),
  };
}

/** Install once per process, before the first Worker or NativeConnection. */
export function installWorkerRuntime(config: Config, options: Omit<RuntimeOptions, 'logger'> = {}): void {
  Runtime.install({ ...options, logger: sdkLogger(config.LOG_LEVEL === 'debug') });
}
