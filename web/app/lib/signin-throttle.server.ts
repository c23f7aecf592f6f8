/**
 * Sign-in throttling (ADR 051). Three counters, kept in the web process's memory:
 *
 * - per (account, client): the first `freeFailures` wrong passwords cost
 *   nothing; each further one doubles a wait (1 s, 2 s, 4 s … up to `maxDelayS`).
 *   A client that knows the right password is only held back by its own mistakes.
 * - per client, across accounts: at most `clientFailures` failures per 15 minutes
 *   (password spraying from one address).
 * - per account, across clients: after 4 × `freeFailures` failures within 15
 *   minutes the account waits too, but never more than 60 s, and a browser that
 *   signed in to this account before (it carries the signed "known browser"
 *   cookie) is exempt — so attackers on many addresses cannot keep the real
 *   admin out, while their combined guessing rate stays about one a minute.
 *
 * A success clears the (account, client) and account counters. Entries expire
 * after 15 minutes without failures; the table is bounded (oldest dropped first).
 */

/** Throttle settings (from core/config). */
export interface ThrottleSettings {
  freeFailures: number;
  maxDelayS: number;
  clientFailures: number;
}

/** Answer of a check: allowed, or wait this many seconds. */
export type ThrottleVerdict = { ok: true } | { ok: false; retryAfterS: number; reason: string };

const WINDOW_MS = 15 * 60_000;
const ACCOUNT_MAX_DELAY_S = 60;
const MAX_ENTRIES = 50_000;

interface Backoff {
  failures: number;
  lockedUntil: number;
  lastFailure: number;
}

/** In-memory sign-in throttle of one web process. */
export class SignInThrottle {
  private readonly pairs = new Map<string, Backoff>();
  private readonly accounts = new Map<string, Backoff>();
  private readonly clients = new Map<string, number[]>();

  constructor(
    private readonly settings: ThrottleSettings,
    private readonly now: () => number = Date.now,
  ) {}

  /** May this client try this account now? Call before checking the password. */
  check(account: string, client: string, knownBrowser: boolean): ThrottleVerdict {
    const t = this.now();
    const key = account.trim().toLowerCase();
    const recent = this.recentClientFailures(client, t);
    if (recent.length >= this.settings.clientFailures) {
      return { ok: false, retryAfterS: Math.max(1, Math.ceil((recent[0] + WINDOW_MS - t) / 1000)), reason: 'too many failed sign-ins from this address' };
    }
    const pair = this.live(this.pairs, `${key}\n${client}`, t);
    if (pair && pair.lockedUntil > t) {
      return { ok: false, retryAfterS: Math.ceil((pair.lockedUntil - t) / 1000), reason: 'too many failed sign-ins for this account from this address' };
    }
    const acct = this.live(this.accounts, key, t);
    if (!knownBrowser && acct && acct.lockedUntil > t) {
      return { ok: false, retryAfterS: Math.ceil((acct.lockedUntil - t) / 1000), reason: 'too many failed sign-ins for this account' };
    }
    return { ok: true };
  }

  /** Record a wrong password (or unknown account). */
  failed(account: string, client: string): void {
    const t = this.now();
    const key = account.trim().toLowerCase();
    const free = this.settings.freeFailures;
    const pair = this.bump(this.pairs, `${key}\n${client}`, t);
    if (pair.failures > free) pair.lockedUntil = t + Math.min(this.settings.maxDelayS, 2 ** (pair.failures - free - 1)) * 1000;
    const acct = this.bump(this.accounts, key, t);
    const accountFree = 4 * free;
    if (acct.failures > accountFree) acct.lockedUntil = t + Math.min(ACCOUNT_MAX_DELAY_S, 2 ** (acct.failures - accountFree - 1)) * 1000;
    const list = this.recentClientFailures(client, t);
    list.push(t);
    this.clients.set(client, list);
    this.bound(this.clients);
  }

  /** Record a successful sign-in. */
  succeeded(account: string, client: string): void {
    const key = account.trim().toLowerCase();
    this.pairs.delete(`${key}\n${client}`);
    this.accounts.delete(key);
  }

  private recentClientFailures(client: string, t: number): number[] {
    const list = (this.clients.get(client) ?? []).filter((x) => x > t - WINDOW_MS);
    if (list.length === 0) this.clients.delete(client);
    return list;
  }

  private live(map: Map<string, Backoff>, key: string, t: number): Backoff | undefined {
    const b = map.get(key);
    if (b && b.lastFailure < t - WINDOW_MS && b.lockedUntil < t) {
      map.delete(key);
      return undefined;
    }
    return b;
  }

  private bump(map: Map<string, Backoff>, key: string, t: number): Backoff {
    const b = this.live(map, key, t) ?? { failures: 0, lockedUntil: 0, lastFailure: t };
    b.failures++;
    b.lastFailure = t;
    map.delete(key); // re-insert: Map order is then oldest-failure first
    map.set(key, b);
    this.bound(map);
    return b;
  }

  private bound(map: Map<string, unknown>): void {
    while (map.size > MAX_ENTRIES) map.delete(map.keys().next().value as string);
  }
}
