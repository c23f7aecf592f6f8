/** The device list: session state, points/s and last seen; pause/resume and enable/disable for admins. */
import { Form, Link, useLoaderData } from 'react-router';
import type { Route } from './+types/devices';
import { requireUser } from '../lib/auth.server';
import { ctx } from '../lib/context.server';
import { deviceActivity } from '../lib/devices.server';
import { ago } from '../lib/format';
import { sessionStatuses, workflowUrl } from '../lib/sessions.server';
import { lastErrorFact } from '../lib/session-facts';

export function meta() {
  return [{ title: 'Devices · switch-telemetry' }];
}

export async function loader({ request }: Route.LoaderArgs) {
  const user = await requireUser(request);
  const { db } = ctx();
  const devices = await db('devices').select('id', 'name', 'protocol', 'host', 'port', 'site', 'enabled').orderBy('name');
  const ids = devices.map((d) => d.id as number);
  const [statuses, activity] = await Promise.all([sessionStatuses(ids), deviceActivity(db, ids)]);
  return {
    canEdit: user.role === 'admin',
    devices: devices.map((d) => {
      const s = statuses.get(d.id);
      const a = activity.get(d.id);
      const e = lastErrorFact(s);
      return {
        ...d,
        state: s?.state ?? (statuses.size && !s ? 'not started' : 'unknown'),
        paused: s?.paused ?? false,
        // The state badge's tooltip: a recovered session's error is labelled as an earlier connection's (as on the device page).
        lastError: e ? `${e.current ? '' : 'earlier connection: '}${e.message}` : null,
        pointsPerSecond: a?.pointsPerSecond ?? 0,
        lastSeen: Math.max(a?.lastSeen ?? 0, s?.lastPointAt ?? 0) || null,
        workflowUrl: workflowUrl(d.id),
      };
    }),
  };
}

function ActionButton({ id, intent, label, className = 'secondary' }: { id: number; intent: string; label: string; className?: string }) {
  return (
    <Form method="post" action={`/devices/${id}`} className="inline">
      <input type="hidden" name="intent" value={intent} />
      <input type="hidden" name="redirectTo" value="/devices" />
      <button type="submit" className={className}>
        {label}
      </button>
    </Form>
  );
}

export default function Devices() {
  const { devices, canEdit } = useLoaderData<typeof loader>();
  return (
    <section>
      <div className="page-head">
        <h1>Devices</h1>
        {canEdit ? (
          <div className="actions">
            <Link to="/devices/new" className="button">
              Add device
            </Link>
            <Link to="/devices/import" className="button secondary">
              Import
            </Link>
          </div>
        ) : null}
      </div>
      {devices.length === 0 ? (
        <p className="muted">No devices yet.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Name</th>
              <th>Protocol</th>
              <th>Address</th>
              <th>Site</th>
              <th>Session</th>
              <th className="num">Points/s</th>
              <th>Last seen</th>
              <th></th>
            </tr>
          </thead>
          <tbody>
            {devices.map((d) => (
              <tr key={d.id}>
                <td>
                  <Link to={`/devices/${d.id}`}>{d.name}</Link>
                </td>
                <td>{d.protocol}</td>
                <td>
                  {d.host}:{d.port}
                </td>
                <td>{d.site ?? ''}</td>
                <td>
                  <span className={`state state-${d.enabled ? d.state : 'disabled'}`} data-testid={`state-${d.name}`} title={d.lastError ?? undefined}>
                    {d.enabled ? d.state : 'disabled'}
                  </span>
                </td>
                <td className="num">{d.pointsPerSecond.toFixed(1)}</td>
                <td>{ago(d.lastSeen)}</td>
                <td className="row-actions">
                  <a href={d.workflowUrl} target="_blank" rel="noreferrer" title="The device's session workflow in Temporal Web">
                    workflow
                  </a>
                  {canEdit ? (
                    <>
                      {d.paused ? <ActionButton id={d.id} intent="resume" label="Resume" /> : <ActionButton id={d.id} intent="pause" label="Pause" />}
                      {d.enabled ? <ActionButton id={d.id} intent="disable" label="Disable" /> : <ActionButton id={d.id} intent="enable" label="Enable" />}
                    </>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
