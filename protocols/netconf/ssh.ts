/**
 * The SSH transport of the collector: connect with password or private key
 * (decrypted with the passphrase secret when it is encrypted), verify the host
 * key against the pinned SHA-256 fingerprint (or store it on an approved first
 * use), open `netconf` subsystem channels.
 */
import { createHash } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { Client, type ConnectConfig } from 'ssh2';
import type { DeviceConfig, DeviceSecrets } from '../../core/device';
import { SessionError } from '../../core/session';

/** OpenSSH-style fingerprint of a public key blob: `SHA256:<base64 without padding>`. */
export function sshFingerprint(publicKeyBlob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(publicKeyBlob).digest('base64').replace(/=+$/, '');
}

/** Normalise a stored fingerprint (tolerates a missing `SHA256:` prefix or `=` padding). */
export function normaliseFingerprint(fp: string): string {
  const body = fp.trim().replace(/^SHA256:/i, '').replace(/=+$/, '');
  return `SHA256:${body}`;
}

/** What the private key's PEM armour or OpenSSH header says about its encryption. */
function keyEncryption(key: string): 'none' | 'encrypted' | 'pkcs8-encrypted' {
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(key)) return 'pkcs8-encrypted';
  // PuTTY: only version 2 files are readable by ssh2, so only they count as "needs the passphrase".
  if (/^Proc-Type:\s*4,ENCRYPTED/m.test(key) || /^PuTTY-User-Key-File-2:.*\r?\nEncryption:[ \t]*(?!none\s*$)\S+/m.test(key)) return 'encrypted';
  const openssh = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]*?)-----END OPENSSH PRIVATE KEY-----/.exec(key);
  if (openssh) {
    // "openssh-key-v1\0", then the cipher name as an SSH string (uint32 length + bytes).
    const blob = Buffer.from(openssh[1].replace(/\s+/g, ''), 'base64');
    if (blob.length >= 19 && blob.toString('latin1', 0, 15) === 'openssh-key-v1\0') {
      const len = blob.readUInt32BE(15);
      if (blob.toString('latin1', 19, 19 + len) !== 'none') return 'encrypted';
    }
  }
  return 'none';
}

const PASSPHRASE_PROBLEM = 'the private key is encrypted and the passphrase is missing or wrong';

/**
 * Why the private key cannot be used, found from its header alone (no decryption):
 * an encrypted key without a passphrase, or an encrypted PKCS#8 key, which ssh2
 * cannot read. Undefined when ssh2 should try it.
 */
function privateKeyProblem(secrets: DeviceSecrets): SessionError | undefined {
  if (!secrets.privateKey) return undefined;
  const encryption = keyEncryption(secrets.privateKey);
  if (encryption === 'pkcs8-encrypted') {
    // `ssh-keygen -p` rewrites an RSA or ECDSA PKCS#8 key in OpenSSH format, which ssh2 reads.
    return new SessionError('CONFIG_INVALID', 'the private key is an encrypted PKCS#8 key, which is not supported; convert it to OpenSSH format (ssh-keygen -p -f <file>)');
  }
  if (encryption === 'encrypted' && !secrets.passphrase) return new SessionError('AUTH_FAILED', `${PASSPHRASE_PROBLEM} (no passphrase is stored)`);
  return undefined;
}

/**
 * The SessionError for what ssh2's connect() threw synchronously: it parses, and
 * decrypts with the passphrase, the private key there. A supported cipher that
 * fails to decrypt means a wrong passphrase: AUTH_FAILED, since the operator must
 * fix a credential and no reconnect can help. The message never quotes the key.
 */
function credentialsError(err: unknown, secrets: DeviceSecrets): SessionError {
  const message = err instanceof Error ? err.message : String(err);
  if (secrets.privateKey && keyEncryption(secrets.privateKey) === 'encrypted' && /parse privateKey/i.test(message) && !/not supported|unsupported/i.test(message)) {
    return new SessionError('AUTH_FAILED', `${PASSPHRASE_PROBLEM} (the stored passphrase does not decrypt it)`);
  }
  return new SessionError('CONFIG_INVALID', `cannot use the device credentials: ${message}`, { cause: err });
}

/** Options of connectSsh. */
export interface SshConnectOptions {
  device: DeviceConfig;
  saveHostKey?: (sha256: string) => Promise<void>;
  /** Told the presented key's fingerprint and the pinned one before they are compared. */
  onHostKey?: (key: { presented: string; pinned?: string }) => void;
  readyTimeoutMs: number;
  signal: AbortSignal;
}

/** Connect and authenticate; rejects with a SessionError whose code says why. */
export function connectSsh(opts: SshConnectOptions): Promise<Client> {
  const { device } = opts;
  const pinned = device.netconf.hostKeySha256 ? normaliseFingerprint(device.netconf.hostKeySha256) : undefined;
  return new Promise<Client>((resolve, reject) => {
    const client = new Client();
    let hostKeyError: SessionError | undefined;
    let settled = false;
    const done = (err?: SessionError) => {
      if (settled) return;
      settled = true;
      opts.signal.removeEventListener('abort', onAbort);
      if (err) {
        client.removeAllListeners();
        client.on('error', () => {});
        client.end();
        reject(err);
      } else resolve(client);
    };
    const onAbort = () => done(new SessionError('UNAVAILABLE', 'aborted while connecting'));
    opts.signal.addEventListener('abort', onAbort);

    const hostVerifier = (key: Buffer, verify: (ok: boolean) => void): void => {
      const presented = sshFingerprint(key);
      opts.onHostKey?.({ presented, pinned });
      if (pinned) {
        if (presented === pinned) return verify(true);
        hostKeyError = new SessionError(
          'HOST_KEY_MISMATCH',
          `the SSH host key of ${device.host}:${device.port} changed: pinned ${pinned}, presented ${presented}. Verify the device and update its pinned key.`,
        );
        return verify(false);
      }
      if (!device.netconf.acceptNewHostKey || !opts.saveHostKey) {
        hostKeyError = new SessionError(
          'HOST_KEY_UNKNOWN',
          `no pinned SSH host key for ${device.host}:${device.port}; it presented ${presented}. Approve it (accept new host key) or pin it.`,
        );
        return verify(false);
      }
      opts.saveHostKey(presented).then(
        () => verify(true),
        (err: unknown) => {
          hostKeyError = new SessionError('INTERNAL', `could not store the approved host key: ${err instanceof Error ? err.message : String(err)}`);
          verify(false);
        },
      );
    };

    client.on('ready', () => done());
    client.on('error', (err: Error & { level?: string; code?: string }) => {
      if (hostKeyError) return done(hostKeyError);
      if (err.level === 'client-authentication') return done(new SessionError('AUTH_FAILED', `the device rejected the credentials of user ${device.username ?? ''}`, { cause: err }));
      if (err.level === 'client-timeout') return done(new SessionError('UNAVAILABLE', `SSH handshake with ${device.host}:${device.port} timed out`, { cause: err }));
      done(new SessionError('UNAVAILABLE', `SSH connection to ${device.host}:${device.port} failed: ${err.message}`, { cause: err }));
    });
    client.on('close', () => done(hostKeyError ?? new SessionError('UNAVAILABLE', `SSH connection to ${device.host}:${device.port} closed during set-up`)));

    const cfg: ConnectConfig = {
      host: device.host,
      port: device.port,
      username: device.username ?? '',
      readyTimeout: opts.readyTimeoutMs,
      hostVerifier: hostVerifier as unknown as ConnectConfig['hostVerifier'],
      keepaliveInterval: 15_000,
      keepaliveCountMax: 3,
      tryKeyboard: false,
    };
    if (device.secrets.privateKey) {
      cfg.privateKey = device.secrets.privateKey;
      // ssh2 ignores it for an unencrypted key.
      if (device.secrets.passphrase) cfg.passphrase = device.secrets.passphrase;
    }
    if (device.secrets.password !== undefined) cfg.password = device.secrets.password;
    if (!cfg.privateKey && cfg.password === undefined) {
      return done(new SessionError('CONFIG_INVALID', 'the device has neither a password nor a private key'));
    }
    const keyProblem = privateKeyProblem(device.secrets);
    if (keyProblem) return done(keyProblem);
    try {
      client.connect(cfg);
    } catch (err) {
      // ssh2 throws synchronously on an unparsable private key or a wrong passphrase.
      done(credentialsError(err, device.secrets));
    }
  });
}

/** Open one `netconf` subsystem channel. */
export function openNetconfChannel(client: Client): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    client.subsys('netconf', (err, stream) => {
      if (err) reject(new SessionError('CONFIG_INVALID', `the device refused the netconf subsystem: ${err.message}`, { cause: err }));
      else resolve(stream as unknown as Duplex);
    });
  });
}
