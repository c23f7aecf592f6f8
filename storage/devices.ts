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
} from '../core/device';
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

/**
 * Decrypt a device's secrets, or {} when it has none; throws SecretsUnreadableError
 * when they exist but cannot be decrypted (never {} then). `forUpdate` locks the row
 * (inside a transaction) so a concurrent rotation or save waits for this one.
 */
export async function loadSecrets(db: Knex, ring: Keyring, deviceId: number, opts: { forUpdate?: boolean } = {}): Promise<DeviceSecrets> {
  const q = db('device_credentials').where({ device_id: deviceId }).first();
  const row = await (opts.forUpdate ? q.forUpdate() : q);
  if (!row) return {};
  return unseal<DeviceSecrets>(
    ring,
    { keyVersion: row.key_version, nonce: row.nonce, ciphertext: row.ciphertext, tag: row.tag },
    aadFor(deviceId),
  );
}

/**
 * Re-encrypt every stored secret not yet under the ring's current key; returns how
 * many. Each row is re-read under its row lock (SELECT … FOR UPDATE) in its own
 * transaction, so a device saved meanwhile is never overwritten with older content;
 * passes repeat until no row is left under an older version (a save that sealed
 * under the old version just before the new key file appeared is caught by the next
 * pass). The ring must hold every version in use — callers write the new key file first.
 */
export async function reencryptAllSecrets(db: Knex, ring: Keyring, opts: { maxPasses?: number } = {}): Promise<number> {
  let total = 0;
  for (let pass = 0; pass < (opts.maxPasses ?? 5); pass++) {
    const rows: Array<{ device_id: number }> = await db('device_credentials').whereNot({ key_version: ring.current }).select('device_id');
    if (rows.length === 0) break;
    for (const { device_id } of rows) {
      await db.transaction(async (trx) => {
        const locked = await trx('device_credentials').where({ device_id }).forUpdate().first('key_version');
        if (!locked || locked.key_version === ring.current) return; // deleted, or saved meanwhile under the new key
        const secrets = await loadSecrets(trx, ring, device_id);
        await saveSecrets(trx, ring, device_id, secrets);
        total++;
      });
    }
  }
  return total;
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
