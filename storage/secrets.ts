/**
 * Device secrets at rest: AES-256-GCM under a versioned key kept outside the
 * database — SECRETS_KEY ("1:<base64 32 bytes>[,2:<base64>]", the highest
 * version encrypts) or a key file created with mode 0600 on first run.
 *
 * Rotation while everything runs (docs/decisions/044-key-rotation-without-loss.md):
 * a keyring read from a file follows that file — it re-reads it when it meets a
 * key version it lacks (unseal) and when the file changed (seal), merging new
 * versions in place, so every holder of the ring in a process sees them. A secret
 * that still cannot be decrypted is a SecretsUnreadableError, never an empty set.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** Versioned keys; `current` encrypts, every version decrypts. */
export interface Keyring {
  current: number;
  keys: Map<number, Buffer>;
  /** The key file this ring was read from (absent for SECRETS_KEY): re-read for versions added later. */
  file?: string;
  /** The file's mtime and size when last read. */
  stamp?: string;
}

/** A stored secret that cannot be decrypted (a key version this process does not have, or tampered data). */
export class SecretsUnreadableError extends Error {
  constructor(message: string, readonly keyVersion?: number) {
    super(message);
    this.name = 'SecretsUnreadableError';
  }
}

/** Whether `err` is a SecretsUnreadableError (by name: a bundle or a second module instance has its own class). */
export function isSecretsUnreadable(err: unknown): err is SecretsUnreadableError {
  return err instanceof Error && err.name === 'SecretsUnreadableError';
}

/** An encrypted blob as stored in device_credentials. */
export interface SealedSecret {
  keyVersion: number;
  nonce: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
}

/** Parse "1:<b64>,2:<b64>" into a keyring. */
export function parseKeyring(text: string): Keyring {
  const keys = new Map<number, Buffer>();
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^(\d+):(.+)$/.exec(part);
    if (!m) throw new Error('SECRETS_KEY must look like "1:<base64 of 32 bytes>[,2:<base64>]"');
    const key = Buffer.from(m[2], 'base64');
    if (key.length !== 32) throw new Error(`secrets key version ${m[1]} is ${key.length} bytes; AES-256 needs 32`);
    keys.set(Number(m[1]), key);
  }
  if (keys.size === 0) throw new Error('no secrets key given');
  return { current: Math.max(...keys.keys()), keys };
}

/** Render a keyring back to its text form. */
export function formatKeyring(ring: Keyring): string {
  return [...ring.keys.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([v, k]) => `${v}:${k.toString('base64')}`)
    .join(',');
}

/**
 * Load the keyring from SECRETS_KEY, else from SECRETS_KEY_FILE / <dataDir>/secrets.key,
 * creating that file (mode 0600) with a fresh key on first run.
 */
export function loadKeyring(opts: { key?: string; keyFile?: string; dataDir: string }): Keyring {
  if (opts.key) return parseKeyring(opts.key);
  const file = keyFilePath(opts);
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const ring: Keyring = { current: 1, keys: new Map([[1, crypto.randomBytes(32)]]) };
    fs.writeFileSync(file, formatKeyring(ring) + '\n', { mode: 0o600, flag: 'wx' });
    fsyncPath(file);
    fsyncPath(path.dirname(file));
    return { ...ring, file, stamp: fileStamp(file) };
  }
  return readKeyFile(file);
}

/** Where the key file is (SECRETS_KEY_FILE, else <dataDir>/secrets.key). */
export function keyFilePath(opts: { keyFile?: string; dataDir: string }): string {
  return opts.keyFile ?? path.join(opts.dataDir, 'secrets.key');
}

function fileStamp(file: string): string | undefined {
  try {
    const st = fs.statSync(file);
    return `${st.mtimeMs}:${st.size}:${st.ino}`;
  } catch {
    return undefined;
  }
}

function readKeyFile(file: string): Keyring {
  const stamp = fileStamp(file);
  return { ...parseKeyring(fs.readFileSync(file, 'utf8')), file, stamp };
}

function fsyncPath(p: string): void {
  const fd = fs.openSync(p, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Re-read the ring's key file when it changed (or always, with `force`) and merge
 * the versions found into the ring in place. Versions are only ever added: a key
 * the file no longer lists stays usable in this process. Returns whether the ring
 * gained a version.
 */
export function refreshKeyring(ring: Keyring, force = false): boolean {
  if (!ring.file) return false;
  const stamp = fileStamp(ring.file);
  if (!force && stamp === ring.stamp) return false;
  let fresh: Keyring;
  try {
    fresh = parseKeyring(fs.readFileSync(ring.file, 'utf8'));
  } catch {
    return false; // a missing or half-edited file never takes keys away: keep what we have
  }
  ring.stamp = stamp;
  let gained = false;
  for (const [v, key] of fresh.keys) {
    const had = ring.keys.get(v);
    if (had && !had.equals(key)) throw new Error(`the key file ${ring.file} now holds a different key for version ${v}; refusing to use it`);
    if (!had) {
      ring.keys.set(v, key);
      gained = true;
    }
  }
  ring.current = Math.max(ring.current, fresh.current);
  return gained;
}

/**
 * Write a keyring to its key file durably before anything is sealed under it: a
 * temporary file (0600) written and fsynced, renamed over the file, then the
 * directory fsynced, so a crash leaves either the old file or the new one.
 */
export function writeKeyFile(file: string, ring: Keyring): void {
  const tmp = `${file}.${process.pid}.new`;
  const fd = fs.openSync(tmp, 'w', 0o600);
  try {
    fs.writeSync(fd, formatKeyring(ring) + '\n');
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  fsyncPath(path.dirname(file));
}

/**
 * Load the keyring as loadKeyring does, after checking it against the database:
 * refuses to create a fresh key while secrets (device credentials, alert contact points) are stored (they were sealed
 * under a key that is missing, and a new one would only hide that), and refuses a
 * ring that lacks a key version stored rows use — both naming the versions.
 */
export async function openKeyring(
  db: { raw(sql: string): PromiseLike<{ rows: Array<{ key_version: number; n: string }> }> },
  opts: { key?: string; keyFile?: string; dataDir: string },
): Promise<Keyring> {
  // Sealed secrets live in device_credentials and alert_contact_points (each may not exist
  // yet: a process started before the migrations has nothing sealed in it either).
  const count = (sql: string) =>
    Promise.resolve(db.raw(sql)).then(
      (r) => r.rows,
      (err: { code?: string }) => {
        if (err?.code === '42P01') return [] as Array<{ key_version: number; n: string }>;
        throw err;
      },
    );
  const devices = await count('SELECT key_version, count(*) AS n FROM device_credentials GROUP BY key_version');
  const contactPoints = await count('SELECT key_version, count(*) AS n FROM alert_contact_points WHERE key_version IS NOT NULL GROUP BY key_version');
  const byVersion = new Map<number, { version: number; devices: number; contactPoints: number }>();
  const entry = (v: number) => byVersion.get(v) ?? byVersion.set(v, { version: v, devices: 0, contactPoints: 0 }).get(v)!;
  for (const r of devices) entry(Number(r.key_version)).devices += Number(r.n);
  for (const r of contactPoints) entry(Number(r.key_version)).contactPoints += Number(r.n);
  const stored = [...byVersion.values()].sort((a, b) => a.version - b.version);
  const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
  const describe = (vs: typeof stored) =>
    vs
      .map((s) => `version ${s.version} (${[s.devices ? plural(s.devices, 'device') : '', s.contactPoints ? plural(s.contactPoints, 'alert contact point') : ''].filter(Boolean).join(', ')})`)
      .join(', ');
  if (!opts.key && !fs.existsSync(keyFilePath(opts)) && stored.length > 0) {
    throw new SecretsUnreadableError(
      `refusing to create a new secrets key: the database holds secrets sealed under key ${describe(stored)}, ` +
        `and there is no key file at ${keyFilePath(opts)}. Restore that file (or set SECRETS_KEY / SECRETS_KEY_FILE to the key ring in use).`,
      stored[0].version,
    );
  }
  const ring = loadKeyring(opts);
  const missing = stored.filter((s) => !ring.keys.has(s.version));
  if (missing.length > 0) {
    throw new SecretsUnreadableError(
      `the secrets key ring (${opts.key ? 'SECRETS_KEY' : ring.file}) lacks key ${describe(missing)} that stored secrets use; ` +
        `add ${missing.length === 1 ? 'that version' : 'those versions'} to it`,
      missing[0].version,
    );
  }
  return ring;
}

/** Add a new key version (rotation); the caller re-encrypts and saves the ring. */
export function addKeyVersion(ring: Keyring): Keyring {
  const next = ring.current + 1;
  const keys = new Map(ring.keys);
  keys.set(next, crypto.randomBytes(32));
  return { current: next, keys };
}

/** Encrypt a JSON-serialisable value; `aad` binds it to its owner (e.g. the device id). */
export function seal(ring: Keyring, value: unknown, aad: string): SealedSecret {
  // A rotation may have added a version to the key file: seal under the newest one.
  refreshKeyring(ring);
  const key = ring.keys.get(ring.current)!;
  const nonce = crypto.randomBytes(12);
  const cipher = crypto.createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(Buffer.from(aad));
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
  return { keyVersion: ring.current, nonce, ciphertext, tag: cipher.getAuthTag() };
}

/** Decrypt; throws SecretsUnreadableError for an unknown key version (after re-reading the key file) or tampered data. */
export function unseal<T>(ring: Keyring, sealed: SealedSecret, aad: string): T {
  if (!ring.keys.has(sealed.keyVersion)) refreshKeyring(ring, true);
  const key = ring.keys.get(sealed.keyVersion);
  if (!key) {
    throw new SecretsUnreadableError(
      `secret was encrypted with key version ${sealed.keyVersion}, which this keyring lacks` +
        (ring.file ? ` (not in ${ring.file} either)` : ' (SECRETS_KEY: add that version and restart)'),
      sealed.keyVersion,
    );
  }
  const decipher = crypto.createDecipheriv('aes-256-gcm', key, sealed.nonce);
  decipher.setAAD(Buffer.from(aad));
  decipher.setAuthTag(sealed.tag);
  try {
    const plain = Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]);
    return JSON.parse(plain.toString('utf8')) as T;
  } catch {
    throw new SecretsUnreadableError(`stored secret failed authentication under key version ${sealed.keyVersion} (wrong key or tampered data)`, sealed.keyVersion);
  }
}
