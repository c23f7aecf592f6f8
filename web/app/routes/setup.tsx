/**
 * First-run setup: while no user exists, whoever reaches the app creates the
 * first admin (npm start binds to 127.0.0.1 by default; set ADMIN_EMAIL and
 * ADMIN_PASSWORD to skip this page). Gone for everyone (404) once an admin
 * exists; the admin is created in one transaction under a lock, so two
 * concurrent posts cannot both create one.
 */
import { Form, data, redirect, useActionData } from 'react-router';
import { z } from 'zod';
import type { Route } from './+types/setup';
import { assertSameOrigin, createUserSession } from '../lib/auth.server';
import { ctx } from '../lib/context.server';
import { fieldErrors } from '../lib/forms';
import { countAdmins, createFirstAdmin } from '../../../storage/users';
import { NewPassword } from '../lib/user-form';

export function meta() {
  return [{ title: 'First-run setup · switch-telemetry' }];
}

const GONE = () => data('Not found', { status: 404 });

export async function loader() {
  if ((await countAdmins(ctx().db)) > 0) throw GONE();
  return null;
}

const Setup = z
  .object({ email: z.string().trim().email('An email address').max(320), password: NewPassword, confirm: z.string() })
  .refine((v) => v.password === v.confirm, { path: ['confirm'], message: 'The passwords differ' });

export async function action({ request }: Route.ActionArgs) {
  assertSameOrigin(request);
  const { db } = ctx();
  if ((await countAdmins(db)) > 0) throw GONE();
  const form = await request.formData();
  const parsed = Setup.safeParse(Object.fromEntries(['email', 'password', 'confirm'].map((k) => [k, String(form.get(k) ?? '')])));
  if (!parsed.success) return data({ email: String(form.get('email') ?? ''), errors: fieldErrors(parsed.error) }, 400);
  const user = await createFirstAdmin(db, parsed.data);
  if (!user) throw GONE(); // another setup won the race
  return redirect('/dashboards', { headers: { 'Set-Cookie': await createUserSession(user.id) } });
}

export default function SetupPage() {
  const result = useActionData<typeof action>();
  const e = result?.errors ?? {};
  return (
    <section className="narrow card">
      <h1>Welcome</h1>
      <p>No user exists yet. Create the first administrator.</p>
      <Form method="post" className="form">
        <label>
          Email
          <input name="email" type="email" required defaultValue={result?.email} />
          {e.email ? <span className="field-error">{e.email}</span> : null}
        </label>
        <label>
          Password (at least 10 characters)
          <input name="password" type="password" autoComplete="new-password" required />
          {e.password ? <span className="field-error">{e.password}</span> : null}
        </label>
        <label>
          Repeat password
          <input name="confirm" type="password" autoComplete="new-password" required />
          {e.confirm ? <span className="field-error">{e.confirm}</span> : null}
        </label>
        <button type="submit">Create admin and sign in</button>
      </Form>
    </section>
  );
}
