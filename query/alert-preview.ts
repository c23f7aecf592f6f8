/**
 * The rule editor's preview (issue 18): what a rule would have done over the last 24 h,
 * replayed by the pure code of core/alert-preview.ts with the workflow's own state machine.
 *  - threshold: ONE fleet query over the whole range (a series of steps per group, at the
 *    rule's evaluation interval, or coarser when that would be more than MAX_PREVIEW_STEPS
 *    steps or past the query budget — the answer says which and why);
 *  - absence: ONE fleet query of the same shape counting each device's samples per step
 *    (count by device, no gap filling), the same budget and fallback to 1-minute rollups;
 *  - session: the recorded changes of the session-state mirror (device_session_state_changes,
 *    written by a trigger on the mirror) over the range and the state each device was in at
 *    its start.
 */
import { replayAbsence, replaySession, replayThreshold, type PreviewReplay, type SessionStateChange } from '../core/alert-preview';
import type { AlertRuleDefinition, AlertSpec } from '../core/alert-rules';
import { QueryRefusedError, queryFleet, type FleetQuery, type FleetQueryCost, type FleetResult } from './fleet-query';
import { MINUTE_MS, chooseResolution, type Queryable, type Resolution } from './router';

/** How far back a preview looks. */
export const PREVIEW_RANGE_MS = 86_400_000;
/** Most evaluations one preview replays (every 30 s over 24 h). */
export const MAX_PREVIEW_STEPS = 2880;

/**
 * Steps one statement of a preview's fleet query covers (6 h at 1-minute steps): the range is
 * read in consecutive statements of at most this many steps, each well within the web app's
 * statement timeout and its sorts within work_mem, instead of one statement over the day.
 */
export const PREVIEW_CHUNK_STEPS = 360;

/** Most recorded session-state changes one preview reads. */
export const MAX_PREVIEW_STATE_CHANGES = 200_000;

/** A preview: the replay plus what was read and why the step may differ from the rule's interval. */
export interface AlertPreview extends PreviewReplay {
  kind: AlertSpec['kind'];
  from: number;
  to: number;
  intervalMs: number;
  resolution: Resolution;
  seriesCount: number;
  /** Set when the replay steps more coarsely than the rule evaluates: the reason in words. */
  coarser?: string;
  /** What the replay could not see exactly (e.g. session states recorded only since a time), in words. */
  caveat?: string;
}

/** The parts of a rule a preview needs (a form's rule need not be saved). */
export type PreviewableRule = Pick<AlertRuleDefinition, 'forMs' | 'intervalMs' | 'spec'>;

/** The step a preview wants for `intervalMs`, and why it is coarser when it is. */
function wantedSteps(intervalMs: number): { widthPx: number; coarser?: string } {
  const wanted = Math.ceil(PREVIEW_RANGE_MS / intervalMs);
  if (wanted <= MAX_PREVIEW_STEPS) return { widthPx: wanted };
  return { widthPx: MAX_PREVIEW_STEPS, coarser: `${wanted.toLocaleString('en-US')} evaluations would be too many to replay (at most ${MAX_PREVIEW_STEPS.toLocaleString('en-US')})` };
}

/**
 * One fleet query over the range at the wanted width; a raw-data read over `budget` is retried
 * once at 1-minute steps (rollups), saying so in `coarser`; refused at those too, QueryRefusedError.
 */
async function fleetOverRange(
  db: Queryable,
  q: Omit<FleetQuery, 'from' | 'to' | 'widthPx'>,
  intervalMs: number,
  from: number,
  to: number,
  budget?: (cost: FleetQueryCost) => string | undefined,
  chunkSteps = PREVIEW_CHUNK_STEPS,
): Promise<{ res: FleetResult; coarser?: string }> {
  let { widthPx, coarser } = wantedSteps(intervalMs);
  const query = (width: number) => chunkedFleet(db, q, from, to, width, budget, chunkSteps);
  let res;
  try {
    res = await query(widthPx);
  } catch (err) {
    const oneMinute = Math.round(PREVIEW_RANGE_MS / MINUTE_MS);
    if (!(err instanceof QueryRefusedError) || !budget || widthPx <= oneMinute) throw err;
    // Raw samples over the budget: 1-minute rollups read 60 times fewer rows.
    widthPx = oneMinute;
    coarser = `raw data over 24 h would pass the query budget, so 1-minute rollups were read (${err.message})`;
    res = await query(widthPx);
  }
  if (!coarser && res.bucketMs !== intervalMs) coarser = `the query router's nearest step to the interval (${res.resolution === 'raw' ? 'raw samples' : `${res.resolution} rollups`})`;
  // A step is evaluated at its end: the one still under way at `to` is not (yet) an evaluation.
  const groups = res.groups.map((g) => ({ ...g, points: g.points.filter((pt) => pt.t + res.bucketMs <= to) }));
  return { res: { ...res, groups }, coarser };
}

/**
 * The fleet query over [from, to] at `widthPx` steps, read in consecutive statements of at most
 * `chunkSteps` steps (see PREVIEW_CHUNK_STEPS) with the step and resolution the whole range gets,
 * merged into one answer as one statement would give it. The budget sees the whole range: its
 * from, to and width, and each statement's rows read times the number of statements.
 */
async function chunkedFleet(
  db: Queryable,
  q: Omit<FleetQuery, 'from' | 'to' | 'widthPx'>,
  from: number,
  to: number,
  widthPx: number,
  budget: ((cost: FleetQueryCost) => string | undefined) | undefined,
  chunkSteps: number,
): Promise<FleetResult> {
  const chunks = Math.ceil(widthPx / Math.max(1, chunkSteps));
  if (chunks <= 1) return queryFleet(db, { ...q, from, to, widthPx }, { budget });
  const chosen = chooseResolution(from, to, widthPx);
  const step = Math.max(1000, chosen.bucketMs);
  const start = Math.floor(from / step) * step;
  const span = Math.ceil((to - start) / step / chunks) * step;
  const wholeRange = budget && ((c: FleetQueryCost) => budget({ ...c, from, to, widthPx, rowsRead: c.rowsRead * chunks }));
  // A value stands for empty steps up to maxGapMs before it (fleet-query.ts): each part reads that far past its end.
  const reach = q.maxGapMs ?? Math.max(2 * step, 30_000);
  const values = new Map<string, Map<number, number | null>>();
  let first: FleetResult | undefined;
  for (let a = start; a < to; a += span) {
    const b = Math.min(a + span - 1, to);
    const readTo = Math.min(b + reach, to);
    const part = await queryFleet(db, { ...q, from: a, to: readTo, widthPx: Math.max(1, Math.ceil((readTo - a + 1) / step)), resolution: chosen.resolution }, { budget: wholeRange });
    if (part.bucketMs !== step) throw new Error(`preview: a part's step ${part.bucketMs} ms differs from the range's ${step} ms`);
    first ??= part;
    for (const g of part.groups) {
      let m = values.get(g.key);
      if (!m) values.set(g.key, (m = new Map()));
      for (const pt of g.points) if (pt.t <= b) m.set(pt.t, pt.v);
    }
  }
  const times: number[] = [];
  for (let t = start; t <= to; t += step) times.push(t);
  const keys = [...values.keys()].sort();
  return {
    ...first!,
    from: start,
    to,
    groupCount: keys.length,
    groups: keys.map((key) => ({ key, series: first!.groups.find((g) => g.key === key)?.series ?? 0, mean: null, points: times.map((t) => ({ t, v: values.get(key)!.get(t) ?? null })) })),
  };
}

/**
 * Preview a rule over the PREVIEW_RANGE_MS before `now`. `budget` is the caller's query budget
 * (the web app's WEB_QUERY_MAX_POINTS) for the fleet queries of threshold and absence rules:
 * see fleetOverRange.
 */
export async function previewAlertRule(
  db: Queryable,
  rule: PreviewableRule,
  opts: { now?: number; budget?: (cost: FleetQueryCost) => string | undefined; /** Steps per statement (benchmarks compare); default PREVIEW_CHUNK_STEPS. */ chunkSteps?: number } = {},
): Promise<AlertPreview> {
  const to = opts.now ?? Date.now();
  const from = to - PREVIEW_RANGE_MS;
  const spec = rule.spec;
  if (spec.kind === 'threshold') {
    const { res, coarser } = await fleetOverRange(db, { path: spec.path, rate: spec.rate, agg: spec.agg, groupBy: spec.groupBy }, rule.intervalMs, from, to, opts.budget, opts.chunkSteps);
    const replay = replayThreshold({ spec, forMs: rule.forMs }, res.groups, res.bucketMs);
    return { ...replay, kind: spec.kind, from: res.from, to, intervalMs: rule.intervalMs, resolution: res.resolution, seriesCount: res.seriesCount, coarser };
  }
  if (spec.kind === 'absence') {
    // Samples per device and step; no value may stand for a later empty step (maxGapMs 0): a step without samples is silence.
    const { res, coarser } = await fleetOverRange(db, { path: spec.path, agg: 'count', groupBy: 'device', maxGapMs: 0 }, rule.intervalMs, from, to, opts.budget, opts.chunkSteps);
    const replay = replayAbsence({ spec, forMs: rule.forMs }, res.groups, res.bucketMs, res.from);
    const caveat =
      spec.silentMs % res.bucketMs === 0
        ? undefined
        : `the silence (${spec.silentMs / 1000} s) is not a whole number of steps (${res.bucketMs / 1000} s): a device's newest sample is taken at the end of its step, so silences are seen up to a step late or short`;
    return { ...replay, kind: spec.kind, from: res.from, to, intervalMs: rule.intervalMs, resolution: res.resolution, seriesCount: res.seriesCount, coarser, caveat };
  }
  const { widthPx, coarser } = wantedSteps(rule.intervalMs);
  const stepMs = Math.ceil(PREVIEW_RANGE_MS / widthPx);
  const { devices, recordedSince } = await sessionStateHistory(db, from, to);
  const replay = replaySession({ spec, forMs: rule.forMs }, devices, stepMs, from, to);
  const caveat =
    recordedSince === null
      ? 'no session state change has been recorded yet'
      : recordedSince > from
        ? `session states are recorded since ${new Date(recordedSince).toISOString()}; before that the devices count as without a session`
        : undefined;
  return { ...replay, kind: spec.kind, from, to, intervalMs: rule.intervalMs, resolution: 'raw', seriesCount: 0, coarser, caveat };
}

/**
 * Each existing device's recorded session-state changes (device_session_state_changes) in
 * (from, to], after the state it was in at `from` (its newest change at or before it), oldest
 * first; and when the record begins (its oldest row), or null when it is empty.
 */
async function sessionStateHistory(db: Queryable, from: number, to: number): Promise<{ devices: Map<string, SessionStateChange[]>; recordedSince: number | null }> {
  const { rows } = await db.query<{ name: string; at: number; state: string | null }>(
    `WITH c AS (
       (SELECT DISTINCT ON (device_id) device_id, at, state FROM device_session_state_changes
         WHERE at <= to_timestamp($1::float8 / 1000) ORDER BY device_id, at DESC, id DESC)
       UNION ALL
       (SELECT device_id, at, state FROM device_session_state_changes
         WHERE at > to_timestamp($1::float8 / 1000) AND at <= to_timestamp($2::float8 / 1000))
     )
     SELECT d.name, (extract(epoch FROM c.at) * 1000)::float8 AS at, c.state
       FROM c JOIN devices d ON d.id = c.device_id
      ORDER BY d.name, c.at
      LIMIT $3`,
    [from, to, MAX_PREVIEW_STATE_CHANGES + 1],
  );
  if (rows.length > MAX_PREVIEW_STATE_CHANGES) {
    throw new QueryRefusedError(`more than ${MAX_PREVIEW_STATE_CHANGES.toLocaleString('en-US')} session state changes over 24 h: too many to replay`);
  }
  const devices = new Map<string, SessionStateChange[]>();
  for (const r of rows) {
    const list = devices.get(r.name) ?? [];
    list.push({ at: Number(r.at), state: r.state });
    devices.set(r.name, list);
  }
  const first = await db.query<{ t: number | null }>(`SELECT (extract(epoch FROM min(at)) * 1000)::float8 AS t FROM device_session_state_changes`);
  const t = first.rows[0]?.t;
  return { devices, recordedSince: t === null || t === undefined ? null : Number(t) };
}
