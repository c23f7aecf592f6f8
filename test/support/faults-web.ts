/**
 * Talking to the web process from reliability tests, signed in when the app
 * has sign-in. The web engineer's test/support/web-auth.ts is used when it
 * exists and exports `signIn(baseUrl, email, password)`; otherwise the
 * sign-in form is posted directly. The admin is created by the web process
 * itself from ADMIN_EMAIL / ADMIN_PASSWORD (see `webAuthEnv`).
 */
import fs from 'node:fs';
import path from 'node:path';

export const ADMIN_EMAIL = 'reliability-admin@example.test';
export const ADMIN_PASSWORD = 'reliability-admin-pw-1';

/** Environment that makes the web process create the test admin (and sign cookies). */
export function webAuthEnv(): Record<string, string> {
  return { ADMIN_EMAIL, ADMIN_PASSWORD, SESSION_SECRET: 'reliability-tests-session-secret-0123456789' };
}

/** A fetch bound to the web app's origin, carrying the session cookie when there is one. */
export interface WebClient {
  base: string;
  cookie?: string;
  /** True when the app answered the unauthenticated probe with 401/redirect (sign-in exists). */
  authEnabled: boolean;
  fetch(pathname: string, init?: RequestInit): Promise<Response>;
}

/** First `name=value` of Set-Cookie headers. */
function cookieOf(res: Response): string | undefined {
  const all = res.headers.getSetCookie?.() ?? [];
  const first = all.find((c) => !/max-age=0/i.test(c)) ?? all[0];
  return first?.split(';')[0];
}

/** Sign in by posting the form (same-origin headers, as a browser would). */
async function postSignIn(base: string, email: string, password: string): Promise<string> {
  const res = await fetch(`${base}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: base, 'sec-fetch-site': 'same-origin' },
    body: new URLSearchParams({ email, password, redirectTo: '/' }).toString(),
  });
  const cookie = cookieOf(res);
  if (!cookie) throw new Error(`sign-in as ${email} failed: ${res.status} ${(await res.text()).slice(0, 300)}`);
  return cookie;
}

/** A client signed in as `email` (the admin by default) when the app has sign-in; anonymous otherwise. */
export async function webClient(base: string, who: { email: string; password: string } = { email: ADMIN_EMAIL, password: ADMIN_PASSWORD }): Promise<WebClient> {
  const probe = await fetch(`${base}/api/live?series=1`, { redirect: 'manual', signal: AbortSignal.timeout(10_000) });
  const authEnabled = probe.status === 401 || probe.status === 403 || (probe.status >= 300 && probe.status < 400);
  await probe.body?.cancel().catch(() => undefined);
  let cookie: string | undefined;
  if (authEnabled) {
    const helper = path.join(import.meta.dirname, 'web-auth.ts');
    const mod = fs.existsSync(helper) ? ((await import(helper)) as { signIn?: (b: string, e: string, p: string) => Promise<string> }) : undefined;
    cookie = typeof mod?.signIn === 'function' ? await mod.signIn(base, who.email, who.password) : await postSignIn(base, who.email, who.password);
  }
  return {
    base,
    cookie,
    authEnabled,
    fetch(pathname, init = {}) {
      const headers = new Headers(init.headers);
      if (cookie && !headers.has('cookie')) headers.set('cookie', cookie);
      return fetch(`${base}${pathname}`, { redirect: 'manual', ...init, headers });
    },
  };
}

/** Read an SSE response for `ms` (or until `until` holds); returns the text. */
export async function readSse(res: Response, ms: number, until?: (text: string) => boolean): Promise<string> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const deadline = Date.now() + ms;
  try {
    while (Date.now() < deadline && !(until?.(text) ?? false)) {
      let timer: NodeJS.Timeout | undefined;
      const chunk = await Promise.race([
        reader.read().catch(() => undefined), // the connection broke (server stopped): return what arrived
        new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), Math.max(1, deadline - Date.now())))),
      ]);
      clearTimeout(timer);
      if (!chunk) break;
      if (chunk.done) break;
      text += decoder.decode(chunk.value, { stream: true });
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return text;
}

/** `id:` and `data:` of each SSE event carrying points. */
export function sseEvents(text: string): Array<{ id?: number; points: Array<{ s: number; t: number; v: number }> }> {
  const out: Array<{ id?: number; points: Array<{ s: number; t: number; v: number }> }> = [];
  for (const block of text.split('\n\n')) {
    const id = /^id: (.+)$/m.exec(block)?.[1];
    const data = /^data: (.+)$/m.exec(block)?.[1];
    if (!data) continue;
    try {
      const parsed = JSON.parse(data) as { points?: Array<{ s: number; t: number; v: number }> };
      if (parsed.points) out.push({ id: id ? Number(id) : undefined, points: parsed.points });
    } catch {
      // a partial last event
    }
  }
  return out;
}
