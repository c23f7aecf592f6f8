/**
 * A bulk action's per-device results (acknowledged, or failed and why), shared by the
 * bulk actions page (`?id=`) and a bulk action's progress page.
 */
import { Link } from 'react-router';
import type { BulkResultRow } from '../../../storage/bulk-actions';

/** One row per device: its name (linked), acknowledged or failed, the state, note or error. */
export function BulkResultTable({ results }: { results: BulkResultRow[] }) {
  return (
    <table data-testid="bulk-results">
      <thead>
        <tr>
          <th>Device</th>
          <th>Result</th>
          <th>State / note</th>
        </tr>
      </thead>
      <tbody>
        {results.map((r) => (
          <tr key={r.id} data-testid={r.ok ? 'result-ok' : 'result-failed'}>
            <td>{r.name ? <Link to={`/devices/${r.id}`}>{r.name}</Link> : r.id}</td>
            <td>{r.ok ? 'acknowledged' : 'failed'}</td>
            <td>{r.ok ? (r.state ?? r.note ?? '') : r.error}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
