/** Sign-in page. With no user yet, it sends the newcomer to the first-run setup page. */
import { Form, data, redirect, useActionData, useSearchParams } from 'react-router';
import { z } from 'zod';
import type { Route } from './+types/login';
import { assertSameOrigin, clientAddress, createUserSession, getUser, isKnownBrowser, rememberBrowser, safeRedirect } from '../lib/auth.server';
import { ctx } from '../lib/context.server';
import { checkCredentials, countAdmins } from '../../../storage/users';

export function meta() {
  return [{ title: 'Sign in · switch-telemetry' }];
}

export async function loader({ request }: Route.LoaderArgs) {
  const { db } = ctx();
  if ((await countAdmins(db)) === 0) throw redirect('/setup');
  if (await getUser(request)) throw redirect(safeRedirect(new URL(request.url).searchParams.get('redirectTo'), '/dashboards'));
  return null;
}

const SignIn = z.object({
  email: z.string().trim().min(1, 'Enter your email').max(320),
  password: z.string().min(1, 'Enter your password').max(1024),
});

/** A refused sign-in tells the browser when to try again. */
export function headers({ actionHeaders }: Route.HeadersArgs) {
  const out = new Headers();
  const retry = actionHeaders.get('Retry-After');
  if (retry) out.set('Retry-After', retry);
  return out;
}

export async function action({ request, context }: Route.ActionArgs) {
  assertSameOrigin(request);
  const form = await request.formData();
  const parsed = SignIn.safeParse({ email: form.get('email') ?? '', password: form.get('password') ?? '' });
  const email = String(form.get('email') ?? '');
  if (!parsed.success) return data({ email, error: parsed.error.issues[0].message }, 400);
  const { db, throttle } = ctx();
  const client = clientAddress(context);
  const verdict = throttle.check(parsed.data.email, client, await isKnownBrowser(request, parsed.data.email));
  if (!verdict.ok) {
    return data(
      { email, error: `Too many failed sign-ins (${verdict.reason}): try again in ${verdict.retryAfterS} s.` },
      { status: 429, headers: { 'Retry-After': String(verdict.retryAfterS) } },
    );
  }
  const user = await checkCredentials(db, parsed.data.email, parsed.data.password);
  if (!user) {
    throttle.failed(parsed.data.email, client);
    return data({ email, error: 'Wrong email or password.' }, 401);
  }
  throttle.succeeded(parsed.data.email, client);
  const headers = new Headers();
  headers.append('Set-Cookie', await createUserSession(user.id));
  headers.append('Set-Cookie', await rememberBrowser(request, user.email));
  return redirect(safeRedirect(form.get('redirectTo'), '/dashboards'), { headers });
}

export default function Login() {
  const result = useActionData<typeof action>();
  const [params] = useSearchParams();
  return (
    <section className="narrow card">
      <h1>Sign in</h1>
      <Form method="post" className="form">
        <input type="hidden" name="redirectTo" value={params.get('redirectTo') ?? '/dashboards'} />
        <label>
          Email
          <input name="email" type="email" autoComplete="username" required defaultValue={result?.email} autoFocus />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="current-password" required />
        </label>
        {result?.error ? (
          <p className="field-error" role="alert">
            {result.error}
          </p>
        ) : null}
        <button type="submit">Sign in</button>
      </Form>
    </section>
  );
}
