/** Display formatting shared by pages (pure, browser-safe). */
import { formatTime } from './time-format';

/** "12 s ago", "5 min ago", "3 h ago", or the date and time in `zone` (naming it). */
export function ago(ms: number | undefined | null, now = Date.now(), zone = 'UTC'): string {
  if (!ms) return '—';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return formatTime(ms, zone, now, { date: 'always' });
}

/** An alert instance's value as the Alerts page and the device page print it: six significant digits, "—" for none. */
export const formatAlertValue = (v: number | null) => (v === null ? '—' : String(Number(v.toPrecision(6))));

const PREFIXES = ['', 'k', 'M', 'G', 'T', 'P'];

/** A value with SI prefix and unit: 1234567 bits/s → "1.23 Mbit/s"; % and °C keep one decimal. */
export function formatValue(v: number | null | undefined, unit = ''): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  if (unit === '%') return `${v.toFixed(1)} %`;
  if (unit === '°C') return `${v.toFixed(1)} °C`;
  let i = 0;
  let x = Math.abs(v);
  const base = unit === 'bytes' ? 1024 : 1000;
  while (x >= base && i < PREFIXES.length - 1) {
    x /= base;
    i++;
  }
  const n = (v < 0 ? -x : x).toFixed(x >= 100 || i === 0 ? 0 : x >= 10 ? 1 : 2);
  const u = unit === 'bits/s' ? 'bit/s' : unit === 'bytes' ? (i ? 'iB' : 'B') : unit;
  return `${n} ${PREFIXES[i]}${u}`.trim();
}
