/**
 * Bulk actions on devices (admins): the devices view posts the rows picked, or
 * "all N matching this filter", with an action; this page asks for confirmation
 * stating the count, starts it (fleet/bulk.ts: a workflow on the control worker, ADR 170,
 * signals or updates with bounded concurrency) and answers with its progress page (devices-bulk-progress.tsx), which
 * ends with the result per device. Plain form posts: works without JavaScript.
 * GET lists recorded bulk actions (who, when, filter, count, progress).
 */
import { Form, Link, data, redirect, useActionData, useLoaderData, useNavigation } from 'react-router';
import { z } from 'zod';
import type { Route } from './+types/devices-bulk';
import { requireAdmin, requireAdminAction } from '../lib/auth.server';
import { ctx, temporalClient } from '../lib/context.server';
import { withTimeout } from '../lib/sessions.server';
import { formatStamp } from '../lib/time-format';
import { useTimeZone } from '../components/TimeZone';
import { selectFilteredDevices } from '../../../storage/device-list';
import { settleEndedBulkActions, startBulkAction } from '../../../fleet/bulk';
import { bulkActionResults, recentBulkActions } from '../../../storage/bulk-actions';
import { BulkResultTable } from '../components/BulkResults';
import { getProfileRef } from '../../../storage/profiles';
import { protocolLabel } from '../../../core/profile-protocol';
import { BULK_ACTIONS, BULK_ACTION_LABELS, describeFilter, filterFromParams, type BulkAction } from '../../../core/device-filter';

export function meta() {
  return [{ title: 'Bulk actions · switch-telemetry' }];
}

export async function loader({ request }: Route.LoaderArgs) {
  await requireAdmin(request);
  const { db } = ctx();
  const id = Number(new URL(request.url).searchParams.get('id'));
  const detail =
    Number.isInteger(id) && id > 0 && id < 2 ** 53
      ? await bulkActionResults(db, id)
      : undefined;
  let recent = await recentBulkActions(db);
  // Running by their records: those whose workflow ended (terminated by hand) are recorded as interrupted.
  const unfinished = recent.filter((r) => !r.finishedAt && r.workflowId).map((r) => r.id);
  if (unfinished.length > 0) {
    const marked = await withTimeout(temporalClient().then((client) => settleEndedBulkActions(db, client, unfinished)), 2000).catch(() => []);
    if (marked.length > 0) recent = await recentBulkActions(db);
  }
  return {
    recent: recent.map((r) => ({ ...r, startedAt: r.startedAt.toISOString(), finishedAt: r.finishedAt?.toISOString() ?? null, filter: describeFilter(filterFromParams(new URLSearchParams(r.filter))) })),
    detail: detail ? { id: Number(detail.id), action: detail.action, results: detail.results ?? [] } : null,
  };
}

const BulkForm = z.object({
  op: z.enum(BULK_ACTIONS),
  scope: z.enum(['ids', 'filter']),
  filter: z.string().max(2000).default(''),
  profileId: z.preprocess((v) => (v === '' || v === null ? undefined : v), z.coerce.number().int().positive().max(2 ** 31 - 1).optional()),
  confirm: z.string().optional(),
  expected: z.preprocess((v) => (v === '' || v === null ? undefined : v), z.coerce.number().int().nonnegative().optional()),
});

export async function action({ request }: Route.ActionArgs) {
  const user = await requireAdminAction(request);
  const { db } = ctx();
  const form = await request.formData();
  const parsed = BulkForm.safeParse(Object.fromEntries([...form.entries()].filter(([k]) => k !== 'id')));
  if (!parsed.success) return data({ step: 'error' as const, message: 'Choose an action and which devices.' }, { status: 400 });
  const f = parsed.data;
  if ((f.op === 'attach-profile' || f.op === 'detach-profile') && !f.profileId) {
    return data({ step: 'error' as const, message: 'Choose the profile to attach or detach.' }, { status: 400 });
  }
  const filter = filterFromParams(new URLSearchParams(f.filter));
  const ids = form
    .getAll('id')
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0 && n < 2 ** 31);
  if (f.scope === 'ids' && ids.length === 0) {
    return data({ step: 'error' as const, message: 'No rows were selected: tick rows, or choose all devices matching the filter.' }, { status: 400 });
  }
  const devices = f.scope === 'ids' ? await selectFilteredDevices(db, {}, ids) : await selectFilteredDevices(db, filter);
  const profile = f.profileId ? await getProfileRef(db, f.profileId) : undefined;
  if (f.profileId && !profile) return data({ step: 'error' as const, message: 'No such profile.' }, { status: 400 });
  const ask = {
    step: 'confirm' as const,
    action: f.op,
    scope: f.scope,
    filter: f.filter,
    filterText: describeFilter(filter),
    ids: f.scope === 'ids' ? devices.map((d) => d.id) : [],
    count: devices.length,
    names: devices.slice(0, 20).map((d) => d.name),
    profile: profile ?? null,
    // Devices of the other protocol an attach will refuse (issue 21: never dropped silently).
    otherProtocol: f.op === 'attach-profile' && profile ? devices.filter((d) => d.protocol !== profile.protocol).length : 0,
    changed: f.confirm === 'yes' && f.expected !== devices.length,
  };
  if (f.confirm !== 'yes' || ask.changed || devices.length === 0) return ask;
  const client = await withTimeout(temporalClient(), 5000, 'connecting to Temporal');
  // The action runs as a workflow on the control worker (ADR 170); the answer is its progress page (refreshing itself without JavaScript).
  const { id } = await startBulkAction({ db, client }, { action: f.op, devices, profileId: f.profileId, who: user.email, selection: f.scope, filter: f.filter });
  return redirect(`/devices/bulk/${id}`);
}

export default function DevicesBulk() {
  const { recent, detail } = useLoaderData<typeof loader>();
  const zone = useTimeZone();
  const result = useActionData<typeof action>();
  const navigation = useNavigation();
  const back = (filter: string) => (filter ? `/devices?${filter}` : '/devices');
  return (
    <section>
      <div className="page-head">
        <h1>Bulk actions</h1>
        <Link to="/devices" className="button secondary">
          Devices
        </Link>
      </div>

      {result?.step === 'error' ? (
        <p className="error" data-testid="bulk-error">
          {result.message}
        </p>
      ) : null}

      {result?.step === 'confirm' ? (
        result.count === 0 ? (
          <p className="error" data-testid="bulk-error">
            No device matches; nothing to do.
          </p>
        ) : (
          <Form method="post" className="confirm" data-testid="bulk-confirm">
            <p data-testid="bulk-confirm-text">
              {result.changed ? <strong>The selection changed since you reviewed it. </strong> : null}
              <strong>
                {labelOf(result.action)}
                {result.profile ? ` “${result.profile.name}”` : ''} on {result.count.toLocaleString('en')} device{result.count === 1 ? '' : 's'}
              </strong>{' '}
              ({result.scope === 'filter' ? `all matching ${result.filterText}` : 'the rows selected'}):{' '}
              {result.names.join(', ')}
              {result.count > result.names.length ? `, and ${(result.count - result.names.length).toLocaleString('en')} more` : ''}.
            </p>
            {result.otherProtocol > 0 && result.profile ? (
              <p className="warning" data-testid="bulk-other-protocol">
                {result.otherProtocol.toLocaleString('en')} of them {result.otherProtocol === 1 ? 'is a device' : 'are devices'} of the other protocol: “{result.profile.name}” is a{' '}
                {protocolLabel(result.profile.protocol)} profile, so it is not attached to {result.otherProtocol === 1 ? 'it' : 'them'}; each is listed as refused.
              </p>
            ) : null}
            <input type="hidden" name="op" value={result.action} />
            <input type="hidden" name="scope" value={result.scope} />
            <input type="hidden" name="filter" value={result.filter} />
            <input type="hidden" name="expected" value={result.count} />
            {result.profile ? <input type="hidden" name="profileId" value={result.profile.id} /> : null}
            {result.ids.map((id) => (
              <input key={id} type="hidden" name="id" value={id} />
            ))}
            <input type="hidden" name="confirm" value="yes" />
            <button type="submit" className={result.action === 'delete' ? 'danger' : undefined} disabled={navigation.state === 'submitting'}>
              {labelOf(result.action)} {result.count.toLocaleString('en')} device{result.count === 1 ? '' : 's'}
            </button>{' '}
            <Link to={back(result.filter)}>Cancel</Link>
          </Form>
        )
      ) : null}

      {detail ? (
        <>
          <h2>
            Results of #{detail.id} ({detail.action})
          </h2>
          <BulkResultTable results={detail.results} />
        </>
      ) : null}

      <h2>Recorded bulk actions</h2>
      {recent.length === 0 ? (
        <p className="muted">None yet.</p>
      ) : (
        <table data-testid="bulk-history">
          <thead>
            <tr>
              <th>#</th>
              <th>When</th>
              <th>Who</th>
              <th>Action</th>
              <th>Devices</th>
              <th className="num">Count</th>
              <th className="num">Done</th>
              <th className="num">Failed</th>
            </tr>
          </thead>
          <tbody>
            {recent.map((r) => (
              <tr key={r.id}>
                <td>
                  <Link to={`/devices/bulk?id=${r.id}`}>{r.id}</Link>
                </td>
                <td>{formatStamp(Date.parse(r.startedAt), zone)}</td>
                <td>{r.who}</td>
                <td>{r.action}</td>
                <td>{r.selection === 'filter' ? `all matching ${r.filter}` : 'rows selected'}</td>
                <td className="num">{r.count}</td>
                <td className="num">{r.finishedAt ? r.done : <Link to={`/devices/bulk/${r.id}`}>{`${r.done} (${r.interrupted ? 'interrupted' : 'running'})`}</Link>}</td>
                <td className="num">{r.failed}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function labelOf(action: string): string {
  return BULK_ACTION_LABELS[action as BulkAction] ?? action;
}
