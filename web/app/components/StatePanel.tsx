/**
 * A widget on text leaves (oper-status, admin-status), or a numeric leaf read as states:
 * a state timeline (one row of bands per series, coloured by value) and/or a table
 * (series, current value, since). Drawn by the server as SVG and HTML, so it works
 * without JavaScript; the page's refresh or reload brings new states. Times are printed
 * in the page's zone.
 */
import { currentState, stateBands, stateColour, type StateRow } from '../lib/state-bands';
import { ago } from '../lib/format';
import { formatTime } from '../lib/time-format';
import { useTimeZone } from './TimeZone';

export interface StateSeries {
  id: number;
  label: string;
  states: StateRow[];
}

const ROW_H = 18;
const LABEL_W = 160;
const PLOT_W = 1000;

/** What a state panel shows: both parts (a text leaf on a chart kind of its own), or one (the `state-timeline` and `table` chart kinds). */
export type StatePanelParts = 'both' | 'timeline' | 'table';

export function StatePanel({
  series,
  from,
  to,
  now,
  testId,
  show = 'both',
}: {
  series: StateSeries[];
  from: number;
  to: number;
  now: number;
  testId: string;
  show?: StatePanelParts;
}) {
  const zone = useTimeZone();
  const end = Math.min(to, now);
  const x = (t: number) => LABEL_W + ((t - from) / Math.max(1, to - from)) * PLOT_W;
  const rows = series.map((s) => ({ ...s, bands: stateBands(s.states, from, end), current: currentState(s.states) }));
  const values = [...new Set(rows.flatMap((r) => r.bands.map((b) => b.value)))].sort();
  const height = rows.length * ROW_H + 4;
  const time = (t: number) => formatTime(t, zone, now, { seconds: true, bare: true });
  return (
    <div className="state-panel" data-testid={testId}>
      {show !== 'table' ? (
        <>
          <svg viewBox={`0 0 ${LABEL_W + PLOT_W} ${height}`} width="100%" role="img" aria-label={`State timeline: ${rows.length} series`} data-testid={`${testId}-timeline`}>
            {rows.map((r, i) => (
              <g key={r.id} transform={`translate(0 ${i * ROW_H})`}>
                <text x={LABEL_W - 6} y={ROW_H / 2 + 4} textAnchor="end" fontSize="11" fill="#1d2330">
                  {r.label}
                </text>
                {r.bands.map((b) => (
                  <rect key={b.from} x={x(b.from)} y={2} width={Math.max(1, x(b.to) - x(b.from))} height={ROW_H - 4} fill={stateColour(b.value)} data-value={b.value}>
                    <title>{`${r.label}: ${b.value}, ${time(b.from)}–${formatTime(b.to, zone, now, { seconds: true })}`}</title>
                  </rect>
                ))}
              </g>
            ))}
          </svg>
          <p className="state-legend small">
            {values.map((v) => (
              <span key={v}>
                <span className="swatch" style={{ background: stateColour(v) }} /> {v}
              </span>
            ))}
          </p>
        </>
      ) : null}
      {show !== 'timeline' ? (
        <table className="state-table small" data-testid={`${testId}-table`}>
          <thead>
            <tr>
              <th scope="col">Series</th>
              <th scope="col">Current</th>
              <th scope="col">Since</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.id} data-series={r.label}>
                <th scope="row">{r.label}</th>
                <td>{r.current?.value ?? '—'}</td>
                <td>{r.current ? `${formatTime(r.current.since, zone, now, { seconds: true })} (${ago(r.current.since, now, zone)})` : '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </div>
  );
}
