/**
 * The sites view: each site with its device count, devices per session state and
 * points/s over the last 10 s; each figure links to the devices view filtered to it.
 */
import { Link, useLoaderData } from 'react-router';
import type { Route } from './+types/sites';
import { requireUser } from '../lib/auth.server';
import { ctx } from '../lib/context.server';
import { fleetStateMirror } from '../lib/fleet-state.server';
import { siteSummaries } from '../../../storage/device-list';
import { filterToParams, type ListState } from '../../../core/device-filter';

export function meta() {
  return [{ title: 'Sites · switch-telemetry' }];
}

const STATES: ListState[] = ['streaming', 'connecting', 'backoff', 'auth-failed', 'config-invalid', 'paused', 'disabled', 'not started'];

export async function loader({ request }: Route.LoaderArgs) {
  await requireUser(request);
  await fleetStateMirror();
  return { sites: await siteSummaries(ctx().db) };
}

const devicesHref = (site: string | null, state?: ListState) => `/devices?${filterToParams({ site: site ?? undefined, state }).toString()}`;

export default function Sites() {
  const { sites } = useLoaderData<typeof loader>();
  return (
    <section>
      <div className="page-head">
        <h1>Sites</h1>
        <Link to="/devices" className="button secondary">
          Devices
        </Link>
      </div>
      {sites.length === 0 ? (
        <p className="muted">No devices yet.</p>
      ) : (
        <table data-testid="sites-table">
          <thead>
            <tr>
              <th>Site</th>
              <th className="num">Devices</th>
              {STATES.map((s) => (
                <th key={s} className="num">
                  {s}
                </th>
              ))}
              <th className="num">Points/s</th>
            </tr>
          </thead>
          <tbody>
            {sites.map((s) => (
              <tr key={s.site ?? ''} data-testid={`site-${s.site ?? 'none'}`}>
                <td>{s.site === null ? <span className="muted">no site</span> : <Link to={devicesHref(s.site)}>{s.site}</Link>}</td>
                <td className="num">{s.devices.toLocaleString('en')}</td>
                {STATES.map((st) => (
                  <td key={st} className="num">
                    {s.states[st] ? (
                      s.site === null ? (
                        s.states[st]!.toLocaleString('en')
                      ) : (
                        <Link to={devicesHref(s.site, st)} data-testid={`site-${s.site}-${st.replace(' ', '-')}`}>
                          {s.states[st]!.toLocaleString('en')}
                        </Link>
                      )
                    ) : (
                      <span className="muted">0</span>
                    )}
                  </td>
                ))}
                <td className="num">{s.pointsPerSecond.toFixed(1)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
