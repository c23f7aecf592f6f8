/**
 * The time zone pages show times in: UTC (the default) or the browser's zone,
 * switched on the range bar and remembered in a cookie (so the server renders
 * the range fields in it too, without a hydration mismatch). Pure, browser-safe.
 */

/** Cookie holding the chosen zone: `UTC` or an IANA zone name the browser reported. */
export const TZ_COOKIE = 'tz';
/** How long the choice is remembered (seconds): a year. */
const TZ_COOKIE_MAX_AGE = 365 * 86_400;

/** Whether `name` is a zone this runtime knows. */
export function isTimeZone(name: string): boolean {
  if (!name || name.length > 64) return false;
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** The zone from a Cookie header: a known zone name, else UTC. */
export function zoneFromCookie(header: string | null | undefined): string {
  const m = /(?:^|;\s*)tz=([^;]*)/.exec(header ?? '');
  const name = m ? decodeURIComponent(m[1]) : 'UTC';
  return isTimeZone(name) ? name : 'UTC';
}

/** The Set-Cookie / document.cookie text remembering `zone`. */
export function tzCookie(zone: string): string {
  return `${TZ_COOKIE}=${encodeURIComponent(isTimeZone(zone) ? zone : 'UTC')}; Path=/; Max-Age=${TZ_COOKIE_MAX_AGE}; SameSite=Lax`;
}

/** Whether charts draw in UTC; otherwise they draw in the browser's own zone (all Vega knows). */
export const isUtc = (zone: string) => zone === 'UTC' || zone === 'Etc/UTC';

/** The zone's offset from UTC at `ms`, in ms (positive east of Greenwich). */
export function zoneOffsetMs(zone: string, ms: number): number {
  if (isUtc(zone)) return 0;
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' }).formatToParts(new Date(ms));
  const n = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const wall = Date.UTC(n('year'), n('month') - 1, n('day'), n('hour'), n('minute'), n('second'));
  return wall - Math.floor(ms / 1000) * 1000;
}

/** A time as a datetime-local field's value in `zone`: "2026-11-28T09:30". */
export function toInputValue(ms: number, zone: string): string {
  return new Date(ms + zoneOffsetMs(zone, ms)).toISOString().slice(0, 16);
}

/** A datetime-local value read in `zone` (NaN when it is not one). */
export function fromInputValue(value: string, zone: string): number {
  const m = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d)(?::(\d\d))?$/.exec(value);
  if (!m) return NaN;
  const wall = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] ?? 0));
  // The offset at the wall time itself, corrected once for a change of offset in between (DST).
  const first = wall - zoneOffsetMs(zone, wall);
  return wall - zoneOffsetMs(zone, first);
}
