/**
 * `npm run ctl -- query <path> [options]`: a fleet query (query/fleet-query.ts) from the
 * command line, straight against the database (DATABASE_URL; no Temporal needed).
 * Prints one row per group (series, mean, min, max, newest value over the range) or,
 * with --json, the whole answer as /api/query returns it.
 */
import { parseArgs } from 'node:util';
import { ZodError } from 'zod';
import { PathSyntaxError } from '../core/path';
import { FleetQuerySchema, QueryRefusedError, queryFleet, type FleetQuery, type FleetResult } from '../query/fleet-query';
import type { Queryable } from '../query/router';

export const QUERY_HELP = `Usage: npm run ctl -- query <path or metric> [options]

A fleet query: aggregation across series, computed in the database (docs/queries.md).

Options
      --rate              counters as per-second rates (per series, before aggregation)
      --agg <agg>         sum (default), avg, min, max, count, last
      --by <group>        device, site, protocol, series, or a list key such as interface[name]
      --top <n>           the n groups with the highest mean over the range (--bottom: lowest)
      --last <duration>   the range up to now: 15m, 1h, 24h, 7d (default 1h)
      --from <time>       start instead (ISO time or ms); --to <time> end (default now)
      --width <px>        points per line about this many (default 1000)
      --device <id>       only this device (repeatable)
      --json              the whole answer as JSON
Example: npm run ctl -- query 'interfaces: in-octets' --rate --by site --last 24h`;

/** Raised for bad arguments (exit code 2). */
export class QueryUsageError extends Error {}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

function parseTime(text: string, name: string): number {
  const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(ms)) throw new QueryUsageError(`--${name}: an ISO time or milliseconds, not ${JSON.stringify(text)}`);
  return ms;
}

/** The fleet query the arguments describe. */
export function queryFromArgs(argv: string[], now = Date.now()): { query: FleetQuery; json: boolean } {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      rate: { type: 'boolean' },
      agg: { type: 'string' },
      by: { type: 'string' },
      top: { type: 'string' },
      bottom: { type: 'string' },
      last: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      width: { type: 'string' },
      device: { type: 'string', multiple: true },
      json: { type: 'boolean' },
    },
  });
  if (positionals.length !== 1) throw new QueryUsageError('query: give one path pattern or metric (quote it)');
  const to = values.to !== undefined ? parseTime(values.to, 'to') : now;
  let from: number;
  if (values.from !== undefined) from = parseTime(values.from, 'from');
  else {
    const m = /^(\d+)([smhd])$/.exec(values.last ?? '1h');
    if (!m) throw new QueryUsageError(`--last: a duration such as 15m, 1h, 24h or 7d, not ${JSON.stringify(values.last)}`);
    from = to - Number(m[1]) * UNITS[m[2]];
  }
  const int = (v: string | undefined) => (v === undefined ? undefined : Number(v));
  const query = {
    path: positionals[0],
    from,
    to,
    rate: Boolean(values.rate),
    agg: values.agg,
    groupBy: values.by,
    top: int(values.top),
    bottom: int(values.bottom),
    widthPx: int(values.width),
    deviceIds: values.device?.map(Number),
  };
  const parsed = FleetQuerySchema.safeParse(query);
  if (!parsed.success) throw new QueryUsageError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  return { query: parsed.data, json: Boolean(values.json) };
}

const num = (v: number | null | undefined) => (v === null || v === undefined ? '-' : Math.abs(v) >= 1e6 || (v !== 0 && Math.abs(v) < 0.01) ? v.toExponential(3) : String(Math.round(v * 100) / 100));

/** One line per group: key, series, mean, min, max and newest value over the range. */
export function queryTable(result: FleetResult): string {
  const rows = [[result.groupBy ? result.groupBy.toUpperCase() : 'AGGREGATE', 'SERIES', 'MEAN', 'MIN', 'MAX', 'NEWEST']];
  for (const g of result.groups) {
    const values = g.points.filter((p) => p.v !== null).map((p) => p.v as number);
    rows.push([g.key, String(g.series), num(g.mean), num(values.length ? Math.min(...values) : null), num(values.length ? Math.max(...values) : null), num(values.at(-1))]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const lines = rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '));
  const what = `${result.agg}${result.rate ? ' of per-second rates' : ''} over ${result.seriesCount} series, ${result.resolution} data in ${result.bucketMs / 1000} s steps`;
  const shown = result.groups.length < result.groupCount ? `; ${result.groups.length} of ${result.groupCount} groups` : '';
  return `${lines.join('\n')}\n${what}${shown}`;
}

/** Run `ctl query`: returns the exit code (0 answered, 2 usage, 3 nothing matched). */
export async function runQueryCommand(db: Queryable, argv: string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  try {
    const { query, json } = queryFromArgs(argv);
    const result = await queryFleet(db, query);
    out(json ? JSON.stringify(result, null, 2) : queryTable(result));
    return result.seriesCount === 0 ? 3 : 0;
  } catch (e) {
    if (e instanceof QueryUsageError || e instanceof QueryRefusedError || e instanceof PathSyntaxError || e instanceof ZodError || (e as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      err(`${(e as Error).message}\n\n${QUERY_HELP}`);
      return 2;
    }
    throw e;
  }
}

/** `ctl query` as a process: a small pool on DATABASE_URL, closed afterwards. */
export async function queryMain(argv: string[]): Promise<number> {
  const { loadConfig } = await import('../core/config');
  const { createPool, queryConnectionSettings, withServerSettings } = await import('../storage/pool');
  if (argv.includes('-h') || argv.includes('--help')) {
    console.log(QUERY_HELP);
    return 0;
  }
  const config = loadConfig();
  const pool = createPool(withServerSettings(config.DATABASE_URL, queryConnectionSettings(config)), 2);
  try {
    return await runQueryCommand(pool, argv, (s) => console.log(s), (s) => console.error(s));
  } finally {
    await pool.end();
  }
}
