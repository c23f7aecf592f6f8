/** `/`: signed-in users land on their dashboards; others on the sign-in page. */
import { redirect } from 'react-router';
import type { Route } from './+types/home';
import { requireUser } from '../lib/auth.server';

export async function loader({ request }: Route.LoaderArgs) {
  await requireUser(request);
  throw redirect('/dashboards');
}
