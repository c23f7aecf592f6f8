/**
 * A device: overview (session state, since, attempt, last error, recent gaps,
 * protocol security), interfaces table, and live traffic and health charts on
 * one shared stream. Its action carries the device's buttons: pause, resume,
 * enable, disable, approve the NETCONF host key, delete.
 */
import { Form, Link, data, redirect, useLoaderData, useNavigate, useRevalidator, useSearchParams } from 'react-router';
import { useEffect, useMemo, useState } from 'react';
import { z } from 'zod';
import type { Route } from './+types/device';
import { requireAdminAction, requireUser, safeRedirect } from '../lib/auth.server';
import { ctx } from '../lib/context.server';
import { setFlash } from '../lib/flash.server';
import { approveHostKey, deleteDevice, deviceIngestDrops, forgetHostKey, getDevice, setEnabled } from '../lib/devices.server';
import { deviceEvents, recordDeviceEvent } from '../../../storage/device-events';
import { deviceInterfaces } from '../lib/interfaces.server';
import { newestStoredPointAt } from '../../../storage/newest-points';
import { lastErrorFact, lastPointAt } from '../lib/session-facts';
import { resolveWidgetSeries } from '../lib/series.server';
import { pauseOrResume, reconfigureSession, sessionStatuses, stopSession, workflowListLink, workflowUrl } from '../lib/sessions.server';
import { deviceSessionQuery } from '../lib/temporal-links';
import { ago, formatAlertValue, formatValue } from '../lib/format';
import { isStale, outageLine, parkedAdvice, sessionOutage, tidy, type Outage } from '../lib/freshness';
import { TLS_MODE_LABELS } from '../lib/device-form';
import { listGaps } from '../../../storage/gaps';
import { alertMarkersForDevices, listAlertInstances } from '../../../storage/alerts';
import { LiveChart, type ChartDefinition } from '../components/LiveChart';
import { LiveStreamProvider } from '../components/LiveStream';
import { RangeNav, RangePicker, customRangeSearch } from '../components/RangePicker';
import { ConfirmStep, isConfirmed } from '../components/ConfirmStep';
import { resolveWindow } from '../lib/widget-data';
import { formatStamp, formatTime } from '../lib/time-format';
import { useTimeZone } from '../components/TimeZone';
import { protocolLabel } from '../../../core/profile-protocol';

export function meta({ data }: Route.MetaArgs) {
  return [{ title: `${data?.device.name ?? 'Device'} · switch-telemetry` }];
}

// Each chart lists the path of every model that carries the leaf (OpenConfig over gNMI,
// ietf-interfaces over NETCONF: legacy /interfaces-state and NMDA /interfaces); a device shows whichever it reports.
const CHARTS: Array<{ key: string; title: string; patterns: string[] } & Pick<ChartDefinition, 'rate' | 'unit' | 'scale' | 'kind'>> = [
  {
    key: 'in',
    title: 'Inbound traffic',
    patterns: ['/interfaces/interface[name=*]/state/counters/in-octets', '/interfaces-state/interface[name=*]/statistics/in-octets', '/interfaces/interface[name=*]/statistics/in-octets'],
    rate: true,
    scale: 8,
    unit: 'bits/s',
  },
  {
    key: 'out',
    title: 'Outbound traffic',
    patterns: ['/interfaces/interface[name=*]/state/counters/out-octets', '/interfaces-state/interface[name=*]/statistics/out-octets', '/interfaces/interface[name=*]/statistics/out-octets'],
    rate: true,
    scale: 8,
    unit: 'bits/s',
  },
  { key: 'cpu', title: 'CPU', patterns: ['/components/component[name=*]/cpu/utilization/state/instant'], unit: '%' },
  { key: 'memory', title: 'Memory used', patterns: ['/system/memory/state/used'], unit: 'bytes', kind: 'area' },
  { key: 'temperature', title: 'Temperature', patterns: ['/components/component[name=*]/state/temperature/instant'], unit: '°C' },
];

/** How the device page names a reason of device_ingest_drops. */
const DROP_REASONS: Record<string, string> = {
  series_limit: 'points of series over the per-device series limit (INGEST_MAX_SERIES_PER_DEVICE)',
  future_timestamp: 'points stamped too far ahead of the collector clock (INGEST_MAX_FUTURE_MS)',
};

export async function loader({ request, params }: Route.LoaderArgs) {
  const user = await requireUser(request);
  const { db } = ctx();
  const device = await getDevice(db, Number(params.deviceId));
  if (!device) throw data('No such device', { status: 404 });
  // The charts' range, like a dashboard's: the last 15 minutes, live, unless the page asks for another.
  const range = resolveWindow(new URL(request.url).searchParams, '15m', Date.now());
  const [statuses, gaps, interfaces, charts, newestStored, alerts, markers] = await Promise.all([
    sessionStatuses([device.id], 3000),
    listGaps(db, device.id, 5),
    deviceInterfaces(db, device.id),
    Promise.all(
      CHARTS.map(async ({ patterns, ...c }) => ({
        ...c,
        series: (await Promise.all(patterns.map((p) => resolveWidgetSeries(db, device.id, p, 64)))).flatMap((r) => r.series).slice(0, 64),
      })),
    ),
    newestStoredPointAt(db, device.id),
    // Firing and pending instances whose `device` label names this device (docs/alerting.md).
    listAlertInstances(db, { device: device.name }),
    // Where this device's alerts fired and resolved within the charts' range (markers on every chart).
    alertMarkersForDevices(db, [device.name], range.from, range.to),
  ]);
  const status = statuses.get(device.id) ?? null;
  const drops = await deviceIngestDrops(db, device.id);
  // Host-key decisions (pinned, approved, forgotten, refused), newest first (ADR 127).
  const events = device.protocol === 'netconf' ? (await deviceEvents(db, device.id, 5)).map((e) => ({ ...e, at: e.at.getTime() })) : [];
  const now = Date.now();
  const newestPoint = lastPointAt(status, newestStored);
  // The device's sample interval, as its counters show it: what "stale" is measured in.
  const intervalMs = Math.max(0, ...interfaces.map((i) => i.intervalMs ?? 0)) || undefined;
  const outage = sessionOutage({ enabled: device.enabled, status, lastPointAt: newestPoint, intervalMs, now });
  const parked = outage?.kind === 'parked' && status ? { ...parkedAdvice(status.state, outage.reason, device.protocol), state: status.state } : null;
  return {
    canEdit: user.role === 'admin',
    device: {
      id: device.id,
      name: device.name,
      protocol: device.protocol,
      host: device.host,
      port: device.port,
      site: device.site,
      enabled: device.enabled,
      username: device.username,
      tls: device.settings?.gnmi?.tls ?? 'tls',
      hostKey: device.settings?.netconf?.hostKeySha256 ?? null,
      acceptNewHostKey: device.settings?.netconf?.acceptNewHostKey ?? false,
    },
    status,
    lastPointAt: newestPoint ?? null,
    intervalMs: intervalMs ?? null,
    outage: outage ?? null,
    parked,
    lastError: lastErrorFact(status) ?? null,
    gaps,
    drops,
    events,
    alerts: alerts.map((a) => ({ ruleName: a.ruleName, severity: a.severity, state: a.state, since: a.since?.getTime() ?? null, value: a.value })),
    interfaces,
    charts: charts.map((c) => ({ ...c, series: c.series.map(({ id, label, deviceName }) => ({ id, label, deviceName })) })),
    workflowUrl: workflowUrl(device.id),
    // Every run of this device's session (continue-as-new included) in Temporal Web's list.
    workflowRunsUrl: workflowListLink(deviceSessionQuery(device.id)),
    markers,
    window: range,
    now,
  };
}

const Intent = z.enum(['pause', 'resume', 'enable', 'disable', 'approve-host-key', 'forget-host-key', 'delete']);

export async function action({ request, params }: Route.ActionArgs) {
  const user = await requireAdminAction(request);
  const { db } = ctx();
  const device = await getDevice(db, Number(params.deviceId));
  if (!device) throw data('No such device', { status: 404 });
  const form = await request.formData();
  const intent = Intent.safeParse(form.get('intent'));
  if (!intent.success) throw data('Unknown action', { status: 400 });
  const back = safeRedirect(form.get('redirectTo'), `/devices/${device.id}`);
  // A message for the next page travels in the signed flash cookie, never in the URL (a link could forge it).
  const go = async (message?: string) => redirect(back, message ? { headers: { 'Set-Cookie': await setFlash({ kind: 'warning', message }) } } : undefined);
  const why = `${intent.data} from the web app by ${user.email}`;
  // Delete and Disable take a second, explicit step (the confirmation panel), with or without JavaScript.
  if ((intent.data === 'delete' || intent.data === 'disable') && !isConfirmed(form)) return redirect(`/devices/${device.id}?confirm=${intent.data}`);
  try {
    switch (intent.data) {
      case 'pause':
      case 'resume':
        await pauseOrResume(device.id, intent.data, user.email);
        return go();
      case 'enable':
      case 'disable':
        await setEnabled(db, device.id, intent.data === 'enable');
        await reconfigureSession(device, why);
        return go();
      case 'approve-host-key':
        await approveHostKey(db, device.id);
        await recordDeviceEvent(db, { deviceId: device.id, deviceName: device.name, actor: user.email, kind: 'host-key-approved', detail: { via: 'device page' } });
        await reconfigureSession(device, why);
        return go();
      case 'forget-host-key':
        await forgetHostKey(db, device.id);
        await recordDeviceEvent(db, { deviceId: device.id, deviceName: device.name, actor: user.email, kind: 'host-key-forgotten', detail: { fingerprint: device.settings?.netconf?.hostKeySha256 ?? null, via: 'device page' } });
        await reconfigureSession(device, why);
        return go();
      case 'delete':
        await stopSession(device.id, user.email).catch(() => undefined);
        await deleteDevice(db, device.id);
        return redirect('/devices');
    }
  } catch (err) {
    return go(`${intent.data} did not complete: ${(err as Error).message}`);
  }
}

function Button({ intent, label, className = 'secondary', title }: { intent: string; label: string; className?: string; title?: string }) {
  return (
    <Form method="post" className="inline">
      <input type="hidden" name="intent" value={intent} />
      <button type="submit" className={className} data-testid={`action-${intent}`} title={title}>
        {label}
      </button>
    </Form>
  );
}

/** How the device page words a recorded host-key decision. */
const HOST_KEY_EVENTS: Record<string, string> = {
  'host-key-pinned': 'host key pinned',
  'host-key-approved': 'first use approved',
  'host-key-forgotten': 'pinned key forgotten',
  'host-key-refused': 'changed host key refused',
};

/** What Pause and Disable do, where the buttons are. */
const PAUSE_HELP = 'Pause: stop collecting for now; the device stays in the fleet and Resume continues where it left off (the gap is recorded).';
const DISABLE_HELP = 'Disable: take the device out of collection until it is enabled again (its session ends; history is kept).';

/** The second step of Delete and Disable, naming what will happen. */
function Confirm({ intent, deviceName, deviceId }: { intent: 'delete' | 'disable'; deviceName: string; deviceId: number }) {
  const what =
    intent === 'delete'
      ? `Delete ${deviceName}? Its session ends, and the device, its credentials and all of its collected data (series, samples, gaps) are removed. This cannot be undone.`
      : `Disable ${deviceName}? Its session ends and nothing more is collected until you enable it again. Its history is kept.`;
  return <ConfirmStep intent={intent} text={what} label={intent === 'delete' ? 'Delete device' : 'Disable device'} cancelTo={`/devices/${deviceId}`} />;
}

/** The ongoing outage in one line, its retry countdown following the clock. */
function OutageLine({ outage, now, testId }: { outage: Outage; now: number; testId: string }) {
  const zone = useTimeZone();
  return (
    <p className={outage.kind === 'retrying' || outage.kind === 'parked' || outage.kind === 'silent' ? 'outage' : 'outage muted'} data-testid={testId} role="status">
      {outageLine(outage, now, zone)}
      {outage.failingSince ? <span className="muted"> · failing since {formatTime(outage.failingSince, zone, now)}</span> : null}
    </p>
  );
}

/** This device's firing and pending alert instances (issue 18), linking to the Alerts page; not drawn when none. */
function AlertsPanel({ alerts, zone, now }: { alerts: Array<{ ruleName: string; severity: string; state: string; since: number | null; value: number | null }>; zone: string; now: number }) {
  return (
    <div className="card" data-testid="device-alerts">
      <h2>
        <Link to="/alerts">Alerts</Link>
      </h2>
      <table>
        <thead>
          <tr>
            <th>Rule</th>
            <th>Severity</th>
            <th>State</th>
            <th>Since</th>
            <th className="num">Value</th>
          </tr>
        </thead>
        <tbody>
          {alerts.map((a, i) => (
            <tr key={`${a.ruleName}|${i}`} data-testid="device-alert">
              <td>
                <Link to="/alerts">{a.ruleName}</Link>
              </td>
              <td>
                <span className={`sev-${a.severity}`}>{a.severity}</span>
              </td>
              <td>{a.state}</td>
              <td>{a.since === null ? '' : formatTime(a.since, zone, now, { seconds: true })}</td>
              <td className="num">{formatAlertValue(a.value)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The charts' outage layer while there is no outage: no band. */
const NO_OUTAGE = { since: undefined, label: '' };

export default function Device() {
  const { device, status, lastPointAt, intervalMs, outage, parked, lastError, gaps, drops, events, alerts, markers, interfaces, charts, workflowUrl, workflowRunsUrl, canEdit, window: range, now: loadedAt } = useLoaderData<typeof loader>();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const revalidator = useRevalidator();
  // Printed times are in the page's zone (the tz cookie; UTC unless switched) and name it.
  const zone = useTimeZone();
  const stamp = (ms: number) => formatStamp(ms, zone);
  const waiting = charts[0].series.length === 0;
  // Refresh the overview and table; the charts stay live on their stream. An outage refreshes sooner, so recovery shows quickly.
  useEffect(() => {
    const t = setInterval(() => revalidator.state === 'idle' && revalidator.revalidate(), waiting || outage ? 3000 : 10_000);
    return () => clearInterval(t);
  }, [waiting, outage, revalidator]);
  // Ages and the retry countdown follow the clock between refreshes (the server's time until hydrated).
  const [now, setNow] = useState(loadedAt);
  useEffect(() => {
    setNow(Date.now());
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [loadedAt]);
  const confirm = canEdit && (params.get('confirm') === 'delete' || params.get('confirm') === 'disable') ? (params.get('confirm') as 'delete' | 'disable') : null;
  const lastPointStale = isStale(lastPointAt, now, intervalMs ?? undefined);
  // Always an outage layer (empty while there is none): an outage beginning or ending changes its band, never re-draws the chart.
  const chartOutage = outage && outage.kind !== 'disabled' ? { since: outage.since, label: outageLine({ ...outage, retryAt: undefined }, loadedAt, zone) } : NO_OUTAGE;
  // A live range keeps the window it was opened with (the charts slide it themselves): refreshes of the
  // overview must not redraw them; a new range (picker, zoom, shift) does.
  const rangeKey = `${range.key}|${range.live}|${range.key === 'custom' ? `${range.from}-${range.to}` : ''}`;
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const window = useMemo(() => range, [rangeKey]);
  const zoom = (from: number, to: number) => navigate(customRangeSearch(from, to));
  const allIds = charts.flatMap((c) => c.series.map((s) => s.id));
  const state = !device.enabled ? 'disabled' : (status?.state ?? 'not started');
  const labMode = device.protocol === 'gnmi' && (device.tls === 'insecure' || device.tls === 'skip-verify');
  return (
    <section>
      <div className="page-head">
        <h1>{device.name}</h1>
        {canEdit ? (
          <div className="actions">
            <Link to={`/devices/${device.id}/edit`} className="button">
              Edit
            </Link>
            {status?.paused ? <Button intent="resume" label="Resume" title={PAUSE_HELP} /> : <Button intent="pause" label="Pause" title={PAUSE_HELP} />}
            {device.enabled ? (
              <Link to="?confirm=disable" className="button secondary" data-testid="action-disable" title={DISABLE_HELP}>
                Disable
              </Link>
            ) : (
              <Button intent="enable" label="Enable" />
            )}
            <Link to="?confirm=delete" className="button danger" data-testid="action-delete">
              Delete
            </Link>
          </div>
        ) : null}
      </div>
      {canEdit ? (
        <p className="muted small" data-testid="pause-disable-help">
          {PAUSE_HELP} {DISABLE_HELP}
        </p>
      ) : null}
      {confirm ? <Confirm intent={confirm} deviceName={device.name} deviceId={device.id} /> : null}
      {outage ? <OutageLine outage={outage} now={now} testId="outage" /> : null}
      {alerts.length > 0 ? <AlertsPanel alerts={alerts} zone={zone} now={loadedAt} /> : null}
      {parked ? (
        <div className="card parked" data-testid="parked-advice">
          <p>
            <strong>Collection is parked ({parked.state === 'auth-failed' ? 'credentials refused' : 'configuration not usable'}).</strong> {parked.action}
          </p>
          {canEdit ? <Button intent="resume" label="Retry now" className="" /> : null}
          {parked.deviceLimitation ? (
            <p data-testid="device-limitation">This is a limitation of the device, not a mistake in our configuration: retrying will not help until the profile or the device changes.</p>
          ) : null}
        </div>
      ) : null}
      <div className="grid">
        <div className="card span-6">
          <h2>Overview</h2>
          <dl className="facts">
            <dt>Session</dt>
            <dd>
              <span className={`state state-${state}`} data-testid="session-state">
                {state}
              </span>
              {status?.paused ? <span className="muted"> (paused)</span> : null}
            </dd>
            <dt>Since</dt>
            <dd>{status ? `${stamp(status.since)} (${ago(status.since, now)})` : '—'}</dd>
            <dt>Attempt</dt>
            <dd>{status ? `${status.attempt} (configuration generation ${status.generation})` : '—'}</dd>
            <dt>Last point</dt>
            <dd data-testid="last-point" className={lastPointStale ? 'stale' : undefined}>
              {lastPointAt ? `${formatTime(lastPointAt, zone, now)} (${ago(lastPointAt, now)})` : '—'}
              {lastPointAt && lastPointStale ? <span className="badge stale-badge"> stale</span> : null}
            </dd>
            <dt>Last error</dt>
            <dd className={lastError?.current ? 'error-text' : 'muted'} data-testid="last-error">
              {lastError ? (
                <>
                  <span data-testid="last-error-when">
                    {lastError.current ? '' : 'earlier connection · '}
                    {lastError.at ? `${stamp(lastError.at)} (${ago(lastError.at, now)})` : 'time not recorded'}:{' '}
                  </span>
                  {tidy(lastError.message)}
                </>
              ) : (
                'none'
              )}
            </dd>
            {drops.length > 0 ? (
              <>
                <dt>Points refused</dt>
                <dd className="error-text" data-testid="ingest-drops">
                  {drops.map((d) => `${d.points.toLocaleString('en')} ${DROP_REASONS[d.reason] ?? d.reason} (last ${ago(d.lastAt, now)})`).join(' · ')}
                </dd>
              </>
            ) : null}
            <dt>Address</dt>
            <dd>
              {protocolLabel(device.protocol)} · {device.host}:{device.port}
              {device.site ? ` · site ${device.site}` : ''}
            </dd>
            {device.protocol === 'gnmi' ? (
              <>
                <dt>Encoding</dt>
                <dd data-testid="gnmi-encoding">
                  {status?.encoding ?? '—'}
                  {status?.capabilities && status.capabilities !== 'answered' ? (
                    <span className="muted">
                      {status.capabilities === 'unimplemented'
                        ? ' · the device does not implement Capabilities (subscribed without it)'
                        : ' · Capabilities not answered in time (subscribed without it)'}
                    </span>
                  ) : null}
                </dd>
              </>
            ) : null}
            <dt>Workflow</dt>
            <dd>
              <a href={workflowUrl} target="_blank" rel="noreferrer">
                Session history in Temporal Web
              </a>{' '}
              ·{' '}
              <a href={workflowRunsUrl} target="_blank" rel="noreferrer" data-testid="workflow-runs">
                all its runs
              </a>
            </dd>
          </dl>
        </div>
        <div className="card span-6">
          <h2>Security</h2>
          {device.protocol === 'gnmi' ? (
            <p>
              {TLS_MODE_LABELS[device.tls as keyof typeof TLS_MODE_LABELS] ?? device.tls}
              {labMode ? <span className="badge warn"> lab mode</span> : null}
            </p>
          ) : (
            <div>
              <p>
                SSH host key:{' '}
                {device.hostKey ? (
                  <code data-testid="host-key">{device.hostKey}</code>
                ) : device.acceptNewHostKey ? (
                  <span className="muted">first use approved; the key is pinned on the next connection</span>
                ) : (
                  <span className="muted">unknown — the session refuses to connect until you approve the key or paste its fingerprint</span>
                )}
              </p>
              {canEdit && !device.hostKey && !device.acceptNewHostKey ? <Button intent="approve-host-key" label="Approve first use" className="" /> : null}
              {canEdit && device.hostKey ? <Button intent="forget-host-key" label="Forget pinned key (device key changed)" /> : null}
              {events.length > 0 ? (
                <ul className="small muted" data-testid="host-key-events">
                  {events.map((e) => (
                    <li key={e.id}>
                      {stamp(e.at)} · {HOST_KEY_EVENTS[e.kind]} by {e.actor}
                      {typeof e.detail.fingerprint === 'string' ? <code> {e.detail.fingerprint}</code> : null}
                      {typeof e.detail.via === 'string' ? ` (${e.detail.via})` : ''}
                    </li>
                  ))}
                </ul>
              ) : null}
            </div>
          )}
          <h2>Recent gaps</h2>
          {gaps.length === 0 ? (
            <p className="muted">No gaps recorded.</p>
          ) : (
            <ul className="gaps">
              {gaps.map((g) => (
                <li key={g.from}>
                  {stamp(g.from)} — {Math.round((g.to - g.from) / 100) / 10} s: {g.reason}
                </li>
              ))}
            </ul>
          )}
        </div>
      </div>
      <div className="card">
        <h2>Interfaces</h2>
        {interfaces.length === 0 ? (
          <p className="muted">No interface data yet.</p>
        ) : (
          <table data-testid="interfaces">
            <thead>
              <tr>
                <th>Interface</th>
                <th>Oper-status</th>
                <th className="num">In</th>
                <th className="num">Out</th>
                <th className="num">In errors</th>
                <th className="num">Out errors</th>
              </tr>
            </thead>
            <tbody>
              {interfaces.map((i) => {
                // A row is current only while its counters are fresh and the session is not in an outage;
                // otherwise it says when it was true and is never drawn as current state.
                const at = i.updatedAt ?? i.operStatusAt;
                const stale = outage !== null || isStale(at, now, i.intervalMs);
                const asOf = stale && at ? `as of ${formatTime(at, zone, now)}` : undefined;
                return (
                  <tr key={i.name} className={stale ? 'stale' : undefined} data-stale={stale ? 'yes' : 'no'} title={asOf}>
                    <td>{i.name}</td>
                    <td>
                      <span className={stale ? 'state state-stale' : `state state-oper-${(i.operStatus ?? '').toLowerCase()}`}>{i.operStatus ?? '—'}</span>
                      {asOf ? <span className="muted small as-of"> {asOf}</span> : null}
                    </td>
                    <td className="num">{formatValue(i.inBps, 'bits/s')}</td>
                    <td className="num">{formatValue(i.outBps, 'bits/s')}</td>
                    <td className="num">{i.inErrors ?? '—'}</td>
                    <td className="num">{i.outErrors ?? '—'}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </div>
      <div className="card">
        <RangePicker window={range} />
        <RangeNav window={range} now={loadedAt} />
      </div>
      <LiveStreamProvider seriesIds={allIds} live={window.live} alerts={{ devices: [device.name], windowMs: window.to - window.from }}>
        <div className="grid">
          {charts.map((c, i) => (
            <div className={`card ${i < 2 ? 'span-12' : 'span-4'}`} key={c.key}>
              <h2>{c.title}</h2>
              {c.series.length === 0 ? (
                <p className="muted">Waiting for the first data from this device…</p>
              ) : (
                <LiveChart
                  series={c.series}
                  rate={c.rate}
                  scale={c.scale}
                  unit={c.unit}
                  kind={c.kind}
                  height={i < 2 ? 220 : 140}
                  from={window.from}
                  to={window.to}
                  live={window.live}
                  onZoom={zoom}
                  testId={i === 0 ? 'live-chart' : `chart-${c.key}`}
                  label={c.title}
                  outage={chartOutage}
                  markers={markers}
                  markerDevices={[device.name]}
                />
              )}
            </div>
          ))}
        </div>
      </LiveStreamProvider>
    </section>
  );
}
