/**
 * Sign-in sessions and authorisation. The cookie carries a random token,
 * signed (React Router's createCookie) and HttpOnly, SameSite=Lax; the
 * database keeps only its SHA-256, so signing out or deleting a user ends the
 * session at once. Every loader calls requireUser (or requireApiUser for
 * resource routes); every action calls requireAdminAction (or, for sign-in and
 * sign-out, assertSameOrigin).
 */
import crypto from 'node:crypto';
import { data, redirect } from 'react-router';
import { ctx } from './context.server';
import { deleteUserWebSessions, deleteWebSession, insertWebSession, webSessionUser, type SessionUser } from '../../../storage/users';

export type { Role, SessionUser } from '../../../storage/users';

const tokenHash = (token: string) => crypto.createHash('sha256').update(token).digest('hex');

/** Start a session for a user; returns the Set-Cookie header value. */
export async function createUserSession(userId: number): Promise<string> {
  const { db, config, sessionCookie } = ctx();
  const token = crypto.randomBytes(32).toString('base64url');
  await insertWebSession(db, tokenHash(token), userId, new Date(Date.now() + config.SESSION_MAX_AGE_HOURS * 3600_000));
  return sessionCookie.serialize(token);
}

async function sessionToken(request: Request): Promise<string | undefined> {
  const value = await ctx().sessionCookie.parse(request.headers.get('cookie'));
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/** The signed-in user, or undefined. */
export async function getUser(request: Request): Promise<SessionUser | undefined> {
  const token = await sessionToken(request);
  if (!token) return undefined;
  return webSessionUser(ctx().db, tokenHash(token));
}

/** End the request's session; returns the Set-Cookie header value that clears the cookie. */
export async function destroyUserSession(request: Request): Promise<string> {
  const token = await sessionToken(request);
  if (token) await deleteWebSession(ctx().db, tokenHash(token));
  return ctx().sessionCookie.serialize('', { maxAge: 0 });
}

/**
 * End every session of a user except the one making this request (a password
 * change: whoever knew the old password is signed out everywhere else).
 */
export async function endOtherSessions(request: Request, userId: number): Promise<number> {
  const token = await sessionToken(request);
  return deleteUserWebSessions(ctx().db, userId, token ? tokenHash(token) : undefined);
}

/** The origin same-origin redirect targets are resolved against (any fixed origin works: only the path survives). */
const APP_ORIGIN = 'http://app.invalid';

/**
 * A safe in-app path to return to (never another origin): the value is parsed
 * as a URL against the app's origin, and only a result on that same origin is
 * kept, rebuilt from its path, query and fragment. Control characters,
 * backslashes and scheme-relative tricks (`//evil`, `/\\evil`, `\t//evil`) are
 * refused before parsing, because browsers strip or rewrite them.
 */
export function safeRedirect(to: FormDataEntryValue | string | null | undefined, fallback = '/'): string {
  if (typeof to !== 'string' || to.length === 0 || to.length > 2048) return fallback;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\\]/.test(to) || !to.startsWith('/') || to.startsWith('//')) return fallback;
  let url: URL;
  try {
    url = new URL(to, APP_ORIGIN);
  } catch {
    return fallback;
  }
  if (url.origin !== APP_ORIGIN) return fallback;
  const path = url.pathname + url.search + url.hash;
  return path.startsWith('//') ? fallback : path;
}

/** The client's network address, from the server's load context ('unknown' when called in-process). */
export function clientAddress(context: unknown): string {
  const a = (context as { clientAddress?: unknown } | undefined)?.clientAddress;
  return typeof a === 'string' && a ? a : 'unknown';
}

const accountTag = (email: string) => crypto.createHash('sha256').update(email.trim().toLowerCase()).digest('hex').slice(0, 16);

/** Whether this browser signed in to this account before (signed cookie). */
export async function isKnownBrowser(request: Request, email: string): Promise<boolean> {
  const tags = await ctx().knownBrowserCookie.parse(request.headers.get('cookie'));
  return Array.isArray(tags) && tags.includes(accountTag(email));
}

/** Set-Cookie remembering that this browser signed in to `email` (at most 5 accounts kept). */
export async function rememberBrowser(request: Request, email: string): Promise<string> {
  const { knownBrowserCookie } = ctx();
  const prev = await knownBrowserCookie.parse(request.headers.get('cookie'));
  const tags = [accountTag(email), ...(Array.isArray(prev) ? prev.filter((t): t is string => typeof t === 'string') : [])];
  return knownBrowserCookie.serialize([...new Set(tags)].slice(0, 5));
}

/** Pages: the signed-in user, or a redirect to the sign-in page that comes back here. */
export async function requireUser(request: Request): Promise<SessionUser> {
  const user = await getUser(request);
  if (user) return user;
  const url = new URL(request.url);
  throw redirect(`/login?redirectTo=${encodeURIComponent(url.pathname + url.search)}`);
}

/** Resource routes (JSON, SSE): the signed-in user, or 401. */
export async function requireApiUser(request: Request): Promise<SessionUser> {
  const user = await getUser(request);
  if (user) return user;
  throw data({ error: 'sign in first' }, { status: 401 });
}

/** An admin, or 403. */
export async function requireAdmin(request: Request): Promise<SessionUser> {
  const user = await requireUser(request);
  if (user.role !== 'admin') throw data('Only admins can change this.', { status: 403 });
  return user;
}

/**
 * Refuse cross-site requests that change state. Browsers send Sec-Fetch-Site
 * and Origin on every POST; a request from another site (a form on an
 * attacker's page) is refused. Requests without either header do not come
 * from a browser page, so they carry no ambient cookie risk.
 */
export function assertSameOrigin(request: Request): void {
  if (request.method === 'GET' || request.method === 'HEAD' || request.method === 'OPTIONS') return;
  const site = request.headers.get('sec-fetch-site');
  if (site && site !== 'same-origin' && site !== 'none') throw data('Cross-site request refused.', { status: 403 });
  const origin = request.headers.get('origin');
  if (origin && origin !== new URL(request.url).origin) throw data('Cross-site request refused.', { status: 403 });
}

/** Every state-changing action except sign-in: same origin, signed in, admin. */
export async function requireAdminAction(request: Request): Promise<SessionUser> {
  assertSameOrigin(request);
  return requireAdmin(request);
}
