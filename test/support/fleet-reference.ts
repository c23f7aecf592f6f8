/**
 * References for fleet-query tests, computed from raw rows in the test (issue 17): what a
 * fleet rate at 1-minute steps should be, worked out the straightforward way.
 */
import { counterIncrease } from '../../query/rate';
import { MINUTE_MS, type Queryable } from '../../query/router';

/** Raw rows of every series: time (ms) and value, in time order. */
export async function rawRows(db: Queryable): Promise<Map<number, Array<{ t: number; v: number }>>> {
  const res = await db.query<{ s: string; t: number; v: number }>(
    `SELECT series_id AS s, (extract(epoch FROM time) * 1000)::float8 AS t, value AS v FROM samples ORDER BY series_id, time`,
  );
  const out = new Map<number, Array<{ t: number; v: number }>>();
  for (const r of res.rows) {
    const list = out.get(Number(r.s)) ?? [];
    list.push({ t: Number(r.t), v: Number(r.v) });
    out.set(Number(r.s), list);
  }
  return out;
}

/**
 * The reference at 1-minute steps with the default maxGapMs (2 minutes): per series (`series`, in
 * the order `groupOf` numbers them) the last value of each minute from `from` − 2 minutes to `to`
 * (no sample after `to` counts); the rate of a minute over the series' previous minute with a
 * value, when at most 2 minutes before and not a reset, per second of the minutes between; it
 * stands for its minute and the empty one before it when the previous is 2 minutes back. Summed,
 * averaged or counted per group and step; a group's mean is over its steps with a value.
 */
export function fleetRateReference(
  raw: Map<number, Array<{ t: number; v: number }>>,
  series: ReadonlyArray<{ id: number }>,
  q: { from: number; to: number; agg: 'sum' | 'avg' | 'count'; groupOf: (k: number) => string; top?: number },
) {
  const gapMs = 2 * MINUTE_MS;
  const perGroup = new Map<string, { series: number; steps: Map<number, number[]> }>();
  series.forEach((s, k) => {
    const g = q.groupOf(k);
    const group = perGroup.get(g) ?? { series: 0, steps: new Map<number, number[]>() };
    perGroup.set(g, group);
    group.series++;
    const lastOfMinute = new Map<number, number>();
    for (const r of raw.get(s.id) ?? []) {
      const minute = Math.floor(r.t / MINUTE_MS) * MINUTE_MS;
      if (minute >= q.from - gapMs && r.t <= q.to) lastOfMinute.set(minute, r.v);
    }
    const minutes = [...lastOfMinute.keys()].sort((a, b) => a - b);
    for (let i = 1; i < minutes.length; i++) {
      const [pb, b] = [minutes[i - 1], minutes[i]];
      const increase = counterIncrease(lastOfMinute.get(pb)!, lastOfMinute.get(b)!);
      if (b - pb > gapMs || increase === undefined) continue;
      for (let step = b; step > pb && step >= b - gapMs + MINUTE_MS; step -= MINUTE_MS) {
        if (step >= q.from) group.steps.set(step, [...(group.steps.get(step) ?? []), (increase * 1000) / (b - pb)]);
      }
    }
  });
  const groups = [...perGroup.entries()].map(([key, { series, steps }]) => {
    const points: Array<{ t: number; v: number | null }> = [];
    for (let t = q.from; t <= q.to; t += MINUTE_MS) {
      const vs = steps.get(t);
      const sum = vs?.reduce((a, b) => a + b, 0);
      points.push({ t, v: vs === undefined ? null : q.agg === 'count' ? vs.length : q.agg === 'avg' ? sum! / vs.length : sum! });
    }
    const values = points.flatMap((p) => (p.v === null ? [] : [p.v]));
    return { key, series, mean: values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length, points };
  });
  groups.sort((a, b) => (a.key < b.key ? -1 : 1));
  if (q.top === undefined) return groups;
  return groups.sort((a, b) => (b.mean ?? -Infinity) - (a.mean ?? -Infinity) || (a.key < b.key ? -1 : 1)).slice(0, q.top);
}

/** Equal to 1e-9 relative (the order of floating-point additions differs between the database and the reference), or both null. */
export const near = (a: number | null, b: number | null) => (a === null || b === null ? a === b : Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b)));
