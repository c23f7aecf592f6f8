/**
 * `/devices/bulk/:bulkId`: one bulk action's progress, then its result per device
 * (issue 19, ADR 136). The confirmed bulk form answers with this page while the action
 * runs as a workflow on the control worker (ADR 170); an unfinished action recorded before
 * that ran inside a web process and is shown as interrupted. Without JavaScript the page refreshes itself every
 * second (`<noscript><meta http-equiv=refresh>`) until the action is done; with
 * JavaScript it re-reads the record every second in place. Both read bulk_actions
 * (done, failed, of how many), which the runner updates while it works.
 */
import { useEffect } from 'react';
import { Link, useLoaderData, useRevalidator } from 'react-router';
import type { Route } from './+types/devices-bulk-progress';
import { requireAdmin } from '../lib/auth.server';
import { ctx, temporalClient } from '../lib/context.server';
import { withTimeout } from '../lib/sessions.server';
import { getBulkAction } from '../../../storage/bulk-actions';
import { settleEndedBulkActions } from '../../../fleet/bulk';
import { BULK_ACTION_LABELS, describeFilter, filterFromParams, type BulkAction } from '../../../core/device-filter';
import { BulkResultTable } from '../components/BulkResults';

/** Most results listed here (failures first); all are recorded and listed by `/devices/bulk?id=`. */
const SHOWN_RESULTS = 500;

export function meta({ data }: Route.MetaArgs) {
  return [{ title: `${data?.finished ? 'Bulk action done' : 'Bulk action running'} · switch-telemetry` }];
}

export async function loader({ request, params }: Route.LoaderArgs) {
  await requireAdmin(request);
  const id = Number(params.bulkId);
  if (!Number.isInteger(id) || id <= 0 || id >= 2 ** 53) throw new Response('Not found', { status: 404 });
  let a = await getBulkAction(ctx().db, id);
  if (!a) throw new Response('Not found', { status: 404 });
  // Running by the record: is its workflow still running? One terminated by hand is recorded as interrupted (bounded: Temporal away leaves the record as it is).
  if (a.finishedAt === null && a.workflowId) {
    const marked = await withTimeout(temporalClient().then((client) => settleEndedBulkActions(ctx().db, client, [id])), 2000).catch(() => []);
    if (marked.length > 0) a = (await getBulkAction(ctx().db, id)) ?? a;
  }
  const results = a.results ?? [];
  const shown = [...results.filter((r) => !r.ok), ...results.filter((r) => r.ok)].slice(0, SHOWN_RESULTS);
  return {
    id: a.id,
    label: BULK_ACTION_LABELS[a.action as BulkAction] ?? a.action,
    who: a.who,
    selection: a.selection === 'filter' ? `all matching ${describeFilter(filterFromParams(new URLSearchParams(a.filter)))}` : 'the rows selected',
    filter: a.filter,
    count: a.count,
    done: a.done,
    failed: a.failed,
    // An action a web process ran (before ADR 170) and never finished: nothing carries it on.
    finished: a.finishedAt !== null || a.interrupted,
    interrupted: a.interrupted,
    error: a.error,
    seconds: ((a.finishedAt ?? new Date()).getTime() - a.startedAt.getTime()) / 1000,
    workflowId: a.workflowId,
    results: shown,
    allResults: results.length,
  };
}

export default function BulkProgress() {
  const a = useLoaderData<typeof loader>();
  const revalidator = useRevalidator();
  // JavaScript on: re-read the record every second until the action is done (the <noscript> refresh does this without).
  useEffect(() => {
    if (a.finished) return;
    const timer = setTimeout(() => void revalidator.revalidate(), 1000);
    return () => clearTimeout(timer);
  }, [a, revalidator]);
  const n = (x: number) => x.toLocaleString('en');
  const back = a.filter ? `/devices?${a.filter}` : '/devices';
  return (
    <section>
      {a.finished ? null : (
        <noscript>
          <meta httpEquiv="refresh" content="1" />
        </noscript>
      )}
      <div className="page-head">
        <h1>
          Bulk action #{a.id}: {a.label}
        </h1>
        <Link to="/devices/bulk" className="button secondary">
          Bulk actions
        </Link>
      </div>
      <p className="muted">
        {a.label} on {n(a.count)} device{a.count === 1 ? '' : 's'} ({a.selection}) by {a.who}.
      </p>
      {a.finished ? null : (
        <div className="notice" data-testid="bulk-progress">
          <progress max={a.count} value={a.done} />{' '}
          <span data-testid="bulk-progress-text">
            Working: {n(a.done)} of {n(a.count)} devices done, {n(a.failed)} failed, {a.seconds.toFixed(0)} s so far…
          </span>
        </div>
      )}
      {a.interrupted ? (
        <p className="error" data-testid="bulk-interrupted">
          Interrupted: this action ran inside a web process that stopped before it finished (before bulk actions ran as
          workflows). {n(a.done)} of {n(a.count)} devices were done then ({n(a.failed)} failed); the others were not acted on.{' '}
          <Link to={back}>Back to the devices</Link>
        </p>
      ) : null}
      {a.error ? (
        <p className="error" data-testid="bulk-error">
          The action stopped: {a.error}
        </p>
      ) : null}
      {a.finished && !a.error && !a.interrupted ? (
        <div data-testid="bulk-done">
          <p data-testid="bulk-summary">
            {a.label}: {n(a.done - a.failed)} of {n(a.count)} acknowledged, {n(a.failed)} failed, in {a.seconds.toFixed(1)} s. <Link to={back}>Back to the devices</Link>
            {a.results.length < a.allResults ? (
              <>
                {' '}
                · first {a.results.length} shown (failures first); <Link to={`/devices/bulk?id=${a.id}`}>all results</Link>
              </>
            ) : null}
          </p>
          <BulkResultTable results={a.results} />
        </div>
      ) : null}
    </section>
  );
}
