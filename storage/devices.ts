/**
 * The devices repository: every statement against the devices table (with its credentials
 * and profile links), shared by activities, the web app and scripts. Secrets are decrypted
 * only by loadDeviceConfig (inside activities) and for the web app's merge on edit.
 */
import type { Knex } from 'knex';
import { GnmiDeviceSettings, GnmiProfileSpec, NetconfDeviceSettings, NetconfProfileSpec, type DeviceConfig, type DeviceSecrets, type SubscriptionProfile } from '../core/device';
import { seal, unseal, type Keyring } from './secrets';
import { groupCommit } from '../core/group-commit';
import type { GnmiCapabilitiesAnswer } from '../core/session';

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

/** The one mapping from device fields to the table's columns (create and update). */
function deviceColumns(input: NewDevice) {
  return {
    name: input.name,
    protocol: input.protocol,
    host: input.host,
    port: input.port,
    username: input.username ?? null,
    site: input.site ?? null,
    enabled: input.enabled ?? true,
    settings: JSON.stringify(input.settings ?? {}),
  };
}

/** Insert a device (and its secrets and profile links) in one transaction; returns the row. */
export async function createDevice(db: Knex, ring: Keyring, input: NewDevice): Promise<DeviceRow> {
  return db.transaction(async (trx) => {
    const [row] = await trx('devices').insert(deviceColumns(input)).returning('*');
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
  return unseal<DeviceSecrets>(ring, { keyVersion: row.key_version, nonce: row.nonce, ciphertext: row.ciphertext, tag: row.tag }, aadFor(deviceId));
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

/** A device as a session runs it: its configuration with secrets decrypted, whether enabled, its profiles of its protocol. */
export interface SessionDevice {
  config: DeviceConfig;
  enabled: boolean;
  profiles: SubscriptionProfile[];
  /** gNMI: what the device answered to Capabilities when dialled with this configuration, where loaded (a warm hand-over, ADR 298). */
  knownCapabilities?: GnmiCapabilitiesAnswer;
}

function sessionDevice(row: DeviceRow, secrets: DeviceSecrets, profiles: SubscriptionProfile[]): SessionDevice {
  const config: DeviceConfig = {
    id: row.id,
    name: row.name,
    protocol: row.protocol,
    host: row.host,
    port: row.port,
    username: row.username ?? undefined,
    secrets,
    gnmi: GnmiDeviceSettings.parse(row.settings?.gnmi ?? {}),
    netconf: NetconfDeviceSettings.parse(row.settings?.netconf ?? {}),
  };
  return { config, enabled: row.enabled, profiles: profiles.filter((p) => p.protocol === row.protocol) };
}

/** Everything a session needs for one device, secrets decrypted; undefined when the device is gone. */
export async function loadDeviceConfig(db: Knex, ring: Keyring, deviceId: number): Promise<SessionDevice | undefined> {
  const row = (await db('devices').where({ id: deviceId }).first()) as DeviceRow | undefined;
  if (!row) return undefined;
  return sessionDevice(row, await loadSecrets(db, ring, row.id), await loadDeviceProfiles(db, deviceId));
}

/**
 * `loadDeviceConfig` for many devices in three statements (a warm hand-over of thousands of
 * sessions, ADR 235). Devices gone are missing from the map; one whose secrets cannot be
 * decrypted is missing too, with its error in `failed`.
 */
export async function loadDeviceConfigs(db: Knex, ring: Keyring, deviceIds: number[]): Promise<{ devices: Map<number, SessionDevice>; failed: Map<number, Error> }> {
  const devices = new Map<number, SessionDevice>();
  const failed = new Map<number, Error>();
  if (deviceIds.length === 0) return { devices, failed };
  const [rows, creds, profileRows] = await Promise.all([
    db('devices').whereIn('id', deviceIds) as Promise<DeviceRow[]>,
    db('device_credentials').whereIn('device_id', deviceIds),
    db('subscription_profiles as p')
      .join('device_profiles as dp', 'dp.profile_id', 'p.id')
      .whereIn('dp.device_id', deviceIds)
      .orderBy(['dp.device_id', 'p.id'])
      .select('dp.device_id', 'p.id', 'p.name', 'p.protocol', 'p.spec'),
  ]);
  const credsOf = new Map(creds.map((c: { device_id: number }) => [Number(c.device_id), c]));
  const profilesOf = new Map<number, SubscriptionProfile[]>();
  // A profile attached to many devices comes once per device; it is validated once and shared
  // (the devices' sessions then find it validated too, protocols/gnmi/index.ts).
  const parsed = new Map<number, SubscriptionProfile>();
  for (const r of profileRows as Array<{ device_id: number; id: number; name: string; protocol: 'gnmi' | 'netconf'; spec: unknown }>) {
    const list = profilesOf.get(Number(r.device_id)) ?? [];
    let profile = parsed.get(r.id);
    if (!profile) parsed.set(r.id, (profile = parseProfileRow(r)));
    list.push(profile);
    profilesOf.set(Number(r.device_id), list);
  }
  for (const row of rows) {
    try {
      const c = credsOf.get(row.id) as { key_version: number; nonce: Buffer; ciphertext: Buffer; tag: Buffer } | undefined;
      const secrets = c ? unseal<DeviceSecrets>(ring, { keyVersion: c.key_version, nonce: c.nonce, ciphertext: c.ciphertext, tag: c.tag }, aadFor(row.id)) : {};
      devices.set(row.id, sessionDevice(row, secrets, profilesOf.get(row.id) ?? []));
    } catch (err) {
      failed.set(row.id, err as Error);
    }
  }
  return { devices, failed };
}

/** Device loads in one batch at most. */
const DEVICE_LOAD_BATCH = 500;

/**
 * `loadDeviceConfig` by group commit (ADR 261): the loads that arrive in one event-loop turn, or
 * while the previous batch runs, are one `loadDeviceConfigs` (three statements) instead of three
 * statements each; a device whose secrets cannot be decrypted rejects its own load only.
 */
export function batchedDeviceLoader(db: Knex, ring: Keyring, onBatch?: (size: number) => void): (deviceId: number) => Promise<SessionDevice | undefined> {
  return groupCommit(
    async (deviceIds: number[]) => {
      const { devices, failed } = await loadDeviceConfigs(db, ring, deviceIds);
      return { values: devices, failed };
    },
    { maxBatch: DEVICE_LOAD_BATCH, onBatch },
  );
}

/** Fields to update a device: blank secrets keep the stored ones unless `clearSecrets`. */
export interface DeviceUpdate extends NewDevice {
  clearSecrets?: boolean;
  profileIds: number[];
}

/** Update a device, merge or replace its secrets, and replace its profile links, in one transaction. */
export async function updateDevice(db: Knex, ring: Keyring, id: number, input: DeviceUpdate): Promise<DeviceRow> {
  return db.transaction(async (trx) => {
    const [row] = await trx('devices')
      .where({ id })
      .update({ ...deviceColumns(input), updated_at: trx.fn.now() })
      .returning('*');
    const fresh = input.secrets ?? {};
    if (input.clearSecrets) {
      await trx('device_credentials').where({ device_id: id }).delete();
      if (Object.keys(fresh).length) await saveSecrets(trx, ring, id, fresh);
    } else if (Object.keys(fresh).length) {
      // Locked, and never {} on a decrypt failure: that would overwrite the stored secrets (ADR 044).
      const current = await loadSecrets(trx, ring, id, { forUpdate: true });
      await saveSecrets(trx, ring, id, { ...current, ...fresh });
    }
    await trx('device_profiles').where({ device_id: id }).delete();
    if (input.profileIds.length) await trx('device_profiles').insert(input.profileIds.map((profile_id) => ({ device_id: id, profile_id })));
    return row as DeviceRow;
  });
}

/** A device row, or undefined (ids outside the column's range are simply unknown). */
export async function getDevice(db: Knex, id: number): Promise<DeviceRow | undefined> {
  if (!Number.isInteger(id) || id <= 0 || id > 2 ** 31 - 1) return undefined;
  return db('devices').where({ id }).first();
}

/** How many devices there are. */
export async function countDevices(db: Knex): Promise<number> {
  const [row] = await db('devices').count({ n: '*' });
  return Number(row.n);
}

/** A device row by its (unique) name, or undefined. */
export async function findDeviceByName(db: Knex, name: string): Promise<DeviceRow | undefined> {
  return db('devices').where({ name }).first();
}

/** Whether a device name is taken (by another device than `exceptId`). */
export async function deviceNameTaken(db: Knex, name: string, exceptId?: number): Promise<boolean> {
  const q = db('devices').where({ name });
  if (exceptId) q.whereNot({ id: exceptId });
  return Boolean(await q.first('id'));
}

/** A device as lists and the fleet reconciliation see it (no settings, no secrets). */
export interface DeviceListItem {
  id: number;
  name: string;
  protocol: 'gnmi' | 'netconf';
  host: string;
  port: number;
  site: string | null;
  enabled: boolean;
}

/**
 * Devices ordered by name (or id); optionally only those with the given ids, of one protocol,
 * or matching any of some ids and names.
 */
export async function listDeviceItems(
  db: Knex,
  opts: { ids?: number[]; protocol?: 'gnmi' | 'netconf'; anyOf?: { ids: number[]; names: string[] }; orderBy?: 'name' | 'id' } = {},
): Promise<DeviceListItem[]> {
  const q = db('devices')
    .select('id', 'name', 'protocol', 'host', 'port', 'site', 'enabled')
    .orderBy(opts.orderBy ?? 'name');
  if (opts.ids) q.whereIn('id', opts.ids);
  if (opts.protocol) q.where({ protocol: opts.protocol });
  const anyOf = opts.anyOf;
  if (anyOf) {
    q.where((w) => {
      if (anyOf.ids.length) w.orWhereIn('id', anyOf.ids);
      if (anyOf.names.length) w.orWhereIn('name', anyOf.names);
    });
  }
  return q;
}

/** Profile ids attached to a device. */
export async function deviceProfileIds(db: Knex, id: number): Promise<number[]> {
  return (await db('device_profiles').where({ device_id: id }).orderBy('profile_id').pluck('profile_id')) as number[];
}

/** Turn collection on or off (the session parks as `disabled` after its reconfigure). */
export async function setDeviceEnabled(db: Knex, id: number, enabled: boolean): Promise<void> {
  await db('devices').where({ id }).update({ enabled, updated_at: db.fn.now() });
}

/** Turn collection on or off for many devices in one statement (bulk enable/disable). */
export async function setDevicesEnabled(db: Knex, ids: number[], enabled: boolean): Promise<void> {
  await db('devices').whereIn('id', ids).update({ enabled, updated_at: db.fn.now() });
}

/** Attach a profile to many devices in one statement; links that exist are kept. */
export async function attachProfileToDevices(db: Knex, ids: number[], profileId: number): Promise<void> {
  await db.raw(`INSERT INTO device_profiles (device_id, profile_id) SELECT unnest(?::int[]), ? ON CONFLICT DO NOTHING`, [ids, profileId]);
}

/** Detach a profile from many devices in one statement. */
export async function detachProfileFromDevices(db: Knex, ids: number[], profileId: number): Promise<void> {
  await db('device_profiles').whereIn('device_id', ids).where({ profile_id: profileId }).delete();
}

/** Approve trusting the NETCONF host key on first use: the session pins whatever key it then sees. */
export async function approveHostKey(db: Knex, id: number): Promise<void> {
  await db('devices')
    .where({ id })
    .update({
      settings: db.raw(`jsonb_set(jsonb_set(settings, '{netconf}', coalesce(settings->'netconf', '{}'::jsonb)), '{netconf,acceptNewHostKey}', 'true'::jsonb)`),
      updated_at: db.fn.now(),
    });
}

/** Pin the NETCONF host key a session saw on first use (the session activity calls this). */
export async function pinHostKey(db: Knex, id: number, sha256: string): Promise<void> {
  await db('devices')
    .where({ id })
    .update({
      settings: db.raw(`jsonb_set(jsonb_set(settings, '{netconf}', coalesce(settings->'netconf', '{}'::jsonb)), '{netconf,hostKeySha256}', to_jsonb(?::text))`, [sha256]),
      updated_at: db.fn.now(),
    });
}

/** Forget the pinned NETCONF host key (the device's key was legitimately changed); first use must be approved again. */
export async function forgetHostKey(db: Knex, id: number): Promise<void> {
  await db('devices')
    .where({ id })
    .update({
      settings: db.raw(`jsonb_set(settings, '{netconf}', coalesce(settings->'netconf', '{}'::jsonb) - 'hostKeySha256' - 'acceptNewHostKey')`),
      updated_at: db.fn.now(),
    });
}

/** Delete a device (its series, samples links, credentials go with it). */
export async function deleteDevice(db: Knex, id: number): Promise<void> {
  await db('devices').where({ id }).delete();
}

/** Points the collectors refused from a device, by reason (series_limit, future_timestamp), with the newest time. */
export interface IngestDrop {
  reason: string;
  points: number;
  lastAt: number;
}

/** What device_ingest_drops holds for a device (the device page shows it). */
export async function deviceIngestDrops(db: Knex, id: number): Promise<IngestDrop[]> {
  const rows = await db('device_ingest_drops').where({ device_id: id }).orderBy('reason').select('reason', 'points', 'last_at');
  return rows.map((r) => ({ reason: r.reason, points: Number(r.points), lastAt: new Date(r.last_at).getTime() }));
}

/** Whether a device has a credentials row. */
export async function hasStoredSecrets(db: Knex, id: number): Promise<boolean> {
  return Boolean(await db('device_credentials').where({ device_id: id }).first('device_id'));
}

/** How many devices' credentials are sealed under a key version other than `current`. */
export async function secretsUnderOtherKeys(db: Knex, current: number): Promise<number> {
  const left = await db('device_credentials').whereNot({ key_version: current }).count<{ count: string }[]>('* as count');
  return Number(left[0].count);
}

/** Delete many devices in one statement. */
export async function deleteDevices(db: Knex, ids: number[]): Promise<void> {
  await db('devices').whereIn('id', ids).delete();
}

/** A device as the control side sees it (no secrets): the describeDevice activity's answer. */
export interface DeviceSummary {
  exists: boolean;
  enabled: boolean;
  name?: string;
  protocol?: 'gnmi' | 'netconf';
  address?: string;
  site?: string;
  profiles?: string[];
}

/** What the control side needs to know about a device (its profiles by name). */
export async function describeDevice(db: Knex, id: number): Promise<DeviceSummary> {
  const row = await db('devices').where({ id }).first();
  if (!row) return { exists: false, enabled: false };
  const profiles = await db('subscription_profiles as p').join('device_profiles as dp', 'dp.profile_id', 'p.id').where('dp.device_id', id).orderBy('p.name').pluck('p.name');
  return {
    exists: true,
    enabled: row.enabled,
    name: row.name,
    protocol: row.protocol,
    address: `${row.host}:${row.port}`,
    site: row.site ?? undefined,
    profiles,
  };
}

/** Devices among `ids` not to collect now: deleted, disabled, or paused or disabled as the session-state mirror says (ADR 095, 235). */
export async function devicesNotToCollect(db: Knex, ids: number[]): Promise<Set<number>> {
  if (ids.length === 0) return new Set();
  const { rows } = await db.raw(
    `SELECT w.id FROM unnest(?::int[]) AS w(id)
       LEFT JOIN devices d ON d.id = w.id
       LEFT JOIN device_session_state s ON s.device_id = w.id
      WHERE d.id IS NULL OR NOT d.enabled OR s.state IN ('paused', 'disabled')`,
    [ids],
  );
  return new Set(rows.map((r: { id: number }) => Number(r.id)));
}
