/** State panels of text leaves (oper-status, admin-status): bands of equal value over time and the current state (pure, browser-safe). */

export interface StateRow {
  t: number;
  v: string | null;
}

export interface StateBand {
  from: number;
  to: number;
  value: string;
}

/**
 * Bands over [from, end] from a series' states, oldest first: each value lasts until the
 * next different one (repeats of a value extend its band); the last lasts until `end`
 * (the window's end, or now when sooner). A state before the window is clipped to its start;
 * null (the leaf deleted) ends a band without starting one.
 */
export function stateBands(rows: StateRow[], from: number, end: number): StateBand[] {
  const bands: StateBand[] = [];
  let open: { from: number; value: string } | undefined;
  const close = (t: number) => {
    if (open && t > Math.max(open.from, from)) bands.push({ from: Math.max(open.from, from), to: Math.min(t, end), value: open.value });
    open = undefined;
  };
  for (const r of rows) {
    if (r.t > end) break;
    if (open && r.v === open.value) continue;
    close(r.t);
    if (r.v !== null) open = { from: r.t, value: r.v };
  }
  close(end);
  return bands;
}

/** The current state and since when it holds (the start of its run of equal values); undefined without any. */
export function currentState(rows: StateRow[]): { value: string | null; since: number } | undefined {
  if (rows.length === 0) return undefined;
  const last = rows[rows.length - 1];
  let since = last.t;
  for (let i = rows.length - 2; i >= 0 && rows[i].v === last.v; i--) since = rows[i].t;
  return { value: last.v, since };
}

/** Colour of a state: up/down-like words as green/red, others from a fixed palette by name. */
export function stateColour(value: string): string {
  const v = value.toLowerCase();
  if (/^(up|active|enabled|true|ok|established)$/.test(v)) return '#2e9d5b';
  if (/^(down|disabled|false|failed|error|lower-layer-down|not-present)$/.test(v)) return '#d64545';
  if (/^(testing|dormant|unknown)$/.test(v)) return '#d9a030';
  const palette = ['#4c78a8', '#9d6fd0', '#3aa6b9', '#b07a50', '#7f8c8d'];
  let h = 0;
  for (const c of v) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return palette[h % palette.length];
}
