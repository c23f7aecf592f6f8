/** The dashboard's time-range picker: a GET form, so it works without JavaScript. */
import { Form } from 'react-router';
import { RANGES, type TimeWindow } from '../lib/widget-data';

const local = (ms: number) => new Date(ms - new Date(ms).getTimezoneOffset() * 60_000).toISOString().slice(0, 16);

export function RangePicker({ window, refresh }: { window: TimeWindow; refresh: string }) {
  return (
    <Form method="get" className="range-picker" data-testid="range-picker">
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
        <input type="datetime-local" name="from" defaultValue={local(window.from)} />
      </label>
      <label>
        to
        <input type="datetime-local" name="to" defaultValue={local(window.to)} />
      </label>
      <label className="check">
        <input type="hidden" name="live" value="0" />
        <input type="checkbox" name="live" value="1" defaultChecked={window.live} /> live
      </label>
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
      <button type="submit">Apply</button>
    </Form>
  );
}
