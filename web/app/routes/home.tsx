/** The device list: every device with its session state. */
import { Link } from 'react-router';
import type { Route } from './+types/home';
import { ctx, temporalClient } from '../lib/context.server';
import { deviceStatus } from '../../../activities/fleet';

export function meta() {
  return [{ title: 'Devices · switch-telemetry' }];
}

export async function loader() {
  const { db } = ctx();
  const devices = await db('devices').select('id', 'name', 'protocol', 'host', 'port', 'enabled').orderBy('name');
  const client = await temporalClient().catch(() => undefined);
  const states = await Promise.all(
    devices.map(async (d) => {
      if (!client) return 'unknown';
      const s = await withTimeout(deviceStatus(client, d.id), 2000).catch(() => undefined);
      return s?.state ?? 'not started';
    }),
  );
  return { devices: devices.map((d, i) => ({ ...d, state: states[i] })) };
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error('timeout')), ms))]);
}

export default function Home({ loaderData }: Route.ComponentProps) {
  const { devices } = loaderData;
  return (
    <section>
      <h1>Devices</h1>
      {devices.length === 0 ? (
        <p className="muted">No devices yet.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Name</th>
              <th>Protocol</th>
              <th>Address</th>
              <th>Session</th>
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
                <td>
                  <span className={`state state-${d.state}`} data-testid={`state-${d.name}`}>
                    {d.enabled ? d.state : 'disabled'}
                  </span>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
