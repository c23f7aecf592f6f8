/**
 * Secrets typed in the device form for Test connection (ADR 091): sealed with the
 * secrets keyring by the web app before they enter a Temporal payload, opened by
 * the collector's probe activity. Bound (AES-GCM additional data) to the probe's
 * workflow id and carrying an expiry, so a copy read from workflow history opens
 * nowhere else and not later. Nothing here is stored.
 */
import type { DeviceSecrets } from '../core/device';
import { seal, unseal, type Keyring, type SealedSecret } from './secrets';

/** How long sealed probe secrets stay openable. */
const PROBE_SECRETS_TTL_MS = 120_000;

const aad = (workflowId: string) => `probe-secrets:${workflowId}`;

/** Seal typed secrets for one probe workflow; the text is safe to put in a payload. */
export function sealProbeSecrets(ring: Keyring, secrets: DeviceSecrets, workflowId: string, now = Date.now()): string {
  const s = seal(ring, { secrets, expiresAt: now + PROBE_SECRETS_TTL_MS }, aad(workflowId));
  return Buffer.from(
    JSON.stringify({ v: s.keyVersion, n: s.nonce.toString('base64'), c: s.ciphertext.toString('base64'), t: s.tag.toString('base64') }),
  ).toString('base64');
}

/** Open what sealProbeSecrets made for this workflow id; throws when tampered, foreign or expired. */
export function openProbeSecrets(ring: Keyring, text: string, workflowId: string, now = Date.now()): DeviceSecrets {
  const o = JSON.parse(Buffer.from(text, 'base64').toString('utf8')) as { v: number; n: string; c: string; t: string };
  const sealed: SealedSecret = { keyVersion: o.v, nonce: Buffer.from(o.n, 'base64'), ciphertext: Buffer.from(o.c, 'base64'), tag: Buffer.from(o.t, 'base64') };
  const { secrets, expiresAt } = unseal<{ secrets: DeviceSecrets; expiresAt: number }>(ring, sealed, aad(workflowId));
  if (now > expiresAt) throw new Error('the typed credentials of this probe expired');
  return secrets;
}
