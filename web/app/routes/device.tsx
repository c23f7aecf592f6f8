/** A device: session overview and a live chart of one interface's inbound traffic. */
import { data, useRevalidator } from 'react-router';
import { useEffect } from 'react';
import type { Route } from './+types/device';
import { ctx, temporalClient } from '../lib/context.server';
import { deviceStatus } from '../../../activities/fleet';
import { listGaps } from '../../../activities/db/gaps';
import { LiveChart } from '../components/LiveChart';

const IN_OCTETS = (itf: string) => `/interfaces/interface[name=${itf}]/state/counters/in-octets`;

export function meta({ data }: Route.MetaArgs) {
  return [{ title: `${data?.device.name ?? 'Device'} · switch-telemetry` }];
}

export async function loader({ params }: Route.LoaderArgs) {
  const id = Number(params.deviceId);
  if (!Number.isInteger(id) || id <= 0) throw data('No such device', 404);
  const { db, config } = ctx();
  const device = await db('devices').where({ id }).first('id', 'name', 'protocol', 'host', 'port', 'enabled');
  if (!device) throw data('No such device', 404);
  const series = await db('series').where({ device_id: id, path: IN_OCTETS('Ethernet1') }).first('id', 'path');
  const client = await temporalClient().catch(() => undefined);
  const status = client ? await deviceStatus(client, id).catch(() => undefined) : undefined;
  const gaps = await listGaps(db, id, 5);
  const workflowUrl = `${config.TEMPORAL_UI_URL}/namespaces/${config.TEMPORAL_NAMESPACE}/workflows/${encodeURIComponent(`device-session/${id}`)}`;
  return { device, series: series ?? null, status: status ?? null, gaps, workflowUrl };
}

export default function Device({ loaderData }: Route.ComponentProps) {
  const { device, series, status, gaps, workflowUrl } = loaderData;
  const revalidator = useRevalidator();
  useEffect(() => {
    if (series) return;
    const t = setInterval(() => revalidator.revalidate(), 2000);
    return () => clearInterval(t);
  }, [series, revalidator]);
  return (
    <section>
      <h1>{device.name}</h1>
      <div className="card">
        <p>
          {device.protocol} · {device.host}:{device.port} · session{' '}
          <span className={`state state-${status?.state}`} data-testid="session-state">
            {status?.state ?? 'not started'}
          </span>
          {status?.lastError ? <span className="muted"> — {status.lastError}</span> : null}
        </p>
        <p>
          <a href={workflowUrl} target="_blank" rel="noreferrer">
            Session history in Temporal Web
          </a>
        </p>
      </div>
      <div className="card">
        <h2>Ethernet1 inbound</h2>
        {series ? (
          <LiveChart series={[{ id: series.id, label: 'Ethernet1 in' }]} rate scale={8} unit="bits/s" />
        ) : (
          <p className="muted">Waiting for the first data from this device…</p>
        )}
      </div>
      {gaps.length > 0 ? (
        <div className="card">
          <h2>Recent gaps</h2>
          <ul>
            {gaps.map((g) => (
              <li key={g.from}>
                {new Date(g.from).toISOString()} → {new Date(g.to).toISOString()} ({Math.round((g.to - g.from) / 100) / 10} s): {g.reason}
              </li>
            ))}
          </ul>
        </div>
      ) : null}
    </section>
  );
}
