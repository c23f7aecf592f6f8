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
  const line: LineSettings = { component, base, format: opts.format ?? settings.LOG_FORMAT, min: LEVELS[opts.level ?? settings.LOG_LEVEL] };
  // Methods, not arrow functions in named bindings: tsx (esbuild keepNames) names each such closure
  // with a property of its own, ~250 bytes per closure, and the collector keeps a logger per
  // session (issue 16). The methods do not use `this`, so they can be passed on alone.
  return {
    debug(m, f) {
      writeLine(line, 'debug', m, f);
    },
    info(m, f) {
      writeLine(line, 'info', m, f);
    },
    warn(m, f) {
      writeLine(line, 'warn', m, f);
    },
    error(m, f) {
      writeLine(line, 'error', m, f);
    },
  };
}

interface LineSettings {
  component: string;
  base: Record<string, unknown>;
  format: 'text' | 'json';
  min: number;
}

function writeLine(s: LineSettings, level: Level, msg: string, fields?: Record<string, unknown>): void {
  if (LEVELS[level] < s.min) return;
  const all = { ...s.base, ...fields };
  if (s.format === 'json') {
    process.stderr.write(JSON.stringify({ time: new Date().toISOString(), level, component: s.component, msg, ...all }) + '\n');
  } else {
    const extra = Object.entries(all)
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ');
    process.stderr.write(`${new Date().toISOString().slice(11, 23)} ${level.padEnd(5)} [${s.component}] ${msg}${extra ? ' ' + extra : ''}\n`);
  }
}
