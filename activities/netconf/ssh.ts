/**
 * The SSH transport of the collector: connect with password or private key,
 * verify the host key against the pinned SHA-256 fingerprint (or store it on an
 * approved first use), open `netconf` subsystem channels.
 */
import { createHash } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { Client, type ConnectConfig } from 'ssh2';
import type { DeviceConfig } from '../../core/device';
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

/** Options of connectSsh. */
export interface SshConnectOptions {
  device: DeviceConfig;
  saveHostKey?: (sha256: string) => Promise<void>;
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
    if (device.secrets.privateKey) cfg.privateKey = device.secrets.privateKey;
    if (device.secrets.password !== undefined) cfg.password = device.secrets.password;
    if (!cfg.privateKey && cfg.password === undefined) {
      return done(new SessionError('CONFIG_INVALID', 'the device has neither a password nor a private key'));
    }
    try {
      client.connect(cfg);
    } catch (err) {
      // ssh2 throws synchronously on an unparsable private key.
      done(new SessionError('CONFIG_INVALID', `cannot use the device credentials: ${err instanceof Error ? err.message : String(err)}`, { cause: err }));
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
