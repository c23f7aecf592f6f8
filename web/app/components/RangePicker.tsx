/** The time-range picker of dashboards and device pages: a GET form and links, so it works without JavaScript. */
import { Form, Link } from 'react-router';
import { RANGES, type TimeWindow } from '../lib/widget-data';
import { toInputValue } from '../lib/timezone';
import { TimeZoneSwitch, useTimeZone } from './TimeZone';

/** A fixed window as the query string of a page (what zoom, shift and a chart drag lead to). */
export function customRangeSearch(from: number, to: number, now = Date.now()): string {
  const end = Math.min(Math.round(to), now);
  return `?range=custom&from=${Math.round(from)}&to=${end}&live=0`;
}

/** Zoom out (twice as long, same centre) and shift by half a window, as links. */
export function RangeNav({ window, now }: { window: TimeWindow; now: number }) {
  const w = window.to - window.from;
  const centre = (window.from + window.to) / 2;
  const later = Math.min(window.to + w / 2, now);
  return (
    <div className="range-nav" data-testid="range-nav">
      <Link to={customRangeSearch(window.from - w / 2, window.to - w / 2, now)} data-testid="range-earlier" title="Shift the range back by half its length">
        ← earlier
      </Link>
      <Link to={customRangeSearch(centre - w, Math.min(centre + w, now), now)} data-testid="range-zoom-out" title="Twice as long, around the same middle">
        zoom out
      </Link>
      {window.live ? null : (
        <Link to={customRangeSearch(later - w, later, now)} data-testid="range-later" title="Shift the range forward by half its length">
          later →
        </Link>
      )}
      <span className="muted small" data-testid="range-shown">
        {window.live ? 'live, ' : ''}
        <TimeZoneSwitch /> · drag across a chart to zoom in
      </span>
    </div>
  );
}

export function RangePicker({ window, refresh }: { window: TimeWindow; refresh?: string }) {
  // The from/to fields are in the page's zone; the tz field tells the server how to read them.
  const zone = useTimeZone();
  return (
    // Keyed on the range and zone: its fields are uncontrolled, so a new range (zoom, shift) or zone must remount them.
    <Form method="get" className="range-picker" data-testid="range-picker" key={`${window.key}|${window.live}|${window.key === 'custom' ? `${window.from}-${window.to}` : ''}|${zone}`}>
      <input type="hidden" name="tz" value={zone} />
      <label>
        Range
        <select name="range" defaultValue={window.key}>
          {Object.keys(RANGES).map((r) => (
            <option key={r} value={r}>
              last {r}
            </option>
          ))}
          <option value="custom">custom…</option>
        </select>
      </label>
      <label>
        from
        <input type="datetime-local" name="from" defaultValue={toInputValue(window.from, zone)} />
      </label>
      <label>
        to
        <input type="datetime-local" name="to" defaultValue={toInputValue(window.to, zone)} />
      </label>
      <label className="check">
        <input type="hidden" name="live" value="0" />
        <input type="checkbox" name="live" value="1" defaultChecked={window.live} /> live
      </label>
      {refresh === undefined ? null : (
      <label>
        refresh
        <select name="refresh" defaultValue={refresh}>
          <option value="off">off</option>
          <option value="10s">10 s</option>
          <option value="30s">30 s</option>
          <option value="1m">1 min</option>
          <option value="5m">5 min</option>
        </select>
      </label>
      )}
      <button type="submit">Apply</button>
    </Form>
  );
}
