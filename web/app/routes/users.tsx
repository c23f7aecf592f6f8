/** Users (admins only): add, change role, reset password, remove. */
import { Form, data, useActionData, useLoaderData } from 'react-router';
import { z } from 'zod';
import type { Route } from './+types/users';
import { endOtherSessions, requireAdmin, requireAdminAction } from '../lib/auth.server';
import { ctx } from '../lib/context.server';
import { fieldErrors } from '../lib/forms';
import { NewPassword, NewUserForm } from '../lib/user-form';
import { countAdmins, createUser, deleteUser, emailTaken, findUser, listUsers, setUserPassword, setUserRole } from '../../../storage/users';

export function meta() {
  return [{ title: 'Users · switch-telemetry' }];
}

export async function loader({ request }: Route.LoaderArgs) {
  const me = await requireAdmin(request);
  const users = await listUsers(ctx().db);
  return { me, users: users.map((u) => ({ ...u, created_at: new Date(u.created_at).toISOString() })) };
}

const Id = z.coerce.number().int().positive();

export async function action({ request }: Route.ActionArgs) {
  const me = await requireAdminAction(request);
  const { db } = ctx();
  const form = await request.formData();
  const intent = String(form.get('intent') ?? '');
  if (intent === 'create') {
    const parsed = NewUserForm.safeParse({ email: form.get('email') ?? '', password: form.get('password') ?? '', role: form.get('role') ?? '' });
    if (!parsed.success) return data({ intent, errors: fieldErrors(parsed.error), email: String(form.get('email') ?? '') }, 400);
    if (await emailTaken(db, parsed.data.email)) return data({ intent, errors: { email: 'A user with this email exists' }, email: parsed.data.email }, 400);
    await createUser(db, parsed.data);
    return { intent, ok: `Added ${parsed.data.email}` };
  }
  const id = Id.safeParse(form.get('id'));
  if (!id.success) throw data('Which user?', { status: 400 });
  const user = await findUser(db, id.data);
  if (!user) throw data('No such user', { status: 404 });
  if (intent === 'role') {
    const role = z.enum(['admin', 'viewer']).safeParse(form.get('role'));
    if (!role.success) return data({ intent, errors: { role: 'admin or viewer' } }, 400);
    if (user.role === 'admin' && role.data === 'viewer' && (await countAdmins(db)) <= 1) {
      return data({ intent, errors: { role: 'The last admin cannot become a viewer' } }, 400);
    }
    await setUserRole(db, user.id, role.data);
    return { intent, ok: `${user.email} is now ${role.data}` };
  }
  if (intent === 'password') {
    const pw = NewPassword.safeParse(form.get('password') ?? '');
    if (!pw.success) return data({ intent, errors: { [`password-${user.id}`]: pw.error.issues[0].message } }, 400);
    await setUserPassword(db, user.id, pw.data);
    // ADR 050: a password change ends the user's other sessions (all of them when an admin resets someone else's).
    const ended = await endOtherSessions(request, user.id);
    return { intent, ok: `Password of ${user.email} changed; ${ended} other sign-in${ended === 1 ? '' : 's'} ended` };
  }
  if (intent === 'delete') {
    if (user.id === me.id) return data({ intent, errors: { _form: 'You cannot remove yourself' } }, 400);
    await deleteUser(db, user.id);
    return { intent, ok: `Removed ${user.email}` };
  }
  throw data('Unknown action', { status: 400 });
}

export default function Users() {
  const { me, users } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>() as { ok?: string; errors?: Record<string, string>; email?: string; intent?: string } | undefined;
  const e = result?.errors ?? {};
  return (
    <section>
      <h1>Users</h1>
      {result?.ok ? <p className="flash">{result.ok}</p> : null}
      {e._form || e.role ? <p className="field-error">{e._form ?? e.role}</p> : null}
      <table>
        <thead>
          <tr>
            <th>Email</th>
            <th>Role</th>
            <th>New password</th>
            <th></th>
          </tr>
        </thead>
        <tbody>
          {users.map((u) => (
            <tr key={u.id} data-testid={`user-${u.email}`}>
              <td>{u.email}</td>
              <td>
                <Form method="post" className="inline">
                  <input type="hidden" name="intent" value="role" />
                  <input type="hidden" name="id" value={u.id} />
                  <select name="role" defaultValue={u.role} aria-label={`Role of ${u.email}`}>
                    <option value="admin">admin</option>
                    <option value="viewer">viewer</option>
                  </select>
                  <button type="submit" className="secondary">
                    Save
                  </button>
                </Form>
              </td>
              <td>
                <Form method="post" className="inline">
                  <input type="hidden" name="intent" value="password" />
                  <input type="hidden" name="id" value={u.id} />
                  <input name="password" type="password" autoComplete="new-password" placeholder="new password" aria-label={`New password of ${u.email}`} />
                  <button type="submit" className="secondary">
                    Set
                  </button>
                  {e[`password-${u.id}`] ? <span className="field-error">{e[`password-${u.id}`]}</span> : null}
                </Form>
              </td>
              <td>
                {u.id !== me.id ? (
                  <Form method="post" className="inline">
                    <input type="hidden" name="intent" value="delete" />
                    <input type="hidden" name="id" value={u.id} />
                    <button type="submit" className="danger">
                      Remove
                    </button>
                  </Form>
                ) : (
                  <span className="muted">you</span>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="card">
        <h2>Add a user</h2>
        <Form method="post" className="form" key={result?.ok}>
          <input type="hidden" name="intent" value="create" />
          <label>
            Email
            <input name="email" type="email" required defaultValue={result?.intent === 'create' ? result.email : ''} />
            {e.email ? <span className="field-error">{e.email}</span> : null}
          </label>
          <label>
            Password
            <input name="password" type="password" autoComplete="new-password" required />
            {e.password ? <span className="field-error">{e.password}</span> : null}
          </label>
          <label>
            Role
            <select name="role" defaultValue="viewer">
              <option value="viewer">viewer (read-only)</option>
              <option value="admin">admin</option>
            </select>
          </label>
          <button type="submit">Add user</button>
        </Form>
      </div>
    </section>
  );
}
