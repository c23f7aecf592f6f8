/** GET /api/paths?device=ID&q=prefix → { paths } — path-picker suggestions from the series dictionary. Signed-in users only. */
import { z } from 'zod';
import type { Route } from './+types/api.paths';
import { requireApiUser } from '../lib/auth.server';
import { ctx } from '../lib/context.server';
import { pathSuggestions } from '../lib/series.server';

const Query = z.object({
  device: z.coerce.number().int().positive().optional().catch(undefined),
  q: z.string().max(1024).optional(),
});

export async function loader({ request }: Route.LoaderArgs) {
  await requireApiUser(request);
  const q = Query.parse(Object.fromEntries(new URL(request.url).searchParams));
  return { paths: await pathSuggestions(ctx().db, { deviceId: q.device, prefix: q.q }) };
}
