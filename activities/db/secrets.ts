/**
 * Device secrets at rest: AES-256-GCM under a versioned key kept outside the
 * database — SECRETS_KEY ("1:<base64 32 bytes>[,2:<base64>]", the highest
 * version encrypts) or a key file created with mode 0600 on first run.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** Versioned keys; `current` encrypts, every version decrypts. */
export interface Keyring {
  current: number;
  keys: Map<number, Buffer>;
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
  const file = opts.keyFile ?? path.join(opts.dataDir, 'secrets.key');
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const ring: Keyring = { current: 1, keys: new Map([[1, crypto.randomBytes(32)]]) };
    fs.writeFileSync(file, formatKeyring(ring) + '\n', { mode: 0o600, flag: 'wx' });
    return ring;
  }
  return parseKeyring(fs.readFileSync(file, 'utf8'));
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
  const key = ring.keys.get(ring.current)!;
  const nonce = crypto.randomBytes(12);
  const cipher = crypto.createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(Buffer.from(aad));
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
  return { keyVersion: ring.current, nonce, ciphertext, tag: cipher.getAuthTag() };
}

/** Decrypt; throws a clear error for an unknown key version or tampered data. */
export function unseal<T>(ring: Keyring, sealed: SealedSecret, aad: string): T {
  const key = ring.keys.get(sealed.keyVersion);
  if (!key) throw new Error(`secret was encrypted with key version ${sealed.keyVersion}, which this keyring lacks`);
  const decipher = crypto.createDecipheriv('aes-256-gcm', key, sealed.nonce);
  decipher.setAAD(Buffer.from(aad));
  decipher.setAuthTag(sealed.tag);
  try {
    const plain = Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]);
    return JSON.parse(plain.toString('utf8')) as T;
  } catch {
    throw new Error('stored secret failed authentication (wrong key or tampered data)');
  }
}
