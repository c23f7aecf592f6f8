/**
 * GET /api/paths?device=ID&q=prefix → { paths } — path-picker suggestions from the series dictionary.
 * With &match=pattern also { match: { count, truncated, text, series } }: what a widget on that
 * pattern would chart (the widget editor's live preview), or { match: { error } } for a bad pattern.
 * Signed-in users only.
 */
import { z } from 'zod';
import type { Route } from './+types/api.paths';
import { requireApiUser } from '../lib/auth.server';
import { ctx } from '../lib/context.server';
import { countTextSeries, pathSuggestions, resolveWidgetSeries } from '../lib/series.server';

const Query = z.object({
  device: z.coerce.number().int().positive().optional().catch(undefined),
  q: z.string().max(1024).optional(),
  match: z.string().max(1024).optional(),
});

/** The series a widget on `pattern` would chart: the first 50, how many, and how many text leaves match instead. */
async function matchPreview(deviceId: number | null, pattern: string) {
  const { db } = ctx();
  try {
    const { series, truncated } = await resolveWidgetSeries(db, deviceId, pattern, 50);
    const text = series.length === 0 ? await countTextSeries(db, deviceId, pattern) : 0;
    return { count: series.length, truncated, text, series: series.map(({ id, label, deviceName }) => ({ id, label, deviceName })) };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

export async function loader({ request }: Route.LoaderArgs) {
  await requireApiUser(request);
  const q = Query.parse(Object.fromEntries(new URL(request.url).searchParams));
  if (q.match !== undefined) {
    const match = q.match.trim() === '' ? { count: 0, truncated: false, text: 0, series: [] } : await matchPreview(q.device ?? null, q.match.trim());
    return { paths: [] as string[], match };
  }
  return { paths: await pathSuggestions(ctx().db, { deviceId: q.device, prefix: q.q }) };
}
