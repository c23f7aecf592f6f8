/** Edit a dashboard (admins): name and defaults, widget order, delete widgets or the dashboard. */
import { Form, Link, data, redirect, useActionData, useLoaderData, useSearchParams } from 'react-router';
import { z } from 'zod';
import type { Route } from './+types/dashboard-edit';
import { requireAdmin, requireAdminAction } from '../lib/auth.server';
import { ctx } from '../lib/context.server';
import { listDeviceItems } from '../../../storage/devices';
import { dashboardNameTaken, deleteDashboard, deleteWidget, getDashboard, listWidgets, moveWidget, updateDashboard } from '../../../storage/dashboards';
import { checkbox, fieldErrors, text } from '../lib/forms';
import { DashboardForm } from '../lib/widget-form';
import { RANGES } from '../lib/widget-data';
import { TextField } from '../components/Field';
import { ConfirmStep, isConfirmed } from '../components/ConfirmStep';

export function meta({ data }: Route.MetaArgs) {
  return [{ title: `Edit ${data?.dashboard.name ?? 'dashboard'} · switch-telemetry` }];
}

export async function loader({ request, params }: Route.LoaderArgs) {
  await requireAdmin(request);
  const { db } = ctx();
  const dashboard = await getDashboard(db, Number(params.dashboardId));
  if (!dashboard) throw data('No such dashboard', { status: 404 });
  const widgets = await listWidgets(db, dashboard.id);
  const devices = new Map((await listDeviceItems(db)).map((d) => [d.id, d.name]));
  return { dashboard, widgets: widgets.map((w) => ({ ...w, deviceName: w.device_id ? (devices.get(w.device_id) ?? '?') : 'all devices' })) };
}

const WidgetId = z.coerce.number().int().positive();

export async function action({ request, params }: Route.ActionArgs) {
  await requireAdminAction(request);
  const { db } = ctx();
  const dashboard = await getDashboard(db, Number(params.dashboardId));
  if (!dashboard) throw data('No such dashboard', { status: 404 });
  const form = await request.formData();
  const intent = form.get('intent');
  if (intent === 'save') {
    const parsed = DashboardForm.safeParse({ name: text(form, 'name') ?? '', description: text(form, 'description'), timeRange: text(form, 'timeRange'), live: checkbox(form, 'live') });
    if (!parsed.success) return data({ errors: fieldErrors(parsed.error) }, 400);
    if (await dashboardNameTaken(db, parsed.data.name, dashboard.id)) return data({ errors: { name: 'A dashboard with this name exists' } }, 400);
    await updateDashboard(db, dashboard.id, parsed.data);
    return redirect(`/dashboards/${dashboard.id}`);
  }
  if (intent === 'delete-dashboard') {
    if (!isConfirmed(form)) return redirect(`/dashboards/${dashboard.id}/edit?confirm=dashboard`);
    await deleteDashboard(db, dashboard.id);
    return redirect('/dashboards');
  }
  const widgetId = WidgetId.safeParse(form.get('widgetId'));
  if (!widgetId.success) throw data('Which widget?', { status: 400 });
  if (intent === 'up' || intent === 'down') await moveWidget(db, dashboard.id, widgetId.data, intent === 'up' ? -1 : 1);
  else if (intent === 'delete-widget' && !isConfirmed(form)) return redirect(`/dashboards/${dashboard.id}/edit?confirm=widget-${widgetId.data}`);
  else if (intent === 'delete-widget') await deleteWidget(db, widgetId.data, dashboard.id);
  else throw data('Unknown action', { status: 400 });
  return redirect(`/dashboards/${dashboard.id}/edit`);
}

function WidgetButton({ widgetId, intent, label, className = 'secondary' }: { widgetId: number; intent: string; label: string; className?: string }) {
  return (
    <Form method="post" className="inline">
      <input type="hidden" name="widgetId" value={widgetId} />
      <input type="hidden" name="intent" value={intent} />
      <button type="submit" className={className}>
        {label}
      </button>
    </Form>
  );
}

export default function DashboardEdit() {
  const { dashboard, widgets } = useLoaderData<typeof loader>();
  const failed = useActionData<typeof action>();
  const [params] = useSearchParams();
  const confirm = params.get('confirm');
  const doomed = confirm?.startsWith('widget-') ? widgets.find((w) => `widget-${w.id}` === confirm) : undefined;
  const cancelTo = `/dashboards/${dashboard.id}/edit`;
  return (
    <section>
      <div className="page-head">
        <h1>Edit {dashboard.name}</h1>
        <div className="actions">
          <Link to={`/dashboards/${dashboard.id}`} className="button secondary">
            View dashboard
          </Link>
        </div>
      </div>
      {confirm === 'dashboard' ? (
        <ConfirmStep
          intent="delete-dashboard"
          text={`Delete the dashboard ${dashboard.name} and its ${widgets.length} widget${widgets.length === 1 ? '' : 's'}? The devices and their data are not touched. This cannot be undone.`}
          label="Delete dashboard"
          cancelTo={cancelTo}
        />
      ) : null}
      {doomed ? (
        <ConfirmStep
          intent="delete-widget"
          text={`Remove the widget ${doomed.title} from ${dashboard.name}? Only the chart goes; the data stay.`}
          label="Remove widget"
          cancelTo={cancelTo}
          fields={{ widgetId: String(doomed.id) }}
        />
      ) : null}
      <div className="card">
        <h2>Widgets</h2>
        {widgets.length === 0 ? <p className="muted">No widgets yet.</p> : null}
        <table>
          <tbody>
            {widgets.map((w, i) => (
              <tr key={w.id}>
                <td>
                  <Link to={`/dashboards/${dashboard.id}/widgets/${w.id}`}>{w.title}</Link>
                  <div className="muted small">
                    {w.chart} · {w.deviceName} · <code>{w.path}</code>
                  </div>
                </td>
                <td className="row-actions">
                  {i > 0 ? <WidgetButton widgetId={w.id} intent="up" label="↑" /> : null}
                  {i < widgets.length - 1 ? <WidgetButton widgetId={w.id} intent="down" label="↓" /> : null}
                  <Link to={`?confirm=widget-${w.id}`} className="button danger" data-testid={`remove-widget-${w.id}`}>
                    Remove
                  </Link>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <p>
          <Link to={`/dashboards/${dashboard.id}/widgets/new`} className="button">
            Add widget
          </Link>
        </p>
      </div>
      <div className="card narrow">
        <h2>Settings</h2>
        <Form method="post" className="form">
          <input type="hidden" name="intent" value="save" />
          <TextField name="name" label="Name" defaultValue={dashboard.name} errors={failed?.errors} />
          <TextField name="description" label="Description" defaultValue={dashboard.description ?? ''} errors={failed?.errors} />
          <label>
            Default time range
            <select name="timeRange" defaultValue={dashboard.time_range}>
              {Object.keys(RANGES).map((r) => (
                <option key={r}>{r}</option>
              ))}
            </select>
          </label>
          <label className="check">
            <input type="checkbox" name="live" defaultChecked={dashboard.live} /> Live by default
          </label>
          <button type="submit">Save</button>
        </Form>
      </div>
      <Link to="?confirm=dashboard" className="button danger" data-testid="delete-dashboard">
        Delete this dashboard
      </Link>
    </section>
  );
}
