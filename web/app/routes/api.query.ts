/**
 * POST /api/query, body: a fleet query as JSON (query/fleet-query.ts, docs/queries.md)
 *   → { resolution, bucketMs, from, to, agg, rate, groupBy, seriesCount, groupCount, groups: [{ key, series, mean, points }] }
 * Aggregation, grouping and top/bottom N across series, computed in the database.
 * Signed-in users only; the body must be `application/json` (so a page of another
 * site cannot send it without the browser asking first). Errors are `{ error }`:
 * 400 invalid JSON or query (naming each field), 415 another content type, 422
 * refused by a budget (too many series or groups, or more rows read than
 * WEB_QUERY_MAX_POINTS — the message says what to change), 429 too many of the
 * user's history queries at once, 503 statement timeout.
 */
import { data } from 'react-router';
import { ZodError } from 'zod';
import type { Route } from './+types/api.query';
import { requireApiUser } from '../lib/auth.server';
import { ctx } from '../lib/context.server';
import { FleetQuerySchema, QueryRefusedError, queryFleet } from '../../../query/fleet-query';
import { PathSyntaxError } from '../../../core/path';
import { overBudget } from '../lib/query-budget';
import { historyQueries } from '../lib/history-queries.server';

const zodMessage = (err: ZodError) => err.issues.map((i) => `${i.path.join('.') || 'query'}: ${i.message}`).join('; ');

export async function loader() {
  return data({ error: 'POST a fleet query as JSON (see docs/queries.md).' }, { status: 405, headers: { Allow: 'POST' } });
}

export async function action({ request }: Route.ActionArgs) {
  if (request.method !== 'POST') return data({ error: 'POST a fleet query as JSON.' }, { status: 405, headers: { Allow: 'POST' } });
  const user = await requireApiUser(request);
  if (!/^application\/json\b/i.test(request.headers.get('content-type') ?? '')) {
    return data({ error: 'send the query as Content-Type: application/json' }, 415);
  }
  let body: unknown;
  try {
    body = JSON.parse(await request.text());
  } catch (err) {
    return data({ error: `invalid JSON: ${(err as Error).message}` }, 400);
  }
  const parsed = FleetQuerySchema.safeParse(body);
  if (!parsed.success) return data({ error: zodMessage(parsed.error) }, 400);
  if (parsed.data.resolution !== 'auto') return data({ error: 'resolution: only "auto" here (the budget assumes the router\'s choice)' }, 400);
  const { pool, config } = ctx();
  const release = await historyQueries.enter(user.id);
  if (!release) {
    return data({ error: `You already have ${config.WEB_QUERIES_PER_USER} history queries running and more waiting; wait for them to finish.` }, { status: 429, headers: { 'Retry-After': '2' } });
  }
  try {
    return await queryFleet(pool, parsed.data, {
      // What the chosen sources read (pre-aggregated rates, ranked candidates), not series × range (ADR 175).
      budget: (c) => overBudget(c.seriesCount, c.from, c.to, c.widthPx, config.WEB_QUERY_MAX_POINTS, c.rowsRead),
    });
  } catch (err) {
    if (err instanceof QueryRefusedError) return data({ error: err.message }, 422);
    if (err instanceof PathSyntaxError) return data({ error: `path: ${err.message}` }, 400);
    if (err instanceof ZodError) return data({ error: zodMessage(err) }, 400);
    if ((err as { code?: string }).code === '57014') {
      return data({ error: `The query took longer than ${config.WEB_STATEMENT_TIMEOUT_MS} ms and was cancelled; ask for a coarser range, fewer series or top N.` }, 503);
    }
    throw err;
  } finally {
    release();
  }
}
