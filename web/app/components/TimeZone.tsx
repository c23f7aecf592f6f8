/** The page's time zone (from the root loader's `tz` cookie) and the switch between UTC and the browser's zone. */
import { useRouteLoaderData, useRevalidator } from 'react-router';
import { isUtc, tzCookie } from '../lib/timezone';

/** The zone times are shown in: 'UTC' or the browser's zone name remembered in the cookie. */
export function useTimeZone(): string {
  const root = useRouteLoaderData('root') as { zone?: string } | undefined;
  return root?.zone ?? 'UTC';
}

/**
 * "times in UTC · show browser time" (or back): sets the cookie and reloads the page's
 * data, so the server renders the range fields in the new zone and the charts redraw.
 * Needs JavaScript (only the browser knows its zone); without it pages stay in UTC.
 */
export function TimeZoneSwitch() {
  const zone = useTimeZone();
  const revalidator = useRevalidator();
  const utc = isUtc(zone);
  const toggle = () => {
    const next = utc ? Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC' : 'UTC';
    document.cookie = tzCookie(next);
    void revalidator.revalidate();
  };
  return (
    <span className="tz-switch" data-testid="tz">
      times in <strong data-testid="tz-zone">{utc ? 'UTC' : zone}</strong>{' '}
      <button type="button" className="link" onClick={toggle} data-testid="tz-switch" title="Remembered in this browser">
        {utc ? 'show browser time' : 'show UTC'}
      </button>
    </span>
  );
}
