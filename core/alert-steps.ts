/**
 * When an alert rule evaluates (ADR 190, ADR 225): at epoch-aligned steps of its interval, so
 * rules asking the same question share one answer per step, each woken a stable per-rule
 * phase after the step so that a thousand rules do not all wake at the same instant. The
 * evaluation still reads up to the step itself (and shares the step's answer); only the
 * wake-up moves. Pure: the rule workflow imports it.
 */

/**
 * Longest phase (ms) a rule's wake-up is moved past its step, whatever its interval: 5 s spread
 * 1,000 rules' evaluations enough (lateness p99 4 s, the step's age p99 9 s; a 30 s cap made the
 * step's age p99 30 s for lateness p99 5 s — ADR 225).
 */
export const MAX_STEP_PHASE_MS = 5_000;

/**
 * The rule's phase within a step: a stable pseudo-random spread (a multiplicative hash of
 * the rule id) over the first half of the interval, at most MAX_STEP_PHASE_MS, so that
 * every evaluation happens well before the next step and detection is delayed by at most
 * half an interval.
 */
export function alertStepPhaseMs(ruleId: number, intervalMs: number): number {
  const spread = Math.floor(Math.min(intervalMs / 2, MAX_STEP_PHASE_MS));
  if (spread < 1) return 0;
  // Knuth's multiplicative hash: consecutive ids land far apart.
  const h = Math.imul(ruleId >>> 0, 2654435761) >>> 0;
  return h % spread;
}

/**
 * The next step a rule evaluates, and when it wakes for it: the earliest epoch-aligned step
 * after `lastStep` (the one it evaluated last, if any) whose wake-up (step + phase) is still
 * ahead of `now`. A step whose wake-up already passed is skipped, as before phases (ADR 190).
 */
export function nextAlertStep(now: number, intervalMs: number, phaseMs: number, lastStep?: number): { step: number; wakeAt: number } {
  let step = Math.floor(now / intervalMs) * intervalMs;
  if (step + phaseMs <= now || (lastStep !== undefined && step <= lastStep)) step += intervalMs;
  return { step, wakeAt: step + phaseMs };
}
