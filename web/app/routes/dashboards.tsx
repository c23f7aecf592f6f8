/** Dashboards: the list, and (admins) a form to create one. */
import { Form, Link, data, redirect, useActionData, useLoaderData } from 'react-router';
import type { Route } from './+types/dashboards';
import { requireAdminAction, requireUser } from '../lib/auth.server';
import { ctx } from '../lib/context.server';
import { createDashboard, dashboardNameTaken, listDashboards } from '../../../storage/dashboards';
import { checkbox, fieldErrors, text } from '../lib/forms';
import { DashboardForm } from '../lib/widget-form';
import { RANGES } from '../lib/widget-data';
import { TextField } from '../components/Field';

export function meta() {
  return [{ title: 'Dashboards · switch-telemetry' }];
}

export async function loader({ request }: Route.LoaderArgs) {
  const user = await requireUser(request);
  const { db } = ctx();
  const dashboards = await listDashboards(db);
  return { canEdit: user.role === 'admin', dashboards };
}

export async function action({ request }: Route.ActionArgs) {
  const user = await requireAdminAction(request);
  const { db } = ctx();
  const form = await request.formData();
  const parsed = DashboardForm.safeParse({ name: text(form, 'name') ?? '', description: text(form, 'description'), timeRange: text(form, 'timeRange') ?? '1h', live: checkbox(form, 'live') });
  if (!parsed.success) return data({ errors: fieldErrors(parsed.error), name: String(form.get('name') ?? '') }, 400);
  if (await dashboardNameTaken(db, parsed.data.name)) return data({ errors: { name: 'A dashboard with this name exists' }, name: parsed.data.name }, 400);
  const id = await createDashboard(db, parsed.data, user.id);
  return redirect(`/dashboards/${id}/edit`);
}

export default function Dashboards() {
  const { dashboards, canEdit } = useLoaderData<typeof loader>();
  const failed = useActionData<typeof action>();
  return (
    <section>
      <h1>Dashboards</h1>
      {dashboards.length === 0 ? <p className="muted">No dashboards yet.</p> : null}
      <ul className="tiles">
        {dashboards.map((d) => (
          <li key={d.id} className="card">
            <Link to={`/dashboards/${d.id}`} className="tile-title">
              {d.name}
            </Link>
            <p className="muted small">
              {d.widgets} widget{d.widgets === 1 ? '' : 's'} · {d.time_range}
              {d.description ? ` · ${d.description}` : ''}
            </p>
          </li>
        ))}
      </ul>
      {canEdit ? (
        <div className="card narrow">
          <h2>New dashboard</h2>
          <Form method="post" className="form">
            <TextField name="name" label="Name" defaultValue={failed?.name} errors={failed?.errors} required />
            <TextField name="description" label="Description" errors={failed?.errors} />
            <label>
              Default time range
              <select name="timeRange" defaultValue="1h">
                {Object.keys(RANGES).map((r) => (
                  <option key={r}>{r}</option>
                ))}
              </select>
            </label>
            <label className="check">
              <input type="checkbox" name="live" defaultChecked /> Live by default
            </label>
            <button type="submit">Create dashboard</button>
          </Form>
        </div>
      ) : null}
    </section>
  );
}
