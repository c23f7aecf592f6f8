/**
 * Signing in to the web app from tests: users created straight in the test
 * database, a session cookie by posting the sign-in form (as a browser does),
 * a Chromium page signed in through the real form, and requests for calling
 * route loaders and actions in-process against a test database.
 */
import type { Knex } from 'knex';
import type { Page } from 'playwright-core';
import { createUser } from '../storage/users';

/** Credentials of a test user. */
export interface TestUser {
  email: string;
  password: string;
  role: 'admin' | 'viewer';
}

/** Create a user in a test database. */
export async function createTestUser(db: Knex, role: 'admin' | 'viewer' = 'admin', email = `${role}-${Math.random().toString(36).slice(2, 8)}@example.test`): Promise<TestUser> {
  const password = `${role}-password-for-tests`;
  await createUser(db, { email, password, role });
  return { email, password, role };
}

/** Post the sign-in form of the web app at `baseUrl`; returns the `name=value` session cookie. */
export async function signIn(baseUrl: string, email: string, password: string): Promise<string> {
  const res = await fetch(`${baseUrl}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: baseUrl, 'sec-fetch-site': 'same-origin' },
    body: new URLSearchParams({ email, password, redirectTo: '/' }).toString(),
  });
  const cookie = (res.headers.getSetCookie?.() ?? []).map((c) => c.split(';')[0]).find((c) => c.startsWith('st_session=') && c.length > 'st_session='.length);
  await res.body?.cancel().catch(() => undefined);
  if (!cookie || res.status !== 302) throw new Error(`sign-in as ${email} failed with status ${res.status}`);
  return cookie;
}

/** Sign a Chromium page in through the sign-in form; it ends on the dashboards page. */
export async function signInPage(page: Page, baseUrl: string, user: { email: string; password: string }): Promise<void> {
  await page.goto(`${baseUrl}/login`);
  await page.getByLabel('Email').fill(user.email);
  await page.getByLabel('Password').fill(user.password);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/login')), page.getByRole('button', { name: 'Sign in' }).click()]);
}

/** The origin loaders and actions see in in-process tests. */
export const TEST_ORIGIN = 'http://web.test';

/** A request for calling a route module's loader or action directly. */
export function routeRequest(
  pathname: string,
  opts: { cookie?: string; method?: string; form?: Record<string, string | string[]>; headers?: Record<string, string> } = {},
): Request {
  const headers = new Headers(opts.headers);
  if (opts.cookie) headers.set('cookie', opts.cookie);
  let body: string | undefined;
  if (opts.form) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(opts.form)) for (const one of Array.isArray(v) ? v : [v]) params.append(k, one);
    body = params.toString();
    headers.set('content-type', 'application/x-www-form-urlencoded');
    if (!headers.has('origin')) headers.set('origin', TEST_ORIGIN);
  }
  return new Request(`${TEST_ORIGIN}${pathname}`, { method: opts.method ?? (opts.form ? 'POST' : 'GET'), headers, body });
}

/** The cookie a session Set-Cookie header sets, as `name=value`. */
export function cookieFrom(res: Response): string {
  const set = res.headers.get('set-cookie');
  if (!set) throw new Error(`no Set-Cookie (status ${res.status})`);
  return set.split(';')[0];
}

type Args = { request: Request; params: Record<string, string>; context: unknown };
type Fn = (args: never) => Promise<unknown>;

/** Run a loader or action; thrown Responses (redirects, 4xx) are returned like returned ones. `context` is the server's load context (e.g. the client address). */
export async function call(fn: Fn, request: Request, params: Record<string, string> = {}, context: Record<string, unknown> = {}): Promise<{ status: number; body: unknown; headers: Headers }> {
  try {
    const out = await fn({ request, params, context } as Args as never);
    return normalise(out);
  } catch (thrown) {
    return normalise(thrown);
  }
}

function normalise(x: unknown): { status: number; body: unknown; headers: Headers } {
  if (x instanceof Response) return { status: x.status, body: undefined, headers: x.headers };
  // React Router's data(): { type: 'DataWithResponseInit', data, init }
  const d = x as { type?: string; data?: unknown; init?: { status?: number; headers?: HeadersInit } };
  if (d && d.type === 'DataWithResponseInit') return { status: d.init?.status ?? 200, body: d.data, headers: new Headers(d.init?.headers) };
  if (x instanceof Error) throw x;
  return { status: 200, body: x, headers: new Headers() };
}
