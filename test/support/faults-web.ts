/**
 * Talking to the web process from reliability tests, signed in. Sign-in is a
 * product feature: there is no probe for whether it exists and no fallback —
 * if signing in breaks, every test using this client fails loudly. The admin
 * is created by the web process itself from ADMIN_EMAIL / ADMIN_PASSWORD (see
 * `webAuthEnv`).
 */
import { signIn } from '../../testkit/web-auth';

export const ADMIN_EMAIL = 'reliability-admin@example.test';
export const ADMIN_PASSWORD = 'reliability-admin-pw-1';

/** Environment that makes the web process create the test admin (and sign cookies). */
export function webAuthEnv(): Record<string, string> {
  return { ADMIN_EMAIL, ADMIN_PASSWORD, SESSION_SECRET: 'reliability-tests-session-secret-0123456789' };
}

/** A fetch bound to the web app's origin, carrying the session cookie. */
export interface WebClient {
  base: string;
  cookie: string;
  fetch(pathname: string, init?: RequestInit): Promise<Response>;
}

/** A client signed in as `email` (the admin by default); throws when sign-in fails. */
export async function webClient(base: string, who: { email: string; password: string } = { email: ADMIN_EMAIL, password: ADMIN_PASSWORD }): Promise<WebClient> {
  const cookie = await signIn(base, who.email, who.password);
  return {
    base,
    cookie,
    fetch(pathname, init = {}) {
      const headers = new Headers(init.headers);
      if (!headers.has('cookie')) headers.set('cookie', cookie);
      return fetch(`${base}${pathname}`, { redirect: 'manual', ...init, headers });
    },
  };
}

/** Read an SSE response for `ms` (or until `until` holds); returns the text. */
export async function readSse(res: Response, ms: number, until?: (text: string) => boolean, progress?: (text: string) => void): Promise<string> {
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
      progress?.(text);
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
