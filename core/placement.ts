/**
 * Session placement decisions as pure functions (ADR 110): which collector a
 * device session runs on, and which sessions move when collectors are out of
 * balance or draining. storage/collectors.ts feeds them rows read under a lock;
 * the control worker's monitor and the placement activity act on their answers.
 * No I/O, no clock, no randomness: unit tests check every rule.
 */
import type { SessionPlacement } from './names';

/** A collector as placement sees it. */
export interface CollectorLoad {
  id: string;
  /** Sessions placed on it (placements, not counting the device being placed). */
  sessions: number;
  /** COLLECTOR_MAX_SESSIONS of that collector. */
  capacity: number;
  /** Set by `ctl drain`: takes no new sessions, its sessions move off. */
  draining: boolean;
  /** Its event-loop delay p99 (ms) as it last advertised; a saturated collector is chosen last. */
  loopP99Ms?: number;
  /** Of `sessions`, those already asked to move off (rebalancing counts them as leaving). */
  moving?: number;
}

/** Spread allowed around a collector's share before sessions move (±10 %). */
export const PLACEMENT_TOLERANCE = 0.1;
/** A collector whose event loop lags more than this (p99, ms) is placed on only when nothing else has room. */
export const OVERLOADED_LOOP_P99_MS = 250;

/** Collectors that may take sessions: not draining, below capacity. */
function eligible(collectors: readonly CollectorLoad[]): CollectorLoad[] {
  return collectors.filter((c) => !c.draining && c.capacity > 0);
}

/**
 * Each eligible collector's share of `total` sessions, proportional to capacity
 * (equal capacities: total / n).
 */
export function sharesOf(collectors: readonly CollectorLoad[], total: number): Map<string, number> {
  const open = eligible(collectors);
  const capacity = open.reduce((n, c) => n + c.capacity, 0);
  return new Map(open.map((c) => [c.id, capacity > 0 ? (total * c.capacity) / capacity : 0]));
}

/** Whether `sessions` is within ±tolerance of `share` (rounded outward: 10 sessions of 3 collectors is 3 or 4 each). */
export function withinShare(sessions: number, share: number, tolerance = PLACEMENT_TOLERANCE): boolean {
  return sessions >= Math.floor(share * (1 - tolerance)) && sessions <= Math.ceil(share * (1 + tolerance));
}

/**
 * The collector a session should run on, or undefined when none can take it.
 * Sticky: the `previous` collector keeps it while it is eligible, has room and
 * stays within its share; otherwise the least loaded relative to capacity
 * (ties: fewer sessions, then id), saturated event loops last. `avoid` is never
 * chosen (the session is being moved off it).
 */
export function choosePlacement(collectors: readonly CollectorLoad[], opts: { previous?: string; avoid?: string } = {}): string | undefined {
  const open = eligible(collectors).filter((c) => c.id !== opts.avoid && c.sessions < c.capacity);
  if (open.length === 0) return undefined;
  const total = collectors.reduce((n, c) => n + c.sessions, 0) + 1;
  const shares = sharesOf(collectors, total);
  const prev = open.find((c) => c.id === opts.previous);
  if (prev && !overloaded(prev) && prev.sessions + 1 <= Math.ceil((shares.get(prev.id) ?? 0) * (1 + PLACEMENT_TOLERANCE))) return prev.id;
  const ranked = [...open].sort(
    (a, b) => Number(overloaded(a)) - Number(overloaded(b)) || (a.sessions + 1) / a.capacity - (b.sessions + 1) / b.capacity || a.sessions - b.sessions || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
  return ranked[0].id;
}

/** A session to place in a batch: its placement now, if any. */
export interface PlacementRequest {
  deviceId: number;
  /** The collector its placement names (absent: never placed). */
  previous?: string;
  /** Asked to move off `previous` (rebalance, drain). */
  moving?: boolean;
  /** The collector whose load counts this session now (running there, or placed there moments ago). */
  countedOn?: string;
}

/**
 * Place a batch of sessions at once (ADR 200), each decided as `choosePlacement` would one at a
 * time under the placement lock: its own count leaves the collector that counts it, the choice is
 * made, the chosen collector's count grows before the next one. Sticky to `previous` unless the
 * session is moving (then it stays only when nowhere else has room). Returns each device's
 * collector id, undefined where none can take it. `collectors` is not changed.
 */
export function placeBatch(collectors: readonly CollectorLoad[], requests: readonly PlacementRequest[]): Map<number, string | undefined> {
  const loads = collectors.map((c) => ({ ...c }));
  const byId = new Map(loads.map((c) => [c.id, c]));
  const chosen = new Map<number, string | undefined>();
  for (const r of requests) {
    if (chosen.has(r.deviceId)) continue;
    const counted = r.countedOn === undefined ? undefined : byId.get(r.countedOn);
    if (counted) counted.sessions = Math.max(0, counted.sessions - 1);
    const id =
      choosePlacement(loads, { previous: r.moving ? undefined : r.previous, avoid: r.moving ? r.previous : undefined }) ?? (r.moving ? choosePlacement(loads, { previous: r.previous }) : undefined);
    const to = id === undefined ? undefined : byId.get(id);
    if (to) to.sessions++;
    chosen.set(r.deviceId, id);
  }
  return chosen;
}

function overloaded(c: CollectorLoad): boolean {
  return (c.loopP99Ms ?? 0) > OVERLOADED_LOOP_P99_MS;
}

/** How many sessions to move off each collector now. */
export type RebalancePlan = Map<string, number>;

/**
 * Sessions to move now, per source collector: every session of a draining
 * collector; and when some eligible collector is outside its share ±10 %, the
 * excess of each collector above its (rounded up) share. At most `budget` moves
 * in total (PLACEMENT_MAX_MOVES minus moves in flight), taken round-robin from
 * the most loaded, draining collectors first. Placement sends the moved sessions
 * to the least loaded collectors.
 */
export function planRebalance(collectors: readonly CollectorLoad[], budget: number): RebalancePlan {
  const plan: RebalancePlan = new Map();
  if (budget <= 0) return plan;
  const open = eligible(collectors);
  if (open.length === 0) return plan;
  const total = collectors.reduce((n, c) => n + c.sessions, 0);
  const shares = sharesOf(collectors, total);
  const excess = new Map<string, number>();
  for (const c of collectors) if (c.draining && c.sessions - (c.moving ?? 0) > 0) excess.set(c.id, c.sessions - (c.moving ?? 0));
  const unbalanced = open.some((c) => !withinShare(c.sessions, shares.get(c.id) ?? 0));
  if (unbalanced) {
    for (const c of open) {
      const over = c.sessions - Math.ceil(shares.get(c.id) ?? 0) - (c.moving ?? 0);
      if (over > 0) excess.set(c.id, over);
    }
  }
  const byLoad = (a: CollectorLoad, b: CollectorLoad) =>
    Number(b.draining) - Number(a.draining) || b.sessions / Math.max(1, b.capacity) - a.sessions / Math.max(1, a.capacity) || (a.id < b.id ? -1 : 1);
  const sources = collectors.filter((c) => excess.has(c.id)).sort(byLoad);
  let left = budget;
  while (left > 0 && sources.some((c) => (excess.get(c.id) ?? 0) > 0)) {
    for (const c of sources) {
      const more = excess.get(c.id) ?? 0;
      if (more <= 0 || left <= 0) continue;
      excess.set(c.id, more - 1);
      plan.set(c.id, (plan.get(c.id) ?? 0) + 1);
      left--;
    }
  }
  return plan;
}

/**
 * Why an attempt asks the placement activity instead of going where it was placed ahead (ADR 260),
 * counted by the placement activity (`placement_asked_total{reason}` on the control worker's /metrics).
 */
export const PLACEMENT_ASK_REASONS = [
  /** The run's first attempt (a new workflow, or the first after continue-as-new). */
  'first-attempt',
  /** Placed ahead, but on a queue reported lost since. */
  'placed-ahead-lost',
  /** Placed ahead longer ago than a placement made ahead stays valid (ADR 245). */
  'placed-ahead-too-old',
  /** The previous attempt was handed over without a next queue (the leaving collector's placement missed its wait, ADR 231). */
  'handover-without-queue',
  /** The previous attempt's collector was reported lost with no placement made ahead. */
  'collector-lost',
  /** The previous attempt's heartbeats stopped (a collector that died or stalled, not reported lost first). */
  'heartbeat-timeout',
  /** The previous attempt was never picked up by a worker of its queue in time (schedule-to-start). */
  'schedule-to-start-timeout',
  /** The previous attempt timed out otherwise (start-to-close, or a kind the history did not name). */
  'timeout',
  /** The previous attempt failed with COLLECTOR_LEAVING (a collector leaving before ADR 200, or its worker shutting down). */
  'collector-leaving',
  /** The previous attempt failed otherwise (device, network, configuration). */
  'error',
  /** The previous attempt ended by request or by itself (pause, reconfigure, lease, completed). */
  'ended',
] as const;

/** One of PLACEMENT_ASK_REASONS. */
export type PlacementAskReason = (typeof PLACEMENT_ASK_REASONS)[number];

/** How the previous attempt of the run ended, as far as placement cares. */
export type PreviousAttempt = { kind: 'result'; reason: string; next?: boolean } | { kind: 'error'; type?: string; lost?: boolean; timeout?: string };

/**
 * The reason an attempt asks placement: a placement made ahead that was refused (`refused`) says
 * why; otherwise how the previous attempt ended (none: the run's first attempt).
 */
export function placementAskReason(previous: PreviousAttempt | undefined, refused?: 'lost' | 'too-old'): PlacementAskReason {
  if (refused === 'lost') return 'placed-ahead-lost';
  if (refused === 'too-old') return 'placed-ahead-too-old';
  if (!previous) return 'first-attempt';
  if (previous.kind === 'result') return previous.reason === 'handover' && !previous.next ? 'handover-without-queue' : 'ended';
  if (previous.lost) return 'collector-lost';
  if (previous.type === 'TIMEOUT') {
    if (previous.timeout === 'heartbeat') return 'heartbeat-timeout';
    if (previous.timeout === 'schedule-to-start') return 'schedule-to-start-timeout';
    return 'timeout';
  }
  if (previous.type === 'COLLECTOR_LEAVING') return 'collector-leaving';
  return 'error';
}

/** A placement made ahead of a session's next attempt (ADR 200): by the monitor (its collector was lost) or by the leaving collector. */
export interface PlacedAhead {
  placement: SessionPlacement;
  /** When the workflow learnt it (workflow time, ms). */
  at: number;
  by: 'monitor' | 'leaving-collector';
}

/** Before ADR 245 a placement made ahead was used only by an attempt starting this soon after it (ms). */
export const PLACED_AHEAD_FRESH_MS = 60_000;
/** ADR 245: a placement made ahead stays good this long (COLLECTOR_WARM_ADOPT_MS's default) while its collector is not reported lost. */
export const PLACED_AHEAD_VALID_MS = 600_000;

/**
 * Whether an attempt starting at `now` goes where its session was placed ahead: not when that queue was
 * reported lost since (`lostQueues`), nor when the placement is older than PLACED_AHEAD_VALID_MS. Between
 * PLACED_AHEAD_FRESH_MS and that bound it depends on `validPatched` (the workflow's patched() marker of
 * ADR 245), asked only there, so histories recorded before it replay unchanged.
 */
export function placedAheadFor(ahead: PlacedAhead | undefined, lostQueues: readonly string[], now: number, validPatched: () => boolean): { ahead?: PlacedAhead; refused?: 'lost' | 'too-old' } {
  if (!ahead) return {};
  if (lostQueues.includes(ahead.placement.taskQueue)) return { refused: 'lost' };
  const age = now - ahead.at;
  if (age <= PLACED_AHEAD_FRESH_MS) return { ahead };
  return age <= PLACED_AHEAD_VALID_MS && validPatched() ? { ahead } : { refused: 'too-old' };
}
