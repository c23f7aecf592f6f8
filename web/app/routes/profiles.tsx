/** Subscription profiles: what to collect, attachable to many devices. */
import { Link, useLoaderData } from 'react-router';
import type { Route } from './+types/profiles';
import { requireUser } from '../lib/auth.server';
import { ctx } from '../lib/context.server';
import { parseProfileRow } from '../../../storage/devices';
import { listProfilesWithUse } from '../../../storage/profiles';
import { formatDuration } from '../lib/forms';
import { PROFILE_EXPLAINED } from '../lib/profile-fields';

export function meta() {
  return [{ title: 'Subscription profiles · switch-telemetry' }];
}

export async function loader({ request }: Route.LoaderArgs) {
  const user = await requireUser(request);
  const { db } = ctx();
  const rows = await listProfilesWithUse(db);
  return {
    canEdit: user.role === 'admin',
    profiles: rows.map((r) => {
      let summary = '';
      try {
        const p = parseProfileRow(r);
        summary = p.gnmi
          ? `${p.gnmi.mode}: ${p.gnmi.subscriptions.length} path${p.gnmi.subscriptions.length === 1 ? '' : 's'}`
          : `${p.netconf!.method} every ${formatDuration(p.netconf!.periodMs)}`;
      } catch (err) {
        summary = (err as Error).message;
      }
      return { id: r.id as number, name: r.name as string, protocol: r.protocol as string, description: r.description as string | null, devices: r.devices as number, summary };
    }),
  };
}

export default function Profiles() {
  const { profiles, canEdit } = useLoaderData<typeof loader>();
  return (
    <section>
      <div className="page-head">
        <h1>Subscription profiles</h1>
        {canEdit ? (
          <Link to="/profiles/new" className="button">
            New profile
          </Link>
        ) : null}
      </div>
      <p className="muted" data-testid="profile-explained">{PROFILE_EXPLAINED}</p>
      <table>
        <thead>
          <tr>
            <th>Name</th>
            <th>Protocol</th>
            <th>Collects</th>
            <th className="num">Devices</th>
          </tr>
        </thead>
        <tbody>
          {profiles.map((p) => (
            <tr key={p.id}>
              <td>
                <Link to={`/profiles/${p.id}`}>{p.name}</Link>
                {p.description ? <div className="muted small">{p.description}</div> : null}
              </td>
              <td>{p.protocol}</td>
              <td>{p.summary}</td>
              <td className="num">{p.devices}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
