/**
 * Collectors (admins only; issue 20, ADR 110): the collector registry as `ctl collectors`
 * prints it — version, start, lease age (a lapsed lease shown as lost), sessions held of
 * capacity, CPU, event-loop p99, draining — with Drain and Undrain. Drain takes a second,
 * explicit step naming the collector and its sessions (ConfirmStep, works without
 * JavaScript); the control worker's placement monitor then moves the sessions off, and the
 * page re-reads the registry every 2 s (a <noscript> refresh without JavaScript) until a
 * draining collector is empty.
 */
import { useEffect } from 'react';
import { Form, Link, data, redirect, useLoaderData, useRevalidator, useSearchParams } from 'react-router';
import { z } from 'zod';
import type { Route } from './+types/collectors';
import { requireAdmin, requireAdminAction } from '../lib/auth.server';
import { ctx } from '../lib/context.server';
import { setFlash } from '../lib/flash.server';
import { formatStamp } from '../lib/time-format';
import { zoneFromCookie } from '../lib/timezone';
import { ConfirmStep, isConfirmed } from '../components/ConfirmStep';
import { listCollectors, setDraining } from '../../../storage/collectors';

/** How often the open page re-reads the registry (leases renew every second). */
const REFRESH_MS = 2000;

export function meta() {
  return [{ title: 'Collectors · switch-telemetry' }];
}

export async function loader({ request }: Route.LoaderArgs) {
  await requireAdmin(request);
  const collectors = await listCollectors(ctx().db);
  return {
    zone: zoneFromCookie(request.headers.get('cookie')),
    collectors: collectors.map((c) => ({
      id: c.id,
      version: c.version,
      startedAt: new Date(c.startedAt).getTime(),
      leaseAgeMs: c.leaseAgeMs,
      live: c.live,
      draining: c.draining,
      capacity: c.capacity,
      running: c.running,
      placed: c.placed,
      cpu: c.cpu ?? null,
      loopP99Ms: c.loopP99Ms ?? null,
    })),
  };
}

const Intent = z.enum(['drain', 'undrain']);
const sessions = (n: number) => `${n} session${n === 1 ? '' : 's'}`;

export async function action({ request }: Route.ActionArgs) {
  const user = await requireAdminAction(request);
  const { db } = ctx();
  const form = await request.formData();
  const intent = Intent.safeParse(form.get('intent'));
  if (!intent.success) throw data('Unknown action', { status: 400 });
  const id = String(form.get('collector') ?? '');
  const row = (await listCollectors(db)).find((c) => c.id === id);
  if (!row) throw data('No such collector', { status: 404 });
  // Drain takes a second, explicit step (the confirmation panel), with or without JavaScript.
  if (intent.data === 'drain' && !isConfirmed(form)) return redirect(`/collectors?confirm=drain&collector=${encodeURIComponent(id)}`);
  if (!(await setDraining(db, id, intent.data === 'drain'))) throw data('No such collector', { status: 404 });
  const message =
    intent.data === 'drain'
      ? `${id} is draining (by ${user.email}): ${row.running === 0 ? 'it holds no session' : `its ${sessions(row.running)} move to other collectors`}`
      : `${id} takes sessions again (undrained by ${user.email})`;
  return redirect('/collectors', { headers: { 'Set-Cookie': await setFlash({ kind: 'info', message }) } });
}

type Row = Awaited<ReturnType<typeof loader>>['collectors'][number];

/** The state column: lost (lease lapsed), draining with sessions left or empty, or live. */
function State({ c }: { c: Row }) {
  if (!c.live) return <span className="state state-stale">lost</span>;
  if (c.draining) {
    return <span className="state state-paused">{c.running === 0 ? 'draining — empty' : `draining — ${sessions(c.running)} left`}</span>;
  }
  return <span className="state state-streaming">live</span>;
}

export default function Collectors() {
  const { zone, collectors } = useLoaderData<typeof loader>();
  const [params] = useSearchParams();
  const revalidator = useRevalidator();
  useEffect(() => {
    const t = setInterval(() => revalidator.state === 'idle' && void revalidator.revalidate(), REFRESH_MS);
    return () => clearInterval(t);
  }, [revalidator]);
  const draining = collectors.some((c) => c.live && c.draining && c.running > 0);
  const confirming = params.get('confirm') === 'drain' ? collectors.find((c) => c.id === params.get('collector')) : undefined;
  const others = collectors.filter((c) => c.live && !c.draining && c.id !== confirming?.id).length;
  return (
    <section>
      {draining ? (
        <noscript>
          <meta httpEquiv="refresh" content={String(REFRESH_MS / 1000)} />
        </noscript>
      ) : null}
      <h1>Collectors</h1>
      <p className="muted">
        Every collector in the registry (ADR 110) with the lease it renews every second. Drain moves its sessions to the other collectors by clean
        hand-overs before an upgrade, the same as <code>ctl drain</code>.
      </p>
      {confirming ? (
        <ConfirmStep
          intent="drain"
          text={`Drain ${confirming.id}? ${
            confirming.running === 0 ? 'It holds no session now' : `Its ${sessions(confirming.running)} move to other collectors, a few at a time,`
          } and it takes no new sessions until Undrain.${
            others === 0 ? ' No other live collector takes sessions now: they stay until one does.' : ''
          }`}
          label={`Drain ${confirming.id}`}
          cancelTo="/collectors"
          fields={{ collector: confirming.id }}
        />
      ) : null}
      {collectors.length === 0 ? (
        <p data-testid="no-collectors">No collector registered.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Collector</th>
              <th>State</th>
              <th className="num">Sessions / capacity</th>
              <th className="num">CPU</th>
              <th className="num">Event-loop p99</th>
              <th>Version</th>
              <th>Started</th>
              <th>Lease</th>
              <th></th>
            </tr>
          </thead>
          <tbody>
            {collectors.map((c) => (
              <tr key={c.id} data-testid={`collector-${c.id}`}>
                <td>{c.id}</td>
                <td data-testid="collector-state">
                  <State c={c} />
                </td>
                <td className="num" title={`${c.placed} placed on it`}>
                  {c.running} / {c.capacity}
                </td>
                <td className="num">{c.cpu === null ? '—' : `${(c.cpu * 100).toFixed(0)} %`}</td>
                <td className="num">{c.loopP99Ms === null ? '—' : `${c.loopP99Ms.toFixed(0)} ms`}</td>
                <td>{c.version}</td>
                <td>{formatStamp(c.startedAt, zone)}</td>
                <td>{c.live ? `renewed ${(c.leaseAgeMs / 1000).toFixed(1)} s ago` : <span className="warning">stale: lapsed, last renewed {(c.leaseAgeMs / 1000).toFixed(0)} s ago</span>}</td>
                <td>
                  {!c.live ? null : c.draining ? (
                    <Form method="post" className="inline">
                      <input type="hidden" name="intent" value="undrain" />
                      <input type="hidden" name="collector" value={c.id} />
                      <button type="submit" className="secondary" data-testid="action-undrain">
                        Undrain
                      </button>
                    </Form>
                  ) : (
                    <Link to={`?confirm=drain&collector=${encodeURIComponent(c.id)}`} className="button danger" data-testid="action-drain">
                      Drain
                    </Link>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
