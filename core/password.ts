/**
 * Password hashing with node:crypto scrypt (no native module). Stored form:
 * `scrypt$N$r$p$<salt b64>$<hash b64>`, so the cost can rise without breaking old
 * hashes: a sign-in with an older cost rehashes at the current one
 * (`needsRehash`). The cost follows OWASP's password storage guidance for
 * scrypt: N=2^17, r=8, p=1 — 128 MiB of memory per hash, so at most two hashes
 * run at once in a process (the rest wait their turn).
 */
import crypto from 'node:crypto';

/** Current scrypt cost. */
export const SCRYPT_COST = { N: 2 ** 17, r: 8, p: 1 };
const KEY_LENGTH = 32;
/** Largest N accepted from a stored hash (bounds the memory a forged row could ask for). */
const MAX_N = 2 ** 20;
const MAX_CONCURRENT = 2;

let running = 0;
const waiting: Array<() => void> = [];

async function withSlot<T>(fn: () => Promise<T>): Promise<T> {
  if (running >= MAX_CONCURRENT) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await fn();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

function scrypt(password: string, salt: Buffer, opts: { N: number; r: number; p: number }): Promise<Buffer> {
  // scrypt needs 128·N·r bytes; maxmem must exceed it (Node's default of 32 MiB refuses N=2^17).
  const maxmem = 128 * opts.N * opts.r * opts.p + 32 * 1024 * 1024;
  return withSlot(
    () =>
      new Promise((resolve, reject) => {
        crypto.scrypt(password.normalize('NFKC'), salt, KEY_LENGTH, { ...opts, maxmem }, (err, key) => (err ? reject(err) : resolve(key)));
      }),
  );
}

/** Hash a password with a fresh salt at the current cost. */
export async function hashPassword(password: string): Promise<string> {
  const salt = crypto.randomBytes(16);
  const { N, r, p } = SCRYPT_COST;
  const key = await scrypt(password, salt, SCRYPT_COST);
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

function parse(stored: string): { N: number; r: number; p: number; salt: Buffer; hash: Buffer } | undefined {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined;
  const [N, r, p] = parts.slice(1, 4).map(Number);
  if (![N, r, p].every((n) => Number.isInteger(n) && n > 0) || N > MAX_N || r > 32 || p > 16) return undefined;
  return { N, r, p, salt: Buffer.from(parts[4], 'base64'), hash: Buffer.from(parts[5], 'base64') };
}

/** True when the password matches the stored hash (constant-time compare). */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const h = parse(stored);
  if (!h) return false;
  const actual = await scrypt(password, h.salt, h);
  return h.hash.length === actual.length && crypto.timingSafeEqual(h.hash, actual);
}

/** True when a stored hash was made with another cost than the current one (rehash it on the next sign-in). */
export function needsRehash(stored: string): boolean {
  const h = parse(stored);
  return !h || h.N !== SCRYPT_COST.N || h.r !== SCRYPT_COST.r || h.p !== SCRYPT_COST.p;
}
