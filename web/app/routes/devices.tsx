/**
 * The devices view for fleets of thousands (issue 19): search, filters, sort and page
 * in the URL (GET forms and links: bookmarkable, works without JavaScript), a health
 * strip of counts per session state that act as filters, row actions that fit each
 * row's state, CSV export of the filtered list and bulk actions (admins).
 * Session states come from the device_session_state mirror (ADR 095), never one
 * Temporal call per row.
 */
import { Form, Link, useLoaderData, useRevalidator } from 'react-router';
import { useEffect } from 'react';
import type { Route } from './+types/devices';
import { requireUser } from '../lib/auth.server';
import { ctx } from '../lib/context.server';
import { ago } from '../lib/format';
import { formatStamp } from '../lib/time-format';
import { useTimeZone } from '../components/TimeZone';
import { fleetStateMirror } from '../lib/fleet-state.server';
import { workflowListLink } from '../lib/sessions.server';
import { SESSION_VIEWS } from '../lib/temporal-links';
import { deviceSites, deviceStateCounts, listDevices } from '../../../storage/device-list';
import { listProfileNames } from '../../../storage/profiles';
import { firingAlertsByDevice } from '../../../storage/alerts';
import {
  BULK_ACTIONS,
  BULK_ACTION_LABELS,
  LIST_STATES,
  PAGE_SIZES,
  SORT_DESC_FIRST,
  filterFromParams,
  filterToParams,
  viewFromParams,
  type DeviceFilter,
  type DeviceListView,
  type SortColumn,
} from '../../../core/device-filter';

export function meta() {
  return [{ title: 'Devices · switch-telemetry' }];
}

/** States in the health strip, in this order. */
const STRIP_STATES = ['streaming', 'connecting', 'backoff', 'auth-failed', 'config-invalid', 'paused', 'disabled', 'not started'] as const;

export async function loader({ request }: Route.LoaderArgs) {
  const user = await requireUser(request);
  const { db } = ctx();
  const params = new URL(request.url).searchParams;
  const filter = filterFromParams(params);
  const view = viewFromParams(params);
  const mirror = await fleetStateMirror();
  const [{ rows, total }, counts, sites, profiles] = await Promise.all([
    listDevices(db, filter, view),
    deviceStateCounts(db, filter),
    deviceSites(db),
    listProfileNames(db),
  ]);
  // Firing alert instances of the page's rows, one query (docs/alerting.md: mapped by the `device` label).
  const alerts = await firingAlertsByDevice(db, rows.map((r) => r.name));
  return {
    canEdit: user.role === 'admin',
    // Temporal Web's workflow list filtered to device sessions (its List Filter in the URL; docs/sessions.md).
    temporalViews: {
      running: workflowListLink(SESSION_VIEWS.running),
      parked: workflowListLink(SESSION_VIEWS.parked),
      backoff: workflowListLink(SESSION_VIEWS.backoff),
      notStreaming: workflowListLink(SESSION_VIEWS.notStreaming),
    },
    filter,
    view,
    total,
    counts,
    pointsPerSecond: mirror.pointsPerSecond ?? null,
    sites,
    profiles,
    statesAt: mirror.lastOkAt ?? null,
    statesError: mirror.lastError ?? null,
    // Points/s and last seen come from the traffic mirror with the rows (ADR 135); only what the page draws is sent.
    devices: rows.map(({ id, name, protocol, host, port, site, enabled, state, hasWorkflow, pointsPerSecond, lastSeen }) => ({
      id,
      name,
      protocol,
      address: `${host}:${port}`,
      site,
      enabled,
      state,
      hasWorkflow,
      pointsPerSecond,
      lastSeen,
      // Only rows with firing alerts carry the field (a 200-row page stays small).
      ...(alerts.has(name) ? { alerts: [alerts.get(name)!.count, alerts.get(name)!.severity] as [number, string] } : {}),
    })),
  };
}

/** How often an open devices list reloads its rows and counts. */
const LIST_REFRESH_MS = 10_000;

/** `/devices?…` for a filter and view. */
function href(filter: DeviceFilter, view: Partial<DeviceListView>): string {
  const q = filterToParams(filter, view).toString();
  return q ? `/devices?${q}` : '/devices';
}

/**
 * A row action: a button of the one shared row-actions form, posting to the device's own action (no per-row form).
 * Styled by `.row-actions button` (no class per row: a 200-row page stays under 200 KiB).
 */
function ActionButton({ id, intent, label }: { id: number; intent: string; label: string }) {
  return (
    <button form="row-actions" formAction={`/devices/${id}`} name="intent" value={intent}>
      {label}
    </button>
  );
}

/** One select of the filter form: `any` (blank) first unless `blank` is false; options as [value, label]. */
function FilterSelect({ label, name, value, options, blank = true }: { label: string; name: string; value: string | number | undefined; options: Array<[string, string]>; blank?: boolean }) {
  return (
    <label>
      {label}
      <select name={name} defaultValue={value === undefined ? '' : String(value)}>
        {blank ? <option value="">any</option> : null}
        {options.map(([v, text]) => (
          <option key={v} value={v}>
            {text}
          </option>
        ))}
      </select>
    </label>
  );
}

const COLUMNS: Array<{ key: SortColumn | null; label: string; className?: string }> = [
  { key: 'name', label: 'Name' },
  { key: 'protocol', label: 'Protocol' },
  { key: 'address', label: 'Address' },
  { key: 'site', label: 'Site' },
  { key: 'state', label: 'Session' },
  { key: 'points', label: 'Points/s', className: 'num' },
  { key: 'seen', label: 'Last seen' },
  { key: null, label: 'Alerts' }, // firing: count, coloured by the worst severity
];

export default function Devices() {
  const { devices, canEdit, filter, view, total, counts, pointsPerSecond, sites, profiles, statesAt, statesError, temporalViews } = useLoaderData<typeof loader>();
  const zone = useTimeZone();
  // The list follows the fleet without a reload (issue 21): a light poll of the loader, which reads only
  // the mirrors and one page of rows; skipped while the tab is hidden or a load is under way.
  const revalidator = useRevalidator();
  useEffect(() => {
    const t = setInterval(() => {
      if (document.visibilityState === 'visible' && revalidator.state === 'idle') void revalidator.revalidate();
    }, LIST_REFRESH_MS);
    return () => clearInterval(t);
  }, [revalidator]);
  const back = href(filter, view);
  const pages = Math.max(1, Math.ceil(total / view.size));
  const first = total === 0 ? 0 : (view.page - 1) * view.size + 1;
  const last = Math.min(total, view.page * view.size);
  const allCount = Object.values(counts).reduce((a, b) => a + (b ?? 0), 0);
  const filterQuery = filterToParams(filter).toString();
  return (
    <section>
      <div className="page-head">
        <h1>Devices</h1>
        <div className="actions">
          <Link to="/sites" className="button secondary">
            Sites
          </Link>
          <a href={`/devices/export.csv${filterQuery ? `?${filterQuery}` : ''}`} className="button secondary" data-testid="export-csv" download>
            Export CSV
          </a>
          {canEdit ? (
            <>
              <Link to="/devices/bulk" className="button secondary">
                Bulk actions
              </Link>
              <Link to="/devices/new" className="button">
                Add device
              </Link>
              <Link to="/devices/import" className="button secondary">
                Import
              </Link>
            </>
          ) : null}
        </div>
      </div>

      <nav className="health-strip" data-testid="health-strip" aria-label="Devices per session state">
        <Link to={href({ ...filter, state: undefined }, { ...view, page: 1 })} className={`strip-item${filter.state ? '' : ' current'}`} data-testid="strip-all">
          all <strong>{allCount.toLocaleString('en')}</strong>
        </Link>
        {STRIP_STATES.map((s) => (
          <Link
            key={s}
            to={href({ ...filter, state: s }, { ...view, page: 1 })}
            className={`strip-item state-${s.replace(' ', '-')}${filter.state === s ? ' current' : ''}`}
            data-testid={`strip-${s.replace(' ', '-')}`}
          >
            {s} <strong>{(counts[s] ?? 0).toLocaleString('en')}</strong>
          </Link>
        ))}
        <span className="strip-item" data-testid="fleet-rate" title="Points the whole fleet stored per second, between the last two readings (a few seconds apart)">
          fleet <strong>{pointsPerSecond === null ? '…' : pointsPerSecond.toFixed(1)}</strong> points/s
        </span>
      </nav>
      <p className="muted small" data-testid="temporal-views">
        Sessions in Temporal Web:{' '}
        <a href={temporalViews.running} target="_blank" rel="noreferrer" data-testid="temporal-view-running">
          all running
        </a>{' '}
        ·{' '}
        <a href={temporalViews.parked} target="_blank" rel="noreferrer" data-testid="temporal-view-parked">
          parked
        </a>{' '}
        ·{' '}
        <a href={temporalViews.backoff} target="_blank" rel="noreferrer" data-testid="temporal-view-backoff">
          in backoff
        </a>{' '}
        ·{' '}
        <a href={temporalViews.notStreaming} target="_blank" rel="noreferrer" data-testid="temporal-view-not-streaming">
          not streaming
        </a>
      </p>
      {statesError ? (
        <p className="muted" data-testid="states-stale">
          Session states could not be read from Temporal ({statesError}); {statesAt ? `shown as of ${formatStamp(statesAt, zone)}` : 'shown as last recorded'}.
        </p>
      ) : null}

      <Form method="get" className="filters" data-testid="filters">
        <label>
          Name or address
          <input type="search" name="q" defaultValue={filter.q ?? ''} placeholder="prefix, e.g. lab-sw-1" />
        </label>
        <FilterSelect label="Site" name="site" value={filter.site} options={sites.map((s) => [s, s])} />
        <FilterSelect label="Protocol" name="protocol" value={filter.protocol} options={[['gnmi', 'gnmi'], ['netconf', 'netconf']]} />
        <FilterSelect label="Session" name="state" value={filter.state} options={LIST_STATES.map((s) => [s, s])} />
        <FilterSelect label="Profile" name="profile" value={filter.profile} options={profiles.map((p) => [String(p.id), p.name])} />
        <FilterSelect label="Enabled" name="enabled" value={filter.enabled} options={[['yes', 'yes'], ['no', 'no']]} />
        <FilterSelect label="Alerts" name="alerts" value={filter.alerts} options={[['firing', 'firing']]} />
        <FilterSelect label="Per page" name="size" value={view.size} options={PAGE_SIZES.map((n) => [String(n), String(n)])} blank={false} />
        {view.sort !== 'name' ? <input type="hidden" name="sort" value={view.sort} /> : null}
        {view.dir !== 'asc' ? <input type="hidden" name="dir" value={view.dir} /> : null}
        <button type="submit">Apply</button>
        <Link to="/devices" className="button secondary">
          Clear
        </Link>
      </Form>

      <p className="muted" data-testid="range">
        {total === 0 ? 'No device matches.' : `${first.toLocaleString('en')}–${last.toLocaleString('en')} of ${total.toLocaleString('en')} devices`}
      </p>

      {devices.length === 0 ? null : (
        <table data-testid="devices-table">
          <thead>
            <tr>
              {canEdit ? <th aria-label="Select"></th> : null}
              {COLUMNS.map((c) => {
                if (!c.key) return <th key={c.label} className={c.className}>{c.label}</th>;
                const current = view.sort === c.key;
                const first = SORT_DESC_FIRST.includes(c.key) ? 'desc' : 'asc';
                const dir = current ? (view.dir === 'asc' ? 'desc' : 'asc') : first;
                return (
                  <th key={c.label} className={c.className} aria-sort={current ? (view.dir === 'asc' ? 'ascending' : 'descending') : undefined}>
                    <Link to={href(filter, { ...view, sort: c.key, dir, page: 1 })} data-testid={`sort-${c.key}`}>
                      {c.label}
                      {current ? (view.dir === 'asc' ? ' ▲' : ' ▼') : ''}
                    </Link>
                  </th>
                );
              })}
              <th title="workflow: the device's session workflow in Temporal Web">Actions</th>
            </tr>
          </thead>
          <tbody>
            {devices.map((d) => (
              <tr key={d.id} data-testid="device-row">
                {canEdit ? (
                  <td>
                    <input type="checkbox" name="id" value={d.id} form="bulk" aria-label={`Select ${d.name}`} />
                  </td>
                ) : null}
                <td>
                  <Link to={`/devices/${d.id}`} discover="none">
                    {d.name}
                  </Link>
                </td>
                <td>{d.protocol}</td>
                <td>{d.address}</td>
                <td>{d.site ?? ''}</td>
                <td>
                  <span className={`state state-${d.state.replace(' ', '-')}`} data-testid={`state-${d.name}`}>
                    {d.state}
                  </span>
                </td>
                <td className="num">{d.pointsPerSecond.toFixed(1)}</td>
                <td title={d.lastSeen ? formatStamp(d.lastSeen, zone) : undefined}>{ago(d.lastSeen, undefined, zone)}</td>
                <td>
                  {/* Firing count coloured by the worst severity; nothing else per row (a 200-row page stays under 200 KiB). */}
                  {d.alerts ? (
                    <Link to="/alerts" discover="none" className={`sev-${d.alerts[1]}`}>
                      {d.alerts[0]}
                    </Link>
                  ) : null}
                </td>
                <td className="row-actions">
                  {d.hasWorkflow ? (
                    <a href={`/devices/${d.id}/workflow`} target="_blank">
                      workflow
                    </a>
                  ) : null}
                  {canEdit ? (
                    <>
                      {d.hasWorkflow && d.state === 'paused' ? <ActionButton id={d.id} intent="resume" label="Resume" /> : null}
                      {d.hasWorkflow && d.enabled && d.state !== 'paused' && d.state !== 'disabled' ? (
                        <ActionButton id={d.id} intent="pause" label="Pause" />
                      ) : null}
                      {/* Disabling takes the device page's confirmation step (as there); enabling is one click. */}
                      {d.enabled ? (
                        <Link to={`/devices/${d.id}?confirm=disable`} className="button" discover="none">
                          Disable
                        </Link>
                      ) : (
                        <ActionButton id={d.id} intent="enable" label="Enable" />
                      )}
                    </>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      {pages > 1 ? (
        <nav className="pagination" data-testid="pagination" aria-label="Pages">
          {view.page > 1 ? <Link to={href(filter, { ...view, page: 1 })}>« first</Link> : null}
          {view.page > 1 ? (
            <Link to={href(filter, { ...view, page: view.page - 1 })} rel="prev">
              ‹ previous
            </Link>
          ) : null}
          <span>
            page {view.page.toLocaleString('en')} of {pages.toLocaleString('en')}
          </span>
          {view.page < pages ? (
            <Link to={href(filter, { ...view, page: view.page + 1 })} rel="next" data-testid="next-page">
              next ›
            </Link>
          ) : null}
          {view.page < pages ? <Link to={href(filter, { ...view, page: pages })}>last »</Link> : null}
        </nav>
      ) : null}

      {canEdit ? (
        <Form method="post" id="row-actions" className="inline">
          <input type="hidden" name="redirectTo" value={back} />
        </Form>
      ) : null}
      {canEdit && total > 0 ? (
        <Form method="post" action="/devices/bulk" id="bulk" className="bulk" data-testid="bulk-form">
          <input type="hidden" name="filter" value={filterQuery} />
          <fieldset>
            <legend>Bulk action</legend>
            <label>
              <input type="radio" name="scope" value="ids" defaultChecked /> the rows selected above
            </label>
            <label>
              <input type="radio" name="scope" value="filter" /> all {total.toLocaleString('en')} devices matching this filter
            </label>
            <label>
              Action
              <select name="op" defaultValue="pause">
                {BULK_ACTIONS.map((a) => (
                  <option key={a} value={a}>
                    {BULK_ACTION_LABELS[a]}
                  </option>
                ))}
              </select>
            </label>
            <label>
              Profile (attach, detach)
              <select name="profileId" defaultValue="">
                <option value="">—</option>
                {profiles.map((p) => (
                  <option key={p.id} value={p.id}>
                    {p.name}
                  </option>
                ))}
              </select>
            </label>
            <button type="submit">Review…</button>
          </fieldset>
        </Form>
      ) : null}
    </section>
  );
}
