/**
 * GET /api/series?series=1,2,3&from=ms&to=ms&rate=0|1&width=px
 *   → { series: { [id]: { points, last } }, resolution, bucketMs }
 * History of up to 500 series in one request, through the query router (raw,
 * 1-minute or 1-hour data for about one point per pixel; counters as rates;
 * gaps as nulls). `last` is each series' newest raw sample, from which live
 * rates continue. Signed-in users only. Budgets: the points a request would
 * scan are estimated first (over WEB_QUERY_MAX_POINTS: 422 naming a coarser
 * range), each user runs at most WEB_QUERIES_PER_USER at once (more wait their
 * turn; 429 past 16 waiting), and every
 * statement is cut at WEB_STATEMENT_TIMEOUT_MS (503).
 */
import { data } from 'react-router';
import { z } from 'zod';
import type { Route } from './+types/api.series';
import { requireApiUser } from '../lib/auth.server';
import { ctx } from '../lib/context.server';
import { MAX_SERIES, querySeries } from '../../../query/router';
import { lastSamplesAtOrBefore } from '../../../storage/newest-points';
import { overBudget } from '../lib/query-budget';
import { historyQueries } from '../lib/history-queries.server';

const Query = z.object({
  series: z
    .string()
    .regex(/^\d+(,\d+)*$/, 'a comma-separated list of series ids')
    .transform((s) => [...new Set(s.split(',').map(Number))])
    .refine((ids) => ids.length <= MAX_SERIES, `at most ${MAX_SERIES} series`),
  from: z.coerce.number().nonnegative(),
  to: z.coerce.number().nonnegative(),
  rate: z.enum(['0', '1']).default('0'),
  width: z.coerce.number().int().min(10).max(4000).default(1000),
});


export async function loader({ request }: Route.LoaderArgs) {
  const user = await requireApiUser(request);
  const parsed = Query.safeParse(Object.fromEntries(new URL(request.url).searchParams));
  if (!parsed.success) return data({ error: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') }, 400);
  const { series, from, to, rate, width } = parsed.data;
  if (!(to > from)) return data({ error: 'to must be after from' }, 400);
  const { pool, config } = ctx();
  const tooBig = overBudget(series.length, from, to, width, config.WEB_QUERY_MAX_POINTS);
  if (tooBig) return data({ error: tooBig }, 422);
  const release = await historyQueries.enter(user.id);
  if (!release) {
    return data({ error: `You already have ${config.WEB_QUERIES_PER_USER} history queries running and more waiting; wait for them to finish.` }, { status: 429, headers: { 'Retry-After': '2' } });
  }
  try {
    return await history(pool, series, from, to, rate === '1', width);
  } catch (err) {
    if ((err as { code?: string }).code === '57014') {
      return data({ error: `The query took longer than ${config.WEB_STATEMENT_TIMEOUT_MS} ms and was cancelled; ask for a coarser range or fewer series.` }, 503);
    }
    throw err;
  } finally {
    release();
  }
}

async function history(pool: ReturnType<typeof ctx>['pool'], series: number[], from: number, to: number, rate: boolean, width: number) {
  const result = await querySeries(pool, { seriesIds: series, from, to, widthPx: width, rate, agg: 'avg' });
  const last = await lastSamplesAtOrBefore(pool, series, to);
  const lastBy = new Map(last.map((r) => [Number(r.s), { t: r.t, v: r.v }]));
  const out: Record<string, { points: Array<{ t: number; v: number | null }>; last: { t: number; v: number } | null }> = {};
  for (const s of result.series) out[String(s.seriesId)] = { points: s.points, last: lastBy.get(s.seriesId) ?? null };
  return { series: out, resolution: result.resolution, bucketMs: result.bucketMs };
}
