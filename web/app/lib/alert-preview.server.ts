/**
 * The rule editor's 24 h preview in the web process (issue 18): query/alert-preview.ts
 * under the history-query budgets every other history read has (ADR 052) — at most
 * WEB_QUERIES_PER_USER at once per user, WEB_QUERY_MAX_POINTS estimated points, the
 * statement timeout — with each refusal in words. Used by the rule form's Preview button
 * and POST /api/alert-rules/preview.
 */
import type { AlertSpec } from '../../../core/alert-rules';
import { PathSyntaxError } from '../../../core/path';
import { previewAlertRule, type AlertPreview } from '../../../query/alert-preview';
import { QueryRefusedError } from '../../../query/fleet-query';
import { ctx } from './context.server';
import { historyQueries } from './history-queries.server';
import { overBudget } from './query-budget';

/** A preview, or why there is none (`status`: the HTTP status the API answers with). */
export type PreviewOutcome = { ok: true; preview: AlertPreview } | { ok: false; status: 400 | 422 | 429 | 503; error: string };

/** Preview a validated rule for `userId` (see the module comment). */
export async function previewRuleForUser(userId: number, rule: { spec: AlertSpec; forMs: number; intervalMs: number }): Promise<PreviewOutcome> {
  const { pool, config } = ctx();
  const release = await historyQueries.enter(userId);
  if (!release) return { ok: false, status: 429, error: `You already have ${config.WEB_QUERIES_PER_USER} history queries running and more waiting; try the preview again when they finish.` };
  try {
    const preview = await previewAlertRule(pool, { spec: rule.spec, forMs: rule.forMs, intervalMs: rule.intervalMs }, {
      budget: (c) => overBudget(c.seriesCount, c.from, c.to, c.widthPx, config.WEB_QUERY_MAX_POINTS),
    });
    return { ok: true, preview };
  } catch (err) {
    if (err instanceof QueryRefusedError) return { ok: false, status: 422, error: `Preview refused: ${err.message}` };
    if (err instanceof PathSyntaxError) return { ok: false, status: 400, error: `path: ${err.message}` };
    if ((err as { code?: string }).code === '57014') {
      return { ok: false, status: 503, error: `The preview's query took longer than ${config.WEB_STATEMENT_TIMEOUT_MS} ms and was cancelled; narrow the path or group coarser.` };
    }
    throw err;
  } finally {
    release();
  }
}
