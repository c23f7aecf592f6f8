/** POST /logout: end the session. (GET does nothing: signing out changes state.) */
import { redirect } from 'react-router';
import type { Route } from './+types/logout';
import { assertSameOrigin, destroyUserSession } from '../lib/auth.server';

export async function loader() {
  throw redirect('/');
}

export async function action({ request }: Route.ActionArgs) {
  assertSameOrigin(request);
  return redirect('/login', { headers: { 'Set-Cookie': await destroyUserSession(request) } });
}
