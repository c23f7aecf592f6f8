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

/** Build the transport security for a device; throws CONFIG_INVALID for settings that cannot work. */
export function transportSecurity(device: DeviceConfig): TransportSecurity {
  const s = device.gnmi;
  const options: grpc.ChannelOptions = {};
  if (s.serverName) {
    options['grpc.ssl_target_name_override'] = s.serverName;
    options['grpc.default_authority'] = s.serverName;
  }
  const ca = s.caCert ? Buffer.from(s.caCert) : null;
  switch (s.tls) {
    case 'insecure':
      return { credentials: grpc.credentials.createInsecure(), options: {}, label: 'insecure (lab mode)' };
    case 'skip-verify': {
      const credentials = grpc.credentials.createSsl(null, clientKey(device, false), clientCert(device, false), {
        rejectUnauthorized: false,
        checkServerIdentity: () => undefined,
      });
      return { credentials, options, label: 'skip-verify (lab mode)' };
    }
    case 'mtls': {
      const key = clientKey(device, true);
      const cert = clientCert(device, true);
      return { credentials: grpc.credentials.createSsl(ca, key, cert), options, label: 'mtls' };
    }
    case 'tls':
    default:
      return { credentials: grpc.credentials.createSsl(ca), options, label: 'tls' };
  }
}

function clientKey(device: DeviceConfig, required: boolean): Buffer | null {
  const key = device.secrets.clientKey;
  if (!key) {
    if (required) throw new SessionError('CONFIG_INVALID', 'mtls needs a client key (credentials.clientKey)');
    return null;
  }
  return Buffer.from(key);
}

function clientCert(device: DeviceConfig, required: boolean): Buffer | null {
  const cert = device.gnmi.clientCert;
  if (!cert) {
    if (required) throw new SessionError('CONFIG_INVALID', 'mtls needs a client certificate (gnmi.clientCert)');
    return null;
  }
  return Buffer.from(cert);
}

/**
 * Call metadata carrying username/password; refuses plaintext (`insecure`) and
 * unverified TLS (`skip-verify`: anyone in the path can present a certificate and
 * read the password) unless the device explicitly allows that mode.
 */
export function credentialsMetadata(device: DeviceConfig): grpc.Metadata {
  const md = new grpc.Metadata();
  if (!device.username) return md;
  if (device.gnmi.tls === 'insecure' && !device.gnmi.allowPlaintextCredentials) {
    throw new SessionError(
      'CONFIG_INVALID',
      'refusing to send username/password over plaintext (tls: insecure); use TLS or allow plaintext credentials for this device',
    );
  }
  if (device.gnmi.tls === 'skip-verify' && !device.gnmi.allowUnverifiedCredentials) {
    throw new SessionError(
      'CONFIG_INVALID',
      'refusing to send username/password to an unverified peer (tls: skip-verify); verify its certificate (tls) or allow unverified credentials for this device',
    );
  }
  md.set('username', device.username);
  md.set('password', device.secrets.password ?? '');
  return md;
}
