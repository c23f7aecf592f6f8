/**
 * The device form: one schema built from core/device.ts's settings schemas
 * (the same ones the collectors parse), and the mapping from form fields to
 * it. Field names are the schema paths ("gnmi.tls", "secrets.password"), so
 * zod's errors land next to the right input.
 */
import { z } from 'zod';
import { GnmiDeviceSettings, NetconfDeviceSettings } from '../../../core/device';
import { block, checkbox, num, text } from './forms';

const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$|^\d{1,3}(?:\.\d{1,3}){3}$|^\[?[0-9A-Fa-f:]+\]?$/;

/** A device as the form submits it. */
export const DeviceForm = z
  .object({
    name: z
      .string({ error: 'Required' })
      .min(1, 'Required')
      .max(100)
      .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, 'Letters, digits and . _ : - only'),
    protocol: z.enum(['gnmi', 'netconf'], { error: 'Choose gNMI or NETCONF' }),
    host: z.string({ error: 'Required' }).min(1, 'Required').max(255).regex(HOST, 'A host name or IP address'),
    port: z.number({ error: 'A port number' }).int('A whole number').min(1, '1–65535').max(65535, '1–65535'),
    username: z.string().max(255).optional(),
    site: z.string().max(100).optional(),
    enabled: z.boolean(),
    profileIds: z.array(z.number().int().positive()),
    gnmi: GnmiDeviceSettings,
    netconf: NetconfDeviceSettings,
    /** Write-only: blank keeps what is stored. */
    secrets: z.object({
      password: z.string().max(1024).optional(),
      privateKey: z.string().max(16384).optional(),
      /** Decrypts an encrypted privateKey (it may be kept while a new key is entered, or the reverse). */
      passphrase: z.string().max(1024).optional(),
      clientKey: z.string().max(16384).optional(),
    }),
    clearSecrets: z.boolean(),
  })
  .superRefine((d, ctx) => {
    if (d.protocol === 'gnmi' && d.gnmi.tls === 'mtls' && !d.gnmi.clientCert) {
      ctx.addIssue({ code: 'custom', path: ['gnmi', 'clientCert'], message: 'mTLS needs a client certificate' });
    }
    if (d.protocol === 'netconf' && d.netconf.hostKeySha256 && !/^SHA256:[A-Za-z0-9+/]{43}=?$/.test(d.netconf.hostKeySha256)) {
      ctx.addIssue({ code: 'custom', path: ['netconf', 'hostKeySha256'], message: 'Looks like SHA256:<43 base64 characters>' });
    }
  });
export type DeviceForm = z.infer<typeof DeviceForm>;

/** Names of the form's secret inputs: never echoed back. */
export const SECRET_FIELDS = ['secrets.password', 'secrets.privateKey', 'secrets.passphrase', 'secrets.clientKey'];

/** A password-like field taken exactly as typed (spaces are part of it); undefined when blank. */
function secret(form: FormData, name: string): string | undefined {
  const v = form.get(name);
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/**
 * Read the device form's fields into the shape DeviceForm validates. Only the chosen
 * protocol's settings are read (the form renders only that group); the other protocol's
 * settings are taken as defaults, so a stray value can never fail a field nobody sees.
 */
export function deviceFormInput(form: FormData): unknown {
  const input = readDeviceForm(form);
  if (input.protocol === 'netconf') input.gnmi = {} as typeof input.gnmi;
  else if (input.protocol === 'gnmi') input.netconf = {} as typeof input.netconf;
  return input;
}

function readDeviceForm(form: FormData) {
  return {
    name: text(form, 'name') ?? '',
    protocol: text(form, 'protocol'),
    host: text(form, 'host') ?? '',
    port: num(form, 'port'),
    username: text(form, 'username'),
    site: text(form, 'site'),
    enabled: checkbox(form, 'enabled'),
    profileIds: form.getAll('profileIds').map(Number).filter((n) => Number.isInteger(n) && n > 0),
    gnmi: {
      tls: text(form, 'gnmi.tls'),
      caCert: block(form, 'gnmi.caCert'),
      serverName: text(form, 'gnmi.serverName'),
      clientCert: block(form, 'gnmi.clientCert'),
      allowPlaintextCredentials: checkbox(form, 'gnmi.allowPlaintextCredentials'),
      allowUnverifiedCredentials: checkbox(form, 'gnmi.allowUnverifiedCredentials'),
      encoding: text(form, 'gnmi.encoding'),
      target: text(form, 'gnmi.target'),
      capabilitiesTimeoutMs: num(form, 'gnmi.capabilitiesTimeoutMs'),
      maxMessageBytes: num(form, 'gnmi.maxMessageBytes'),
    },
    netconf: {
      hostKeySha256: text(form, 'netconf.hostKeySha256'),
      acceptNewHostKey: checkbox(form, 'netconf.acceptNewHostKey'),
      maxMessageBytes: num(form, 'netconf.maxMessageBytes'),
    },
    secrets: {
      password: secret(form, 'secrets.password'),
      privateKey: block(form, 'secrets.privateKey'),
      passphrase: secret(form, 'secrets.passphrase'),
      clientKey: block(form, 'secrets.clientKey'),
    },
    clearSecrets: checkbox(form, 'clearSecrets'),
  };
}

/** Default TCP port of a protocol. */
export function defaultPort(protocol: 'gnmi' | 'netconf'): number {
  return protocol === 'gnmi' ? 57400 : 830;
}

/** Human words for gNMI TLS modes; the lab modes say so. */
export const TLS_MODE_LABELS: Record<z.infer<typeof GnmiDeviceSettings>['tls'], string> = {
  tls: 'TLS, verify the device certificate',
  mtls: 'Mutual TLS (client certificate)',
  'skip-verify': 'TLS without verification (lab only)',
  insecure: 'Plaintext (lab only)',
};

/** Choices for a gNMI encoding select; the blank choice ("automatic") is labelled by the caller. */
export function gnmiEncodingOptions(automatic: string): Array<[string, string]> {
  return [
    ['', automatic],
    ['proto', 'PROTO'],
    ['json_ietf', 'JSON_IETF'],
    ['json', 'JSON'],
  ];
}
