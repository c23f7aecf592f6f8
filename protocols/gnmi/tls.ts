/**
 * Channel credentials and call metadata for a device: TLS (verify the configured
 * CA, or system roots), mTLS, and the lab modes skip-verify and insecure.
 * Credentials are refused over plaintext or unverified TLS unless the device allows it.
 */
import * as grpc from '@grpc/grpc-js';
import type { DeviceConfig } from '../../core/device';
import { SessionError } from '../../core/session';

/** How to reach the device: credentials, extra channel options, a label for status. */
export interface TransportSecurity {
  credentials: grpc.ChannelCredentials;
  options: grpc.ChannelOptions;
  /** Shown on the device ("tls", "mtls", "skip-verify (lab mode)", "insecure (lab mode)"). */
  label: string;
}

/** The TLS a device asks for, as plain material: what both transports (grpc-js, http2) build on. */
export type TlsMaterial = { secure: false; label: string } | { secure: true; label: string; verify: boolean; ca?: Buffer; key?: Buffer; cert?: Buffer; serverName?: string };

/** The device's TLS material; throws CONFIG_INVALID for settings that cannot work. */
export function tlsMaterial(device: DeviceConfig): TlsMaterial {
  const s = device.gnmi;
  const serverName = s.serverName || undefined;
  switch (s.tls) {
    case 'insecure':
      return { secure: false, label: 'insecure (lab mode)' };
    case 'skip-verify':
      return { secure: true, label: 'skip-verify (lab mode)', verify: false, key: clientKey(device, false), cert: clientCert(device, false), serverName };
    case 'mtls': {
      const key = clientKey(device, true);
      const cert = clientCert(device, true);
      return { secure: true, label: 'mtls', verify: true, ca: caCert(device), key, cert, serverName };
    }
    case 'tls':
    default:
      return { secure: true, label: 'tls', verify: true, ca: caCert(device), serverName };
  }
}

/** Build the grpc-js transport security for a device; throws CONFIG_INVALID for settings that cannot work. */
export function transportSecurity(device: DeviceConfig): TransportSecurity {
  const m = tlsMaterial(device);
  if (!m.secure) return { credentials: grpc.credentials.createInsecure(), options: {}, label: m.label };
  const options: grpc.ChannelOptions = {};
  if (m.serverName) {
    options['grpc.ssl_target_name_override'] = m.serverName;
    options['grpc.default_authority'] = m.serverName;
  }
  const verifyOptions = m.verify ? undefined : { rejectUnauthorized: false, checkServerIdentity: () => undefined };
  return { credentials: grpc.credentials.createSsl(m.ca ?? null, m.key ?? null, m.cert ?? null, verifyOptions), options, label: m.label };
}

function caCert(device: DeviceConfig): Buffer | undefined {
  return device.gnmi.caCert ? Buffer.from(device.gnmi.caCert) : undefined;
}

function clientKey(device: DeviceConfig, required: boolean): Buffer | undefined {
  const key = device.secrets.clientKey;
  if (!key) {
    if (required) throw new SessionError('CONFIG_INVALID', 'mtls needs a client key (credentials.clientKey)');
    return undefined;
  }
  return Buffer.from(key);
}

function clientCert(device: DeviceConfig, required: boolean): Buffer | undefined {
  const cert = device.gnmi.clientCert;
  if (!cert) {
    if (required) throw new SessionError('CONFIG_INVALID', 'mtls needs a client certificate (gnmi.clientCert)');
    return undefined;
  }
  return Buffer.from(cert);
}

/**
 * The username/password a device's calls carry (gRPC metadata: lower-case header names), or
 * none; refuses plaintext (`insecure`) and unverified TLS (`skip-verify`: anyone in the path
 * can present a certificate and read the password) unless the device explicitly allows that mode.
 */
export function credentialsHeaders(device: DeviceConfig): { username: string; password: string } | undefined {
  if (!device.username) return undefined;
  if (device.gnmi.tls === 'insecure' && !device.gnmi.allowPlaintextCredentials) {
    throw new SessionError('CONFIG_INVALID', 'refusing to send username/password over plaintext (tls: insecure); use TLS or allow plaintext credentials for this device');
  }
  if (device.gnmi.tls === 'skip-verify' && !device.gnmi.allowUnverifiedCredentials) {
    throw new SessionError(
      'CONFIG_INVALID',
      'refusing to send username/password to an unverified peer (tls: skip-verify); verify its certificate (tls) or allow unverified credentials for this device',
    );
  }
  return { username: device.username, password: device.secrets.password ?? '' };
}

/** Call metadata carrying username/password (grpc-js transport), with credentialsHeaders' refusals. */
export function credentialsMetadata(device: DeviceConfig): grpc.Metadata {
  const md = new grpc.Metadata();
  const creds = credentialsHeaders(device);
  if (!creds) return md;
  md.set('username', creds.username);
  md.set('password', creds.password);
  return md;
}
