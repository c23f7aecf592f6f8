/** GET /api/series?series=ID&from=ms&to=ms&rate=0|1 → { points, last } (history of one series). */
import { data } from 'react-router';
import { z } from 'zod';
import type { Route } from './+types/api.series';
import { ctx } from '../lib/context.server';
import { seriesHistory } from '../lib/history.server';

const Query = z.object({
  series: z.coerce.number().int().positive(),
  from: z.coerce.number().nonnegative(),
  to: z.coerce.number().nonnegative(),
  rate: z.enum(['0', '1']).default('0'),
});

export async function loader({ request }: Route.LoaderArgs) {
  const parsed = Query.safeParse(Object.fromEntries(new URL(request.url).searchParams));
  if (!parsed.success) return data({ error: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') }, 400);
  const { series, from, to, rate } = parsed.data;
  const { pool } = ctx();
  const points = await seriesHistory(pool, series, from, to, { rate: rate === '1' });
  const lastRow = await pool.query<{ t: number; v: number }>(
    `SELECT (extract(epoch FROM time) * 1000)::float8 AS t, value AS v FROM samples WHERE series_id = $1 ORDER BY time DESC LIMIT 1`,
    [series],
  );
  return { points, last: lastRow.rows[0] };
}
