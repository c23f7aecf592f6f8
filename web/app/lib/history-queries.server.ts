/** The per-user bound on concurrent history queries of /api/series (WEB_QUERIES_PER_USER; ADR 052). */
import { ctx } from './context.server';
import { ConcurrencyLimit } from './query-budget';

/** One limiter per web process, keyed by user id. */
export const historyQueries = new ConcurrencyLimit(() => ctx().config.WEB_QUERIES_PER_USER);
