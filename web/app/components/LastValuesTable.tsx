/**
 * The `table` widget on numeric series: each series' last value (or rate) with the time it
 * was taken and its age; a value older than three of its sample intervals is greyed and
 * says "as of" (web/app/lib/last-values.ts). Server-rendered; the dashboard's refresh
 * brings new values.
 */
import { ago, formatValue } from '../lib/format';
import { formatTime } from '../lib/time-format';
import type { LastValue } from '../lib/last-values';
import { useTimeZone } from './TimeZone';

export function LastValuesTable({
  rows,
  unit,
  rate,
  now,
  testId,
}: {
  rows: Array<LastValue & { id: number; label: string }>;
  unit: string;
  rate: boolean;
  now: number;
  testId: string;
}) {
  const zone = useTimeZone();
  return (
    <table className="state-table last-values small" data-testid={testId}>
      <thead>
        <tr>
          <th scope="col">Series</th>
          <th scope="col" className="num">
            {rate ? 'Rate (last interval)' : 'Last value'}
          </th>
          <th scope="col">At</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.id} data-series={r.label} data-stale={r.stale ? 'yes' : 'no'} className={r.stale ? 'stale' : undefined}>
            <th scope="row">{r.label}</th>
            <td className="num">{formatValue(r.value, unit)}</td>
            <td>
              {r.at ? `${r.stale ? 'as of ' : ''}${formatTime(r.at, zone, now, { seconds: true })} (${ago(r.at, now, zone)})` : '—'}
              {r.at && r.stale ? <span className="badge stale-badge"> stale</span> : null}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
