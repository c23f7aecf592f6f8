/**
 * Device and subscription-profile settings as stored in the database (jsonb) and
 * handed to protocol sessions. Pure types and zod schemas: no I/O.
 */
import { z } from 'zod';

/** gNMI transport security. `insecure` (plaintext) and `skip-verify` are lab modes. */
export const GnmiTlsMode = z.enum(['tls', 'mtls', 'skip-verify', 'insecure']);
export type GnmiTlsMode = z.infer<typeof GnmiTlsMode>;

/** gNMI encodings a collector may ask for. */
export const GnmiEncoding = z.enum(['proto', 'json_ietf', 'json', 'ascii', 'bytes']);
export type GnmiEncoding = z.infer<typeof GnmiEncoding>;

/** Non-secret gNMI device settings. */
export const GnmiDeviceSettings = z.object({
  tls: GnmiTlsMode.default('tls'),
  /** PEM CA bundle used to verify the device certificate (tls, mtls). */
  caCert: z.string().max(65536).optional(),
  /** Expected server name when it differs from the address. */
  serverName: z.string().max(255).optional(),
  /** Client certificate (PEM) for mtls; the key is a secret (credentials.clientKey). */
  clientCert: z.string().max(65536).optional(),
  /** Send username/password over plaintext (lab only). */
  allowPlaintextCredentials: z.boolean().default(false),
  /** Send username/password over TLS whose certificate is not verified (`skip-verify`, lab only). */
  allowUnverifiedCredentials: z.boolean().default(false),
  /** Encoding override; otherwise chosen from Capabilities (JSON_IETF when Capabilities is not answered). */
  encoding: GnmiEncoding.optional(),
  /** How long Capabilities may take; unanswered or UNIMPLEMENTED, the session subscribes without it (ADR 014). */
  capabilitiesTimeoutMs: z.number().int().min(100).max(120_000).default(10_000),
  /** gNMI `target` put in the subscription prefix. */
  target: z.string().max(255).optional(),
  /** Largest message accepted from the device, bytes. */
  maxMessageBytes: z.number().int().min(64 * 1024).max(256 * 1024 * 1024).default(4 * 1024 * 1024),
});
export type GnmiDeviceSettings = z.infer<typeof GnmiDeviceSettings>;

/** Non-secret NETCONF device settings. */
export const NetconfDeviceSettings = z.object({
  /** Pinned SSH host key, "SHA256:<base64>" as OpenSSH prints it. */
  hostKeySha256: z.string().max(128).optional(),
  /** Accept and store an unknown host key on first use (an operator approved it). */
  acceptNewHostKey: z.boolean().default(false),
  /** Largest NETCONF message accepted, bytes. */
  maxMessageBytes: z.number().int().min(64 * 1024).max(256 * 1024 * 1024).default(16 * 1024 * 1024),
});
export type NetconfDeviceSettings = z.infer<typeof NetconfDeviceSettings>;

/** Secrets of a device; stored encrypted, loaded only inside activities. */
export interface DeviceSecrets {
  password?: string;
  /** SSH private key (OpenSSH or PEM) for NETCONF. */
  privateKey?: string;
  /** Decrypts `privateKey` when it is encrypted; ignored for an unencrypted key. */
  passphrase?: string;
  clientKey?: string;
}

/** Everything a protocol session needs to reach one device. */
export interface DeviceConfig {
  id: number;
  name: string;
  protocol: 'gnmi' | 'netconf';
  host: string;
  port: number;
  username?: string;
  secrets: DeviceSecrets;
  gnmi: GnmiDeviceSettings;
  netconf: NetconfDeviceSettings;
}

/** One gNMI subscription inside a profile. */
export const GnmiSubscriptionSpec = z.object({
  path: z.string().min(1).max(1024),
  mode: z.enum(['sample', 'on_change', 'target_defined']).default('sample'),
  sampleIntervalMs: z.number().int().min(0).max(86_400_000).default(10_000),
  heartbeatIntervalMs: z.number().int().min(0).max(86_400_000).default(0),
  suppressRedundant: z.boolean().default(false),
});
export type GnmiSubscriptionSpec = z.infer<typeof GnmiSubscriptionSpec>;

/** What to collect over gNMI. */
export const GnmiProfileSpec = z.object({
  mode: z.enum(['stream', 'once', 'poll']).default('stream'),
  /** Poll period for mode `poll` (the collector sends Poll at this interval). */
  pollIntervalMs: z.number().int().min(100).max(86_400_000).default(10_000),
  updatesOnly: z.boolean().default(false),
  origin: z.string().max(64).optional(),
  prefix: z.string().max(1024).optional(),
  encoding: GnmiEncoding.optional(),
  subscriptions: z.array(GnmiSubscriptionSpec).min(1).max(256),
});
export type GnmiProfileSpec = z.infer<typeof GnmiProfileSpec>;

/** What to collect over NETCONF. */
export const NetconfProfileSpec = z.object({
  /** `get-data` is RFC 8526 `<get-data>` on the operational datastore (NMDA devices). */
  method: z.enum(['get', 'get-data', 'yang-push-periodic', 'yang-push-on-change', 'notifications']).default('get'),
  filterType: z.enum(['subtree', 'xpath']).default('subtree'),
  /** Subtree filter XML or an XPath expression. */
  filter: z.string().min(1).max(65536),
  /**
   * `interfaces-auto`: at session start, replace the filter by the ietf-interfaces tree the device
   * advertises (revision 2018-02-20 or later: NMDA `/interfaces`; older: `/interfaces-state`);
   * a device advertising neither keeps `filter`. Absent = as-written. ADR 022.
   */
  select: z.enum(['as-written', 'interfaces-auto']).optional(),
  /** Poll period (`get`) or push period (`yang-push-periodic`), milliseconds. */
  periodMs: z.number().int().min(100).max(86_400_000).default(10_000),
  /** Dampening period for on-change, milliseconds. */
  dampeningMs: z.number().int().min(0).max(86_400_000).default(0),
  /** RFC 5277 stream name for `notifications`. */
  stream: z.string().max(255).default('NETCONF'),
  /** Extra list keys: list node name → key leaf names. */
  listKeys: z.record(z.string(), z.array(z.string())).default({}),
});
export type NetconfProfileSpec = z.infer<typeof NetconfProfileSpec>;

/** A named subscription profile attached to devices. */
export interface SubscriptionProfile {
  id: number;
  name: string;
  protocol: 'gnmi' | 'netconf';
  gnmi?: GnmiProfileSpec;
  netconf?: NetconfProfileSpec;
}
