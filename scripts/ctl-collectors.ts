/**
 * `ctl collectors`, `ctl drain <collector>` and `ctl undrain <collector>` (ADR 110):
 * the collector registry as operators read it, and emptying a collector before an
 * upgrade. Drain sets the collector's draining flag; the control worker's monitor
 * then moves its sessions off, PLACEMENT_MAX_MOVES at a time, by clean hand-overs.
 */
import { listCollectors, setDraining, type CollectorRow } from '../storage/collectors';
import { textTable, type Ctl } from './ctl-lib';

/** The registry as a table (or JSON). Returns the number of collectors listed. */
export async function printCollectors(ctl: Ctl, json: boolean, out: (s: string) => void): Promise<number> {
  const rows = await listCollectors(ctl.db());
  if (json) {
    out(JSON.stringify(rows, null, 2));
    return rows.length;
  }
  if (rows.length === 0) {
    out('no collector registered');
    return 0;
  }
  const table = [
    ['COLLECTOR', 'STATE', 'PLACED', 'RUNNING', 'CAPACITY', 'CPU', 'LOOP P99', 'VERSION', 'LEASE AGE', 'STARTED'],
    ...rows.map((c) => [
      c.id,
      !c.live ? 'lost' : c.draining ? 'draining' : 'live',
      String(c.placed),
      String(c.running),
      String(c.capacity),
      c.cpu === undefined ? '-' : `${(c.cpu * 100).toFixed(0)} %`,
      c.loopP99Ms === undefined ? '-' : `${c.loopP99Ms.toFixed(0)} ms`,
      c.version,
      `${(c.leaseAgeMs / 1000).toFixed(1)} s`,
      c.startedAt.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
    ]),
  ];
  out(textTable(table));
  return rows.length;
}

/** What a drain ended with. */
export type DrainOutcome = 'empty' | 'sent' | 'unknown' | 'timeout';

/**
 * Drain a collector (or undo it). With `wait`, print progress whenever the count changes and
 * return once the collector runs no session (as it reports at each lease renewal), or `timeoutMs` passed.
 */
export async function drainCollector(
  ctl: Ctl,
  id: string,
  opts: { wait: boolean; timeoutMs: number; undo?: boolean; pollMs?: number },
  out: (s: string) => void,
): Promise<DrainOutcome> {
  if (!(await setDraining(ctl.db(), id, !opts.undo))) return 'unknown';
  if (opts.undo) {
    out(`${id}: taking sessions again`);
    return 'sent';
  }
  if (!opts.wait) {
    out(`${id}: draining (ctl collectors shows the progress)`);
    return 'sent';
  }
  const started = Date.now();
  let last = -1;
  for (;;) {
    const row: CollectorRow | undefined = (await listCollectors(ctl.db())).find((c) => c.id === id);
    // What the collector itself reports running (a paused device's placement is not a session to move).
    const left = row ? row.running : 0;
    if (left !== last) {
      out(`${id}: ${left} session${left === 1 ? '' : 's'} left (${((Date.now() - started) / 1000).toFixed(1)} s)`);
      last = left;
    }
    if (!row || left === 0) {
      out(`${id}: empty after ${((Date.now() - started) / 1000).toFixed(1)} s`);
      return 'empty';
    }
    if (Date.now() - started > opts.timeoutMs) return 'timeout';
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 500));
  }
}
