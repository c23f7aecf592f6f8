/**
 * How pages print a time: in the page's time zone (the `tz` cookie of ADR 092, UTC by
 * default) and always naming that zone, so a printed time is never ambiguous (ADR 125).
 * The one formatter of server-rendered times (device page with its gaps and errors,
 * devices list, bulk actions, state panels and tables); exports (CSV) stay ISO UTC. Pure, browser-safe: server and
 * browser render the same text from the same zone, so hydration matches.
 */
import { isUtc, zoneOffsetMs } from './timezone';

/** The zone as printed after a time: "UTC", or its short name there and then ("GMT+5:30", "EST"). */
export function zoneLabel(zone: string, ms: number): string {
  if (isUtc(zone)) return 'UTC';
  const part = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'short' }).formatToParts(new Date(ms)).find((p) => p.type === 'timeZoneName');
  return part?.value ?? zone;
}

/** "2026-11-28T07:02:03" as the wall clock reads it in `zone`. */
const wall = (ms: number, zone: string) => new Date(ms + zoneOffsetMs(zone, ms)).toISOString().slice(0, 19);

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Options of formatTime. */
export interface TimeFormat {
  /** Add the seconds ("07:02:03"). */
  seconds?: boolean;
  /** Always add the date, else only when the day (in the zone) is not `now`'s: "Nov 27 07:02". */
  date?: 'auto' | 'always';
  /** Leave the zone's name off (for a range whose other end names it). */
  bare?: boolean;
}

/**
 * A time as pages print it: "07:02 UTC" today, "Nov 27 07:02 UTC" another day, in `zone`
 * ("12:32 GMT+5:30"); `date: 'always'` gives "2026-11-27 07:02:03 UTC" with `seconds`.
 */
export function formatTime(ms: number, zone: string, now = Date.now(), opts: TimeFormat = {}): string {
  const w = wall(ms, zone);
  const hm = opts.seconds ? w.slice(11, 19) : w.slice(11, 16);
  let text: string;
  if (opts.date === 'always') text = `${w.slice(0, 10)} ${hm}`;
  else if (w.slice(0, 10) === wall(now, zone).slice(0, 10)) text = hm;
  else text = `${MONTHS[Number(w.slice(5, 7)) - 1]} ${Number(w.slice(8, 10))} ${hm}`;
  return opts.bare ? text : `${text} ${zoneLabel(zone, ms)}`;
}

/** A full timestamp to the second, date included: "2026-11-28 07:02:03 UTC". */
export const formatStamp = (ms: number, zone: string) => formatTime(ms, zone, ms, { seconds: true, date: 'always' });
