/**
 * Structured logs: one JSON object a line in production (LOG_FORMAT=json),
 * readable text in development. Callers pass fields, never secrets.
 */
import { logSettings } from './config';
import type { Logger } from './session';

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const;
type Level = keyof typeof LEVELS;

/** Create a logger for a component; `base` fields (device id, …) go on every line. */
export function createLogger(
  component: string,
  base: Record<string, unknown> = {},
  opts: { format?: 'text' | 'json'; level?: Level } = {},
): Logger {
  const settings = logSettings();
  const format = opts.format ?? settings.LOG_FORMAT;
  const min = LEVELS[opts.level ?? settings.LOG_LEVEL];
  const write = (level: Level, msg: string, fields?: Record<string, unknown>) => {
    if (LEVELS[level] < min) return;
    const all = { ...base, ...fields };
    if (format === 'json') {
      process.stderr.write(JSON.stringify({ time: new Date().toISOString(), level, component, msg, ...all }) + '\n');
    } else {
      const extra = Object.entries(all)
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' ');
      process.stderr.write(`${new Date().toISOString().slice(11, 23)} ${level.padEnd(5)} [${component}] ${msg}${extra ? ' ' + extra : ''}\n`);
    }
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
  };
}
