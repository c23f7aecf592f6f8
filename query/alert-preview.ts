/**
 * The rule editor's preview (issue 18): what a threshold rule would have done over the
 * last 24 h. ONE fleet query over the whole range (a series of steps per group, at the
 * rule's evaluation interval, or coarser when that would be more than MAX_PREVIEW_STEPS
 * steps or past the query budget — the answer says which and why), then the pure replay
 * of core/alert-preview.ts runs the workflow's state machine over those steps.
 */
import { replayThreshold, type PreviewReplay } from '../core/alert-preview';
import type { AlertRuleDefinition, ThresholdSpec } from '../core/alert-rules';
import { QueryRefusedError, queryFleet, type FleetQueryCost } from './fleet-query';
import { MINUTE_MS, type Queryable, type Resolution } from './router';

/** How far back a preview looks. */
export const PREVIEW_RANGE_MS = 86_400_000;
/** Most evaluations one preview replays (every 30 s over 24 h). */
export const MAX_PREVIEW_STEPS = 2880;

/** A preview: the replay plus what was read and why the step may differ from the rule's interval. */
export interface AlertPreview extends PreviewReplay {
  from: number;
  to: number;
  intervalMs: number;
  resolution: Resolution;
  seriesCount: number;
  /** Set when the replay steps more coarsely than the rule evaluates: the reason in words. */
  coarser?: string;
}

/** The parts of a rule a preview needs (a form's rule need not be saved). */
export type PreviewableRule = Pick<AlertRuleDefinition, 'forMs' | 'intervalMs'> & { spec: ThresholdSpec };

/**
 * Preview a threshold rule over the PREVIEW_RANGE_MS before `now`. `budget` is the caller's
 * query budget (the web app's WEB_QUERY_MAX_POINTS): a raw-data read over it is retried once
 * at 1-minute steps (rollups); refused at those too, it throws QueryRefusedError.
 */
export async function previewAlertRule(
  db: Queryable,
  rule: PreviewableRule,
  opts: { now?: number; budget?: (cost: FleetQueryCost) => string | undefined } = {},
): Promise<AlertPreview> {
  const to = opts.now ?? Date.now();
  const from = to - PREVIEW_RANGE_MS;
  const wanted = Math.ceil(PREVIEW_RANGE_MS / rule.intervalMs);
  let widthPx = Math.min(wanted, MAX_PREVIEW_STEPS);
  let coarser = wanted > MAX_PREVIEW_STEPS ? `${wanted.toLocaleString('en-US')} evaluations would be too many to replay (at most ${MAX_PREVIEW_STEPS.toLocaleString('en-US')})` : undefined;
  const query = (width: number) =>
    queryFleet(db, { path: rule.spec.path, rate: rule.spec.rate, agg: rule.spec.agg, groupBy: rule.spec.groupBy, from, to, widthPx: width }, { budget: opts.budget });
  let res;
  try {
    res = await query(widthPx);
  } catch (err) {
    const oneMinute = Math.round(PREVIEW_RANGE_MS / MINUTE_MS);
    if (!(err instanceof QueryRefusedError) || !opts.budget || widthPx <= oneMinute) throw err;
    // Raw samples over the budget: 1-minute rollups read 60 times fewer rows.
    widthPx = oneMinute;
    coarser = `raw data over 24 h would pass the query budget, so 1-minute rollups were read (${err.message})`;
    res = await query(widthPx);
  }
  // A step is evaluated at its end: the one still under way at `to` is not (yet) an evaluation.
  const groups = res.groups.map((g) => ({ key: g.key, points: g.points.filter((pt) => pt.t + res.bucketMs <= to) }));
  const replay = replayThreshold({ spec: rule.spec, forMs: rule.forMs }, groups, res.bucketMs);
  if (!coarser && res.bucketMs !== rule.intervalMs) coarser = `the query router's nearest step to the interval (${res.resolution === 'raw' ? 'raw samples' : `${res.resolution} rollups`})`;
  return { ...replay, from: res.from, to, intervalMs: rule.intervalMs, resolution: res.resolution, seriesCount: res.seriesCount, coarser };
}
