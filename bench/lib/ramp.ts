/** How long a ramp may stop gaining sessions once past its limit before it fails (a slow hour gains a few a minute). */
export const RAMP_STALL_MS = 120_000;

/**
 * Whether a ramp waiting for every session to stream gives up: never within `limitMs`; past it, when no
 * session started streaming for RAMP_STALL_MS, or at three times the limit whatever it gains.
 */
export function rampGivesUp(elapsedMs: number, sinceGrowthMs: number, limitMs: number): boolean {
  if (elapsedMs < limitMs) return false;
  return sinceGrowthMs >= RAMP_STALL_MS || elapsedMs >= 3 * limitMs;
}
