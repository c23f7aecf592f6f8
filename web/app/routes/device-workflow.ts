/**
 * `/devices/:id/workflow`: a redirect to the device's session workflow in Temporal Web.
 * The devices view links every row here instead of writing Temporal Web's long URL
 * 200 times into a page (issue 19: a page stays under 200 KiB).
 */
import { redirect } from 'react-router';
import type { Route } from './+types/device-workflow';
import { requireUser } from '../lib/auth.server';
import { workflowUrl } from '../lib/sessions.server';

export async function loader({ request, params }: Route.LoaderArgs) {
  await requireUser(request);
  const id = Number(params.deviceId);
  if (!Number.isInteger(id) || id <= 0 || id >= 2 ** 31) throw new Response('Not found', { status: 404 });
  return redirect(workflowUrl(id));
}
