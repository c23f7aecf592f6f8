/**
 * Device, credential and profile access shared by activities, the web app and
 * scripts. Secrets are decrypted only by loadDeviceConfig (inside activities).
 */
import type { Knex } from 'knex';
import {
  GnmiDeviceSettings,
  GnmiProfileSpec,
  NetconfDeviceSettings,
  NetconfProfileSpec,
  type DeviceConfig,
  type DeviceSecrets,
  type SubscriptionProfile,
} from '../../core/device';
import { seal, unseal, type Keyring } from './secrets';

/** A device row without secrets. */
export interface DeviceRow {
  id: number;
  name: string;
  protocol: 'gnmi' | 'netconf';
  host: string;
  port: number;
  username: string | null;
  site: string | null;
  enabled: boolean;
  settings: { gnmi?: Partial<GnmiDeviceSettings>; netconf?: Partial<NetconfDeviceSettings> };
  created_at: Date;
  updated_at: Date;
}

/** Fields to create a device. */
export interface NewDevice {
  name: string;
  protocol: 'gnmi' | 'netconf';
  host: string;
  port: number;
  username?: string | null;
  site?: string | null;
  enabled?: boolean;
  settings?: DeviceRow['settings'];
  secrets?: DeviceSecrets;
  profileIds?: number[];
}

const aadFor = (deviceId: number) => `device:${deviceId}`;

/** Insert a device (and its secrets and profile links) in one transaction; returns the row. */
export async function createDevice(db: Knex, ring: Keyring, input: NewDevice): Promise<DeviceRow> {
  return db.transaction(async (trx) => {
    const [row] = await trx('devices')
      .insert({
        name: input.name,
        protocol: input.protocol,
        host: input.host,
        port: input.port,
        username: input.username ?? null,
        site: input.site ?? null,
        enabled: input.enabled ?? true,
        settings: JSON.stringify(input.settings ?? {}),
      })
      .returning('*');
    if (input.secrets && Object.keys(input.secrets).length > 0) await saveSecrets(trx, ring, row.id, input.secrets);
    if (input.profileIds?.length) {
      await trx('device_profiles').insert(input.profileIds.map((profile_id) => ({ device_id: row.id, profile_id })));
    }
    return row as DeviceRow;
  });
}

/** Replace a device's secrets (encrypted under the current key). */
export async function saveSecrets(db: Knex, ring: Keyring, deviceId: number, secrets: DeviceSecrets): Promise<void> {
  const sealed = seal(ring, secrets, aadFor(deviceId));
  await db('device_credentials')
    .insert({
      device_id: deviceId,
      key_version: sealed.keyVersion,
      nonce: sealed.nonce,
      ciphertext: sealed.ciphertext,
      tag: sealed.tag,
      updated_at: db.fn.now(),
    })
    .onConflict('device_id')
    .merge();
}

/** Decrypt a device's secrets, or {} when it has none. */
export async function loadSecrets(db: Knex, ring: Keyring, deviceId: number): Promise<DeviceSecrets> {
  const row = await db('device_credentials').where({ device_id: deviceId }).first();
  if (!row) return {};
  return unseal<DeviceSecrets>(
    ring,
    { keyVersion: row.key_version, nonce: row.nonce, ciphertext: row.ciphertext, tag: row.tag },
    aadFor(deviceId),
  );
}

/** Re-encrypt every stored secret under the ring's current key; returns how many. */
export async function reencryptAllSecrets(db: Knex, oldRing: Keyring, newRing: Keyring): Promise<number> {
  const rows = await db('device_credentials').select('device_id');
  for (const { device_id } of rows) {
    await db.transaction(async (trx) => {
      const secrets = await loadSecrets(trx, oldRing, device_id);
      await saveSecrets(trx, newRing, device_id, secrets);
    });
  }
  return rows.length;
}

/** Profiles attached to a device, validated. */
export async function loadDeviceProfiles(db: Knex, deviceId: number): Promise<SubscriptionProfile[]> {
  const rows = await db('subscription_profiles as p')
    .join('device_profiles as dp', 'dp.profile_id', 'p.id')
    .where('dp.device_id', deviceId)
    .orderBy('p.id')
    .select('p.id', 'p.name', 'p.protocol', 'p.spec');
  return rows.map(parseProfileRow);
}

/** Validate a stored profile row; throws a readable error naming the profile. */
export function parseProfileRow(row: { id: number; name: string; protocol: 'gnmi' | 'netconf'; spec: unknown }): SubscriptionProfile {
  const schema = row.protocol === 'gnmi' ? GnmiProfileSpec : NetconfProfileSpec;
  const parsed = schema.safeParse(row.spec);
  if (!parsed.success) {
    throw new Error(`profile "${row.name}" is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return row.protocol === 'gnmi'
    ? { id: row.id, name: row.name, protocol: 'gnmi', gnmi: parsed.data as GnmiProfileSpec }
    : { id: row.id, name: row.name, protocol: 'netconf', netconf: parsed.data as NetconfProfileSpec };
}

/** Everything a session needs for one device, secrets decrypted; undefined when the device is gone. */
export async function loadDeviceConfig(
  db: Knex,
  ring: Keyring,
  deviceId: number,
): Promise<{ config: DeviceConfig; enabled: boolean; profiles: SubscriptionProfile[] } | undefined> {
  const row = (await db('devices').where({ id: deviceId }).first()) as DeviceRow | undefined;
  if (!row) return undefined;
  const config: DeviceConfig = {
    id: row.id,
    name: row.name,
    protocol: row.protocol,
    host: row.host,
    port: row.port,
    username: row.username ?? undefined,
    secrets: await loadSecrets(db, ring, row.id),
    gnmi: GnmiDeviceSettings.parse(row.settings?.gnmi ?? {}),
    netconf: NetconfDeviceSettings.parse(row.settings?.netconf ?? {}),
  };
  const profiles = (await loadDeviceProfiles(db, deviceId)).filter((p) => p.protocol === row.protocol);
  return { config, enabled: row.enabled, profiles };
}
