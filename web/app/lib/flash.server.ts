/**
 * One-shot messages shown on the next page ("Saved, but …"): set by an action
 * in a signed, short-lived cookie, read and cleared by the root loader. Text on
 * a page therefore always comes from the server, never from a query parameter
 * someone could put in a link.
 */
import { createCookie } from 'react-router';
import { getUser, type SessionUser } from './auth.server';
import { ctx, sessionSecrets } from './context.server';

/** A message for the next page. */
export interface Flash {
  kind: 'info' | 'warning';
  message: string;
}

let cookie: ReturnType<typeof createCookie> | undefined;

function flashCookie() {
  cookie ??= createCookie('st_flash', { httpOnly: true, sameSite: 'lax', path: '/', maxAge: 60, secrets: sessionSecrets(ctx().config), secure: ctx().config.WEB_COOKIE_SECURE });
  return cookie;
}

/** Set-Cookie carrying a message for the next page. */
export function setFlash(flash: Flash): Promise<string> {
  return flashCookie().serialize({ kind: flash.kind, message: flash.message.slice(0, 1000) });
}

/** The pending message (if any) and the Set-Cookie that clears it. */
export async function takeFlash(request: Request): Promise<{ flash: Flash | null; clear?: string }> {
  const value = (await flashCookie().parse(request.headers.get('cookie')).catch(() => null)) as Partial<Flash> | null;
  if (!value || typeof value.message !== 'string') return { flash: null };
  const kind = value.kind === 'info' ? 'info' : 'warning';
  return { flash: { kind, message: value.message }, clear: await flashCookie().serialize('', { maxAge: 0 }) };
}

/** What the root layout's loader returns: the signed-in user and the pending message (its Set-Cookie clears it). */
export async function layoutData(request: Request): Promise<{ user: SessionUser | null; flash: Flash | null; clear?: string }> {
  const user = await getUser(request).catch(() => undefined);
  const { flash, clear } = await takeFlash(request).catch(() => ({ flash: null, clear: undefined }));
  return { user: user ?? null, flash, clear };
}
