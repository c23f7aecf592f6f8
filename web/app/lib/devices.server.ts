/**
 * Device reads and writes of the web app. Creation goes through
 * storage/devices.ts (one place encrypts secrets); workflows are told
 * through sessions.server.ts.
 */
import type { Knex } from 'knex';
import { createDevice, loadSecrets, saveSecrets, type DeviceRow } from '../../../storage/devices';
import { data } from 'react-router';
import { isSecretsUnreadable, type Keyring } from '../../../storage/secrets';
import type { DeviceForm } from './device-form';

/** Per-device ingest numbers for the list. */
export interface DeviceActivity {
  pointsPerSecond: number;
  lastSeen?: number;
}

/** Points/s over the last 10 s and the newest sample time, per device (uses the (series_id, time) key). */
export async function deviceActivity(db: Knex, ids: number[]): Promise<Map<number, DeviceActivity>> {
  const out = new Map<number, DeviceActivity>();
  if (ids.length === 0) return out;
  const { rows } = await db.raw(
    `SELECT se.device_id,
            count(x.t) AS recent,
            max(x.t) AS newest
       FROM series se
       LEFT JOIN LATERAL (
         SELECT extract(epoch FROM sa.time) * 1000 AS t FROM samples sa
          WHERE sa.series_id = se.id AND sa.time > now() - interval '10 seconds'
       ) x ON true
      WHERE se.device_id = ANY(?::int[])
      GROUP BY se.device_id`,
    [ids],
  );
  for (const r of rows as Array<{ device_id: number; recent: string; newest: string | null }>) {
    out.set(r.device_id, { pointsPerSecond: Number(r.recent) / 10, lastSeen: r.newest === null ? undefined : Number(r.newest) });
  }
  return out;
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

/** A device row, or undefined. */
export async function getDevice(db: Knex, id: number): Promise<DeviceRow | undefined> {
  if (!Number.isInteger(id) || id <= 0 || id > 2 ** 31 - 1) return undefined;
  return db('devices').where({ id }).first();
}

/** Profile ids attached to a device. */
export async function deviceProfileIds(db: Knex, id: number): Promise<number[]> {
  return (await db('device_profiles').where({ device_id: id }).orderBy('profile_id').pluck('profile_id')) as number[];
}

/** Which secrets a device has stored (names only: values never leave the server). */
export async function storedSecretNames(db: Knex, ring: Keyring, id: number): Promise<string[]> {
  const has = await db('device_credentials').where({ device_id: id }).first('device_id');
  if (!has) return [];
  // Unreadable secrets are an error shown to the admin, never "none stored" (ADR 044).
  const secrets = await loadSecrets(db, ring, id).catch((err: unknown) => {
    if (isSecretsUnreadable(err)) throw data(`The stored credentials of this device cannot be decrypted: ${err.message}`, { status: 409 });
    throw err;
  });
  return Object.entries(secrets)
    .filter(([, v]) => typeof v === 'string' && v.length > 0)
    .map(([k]) => k);
}

function secretsOf(form: DeviceForm) {
  return Object.fromEntries(Object.entries(form.secrets).filter(([, v]) => typeof v === 'string' && v.length > 0));
}

/** Whether a device name is taken. */
export async function deviceNameTaken(db: Knex, name: string, exceptId?: number): Promise<boolean> {
  const q = db('devices').where({ name });
  if (exceptId) q.whereNot({ id: exceptId });
  return Boolean(await q.first('id'));
}

/** The device columns a form sets (both on create and on edit). */
function deviceFields(form: DeviceForm) {
  return {
    name: form.name,
    protocol: form.protocol,
    host: form.host,
    port: form.port,
    username: form.username ?? null,
    site: form.site ?? null,
    enabled: form.enabled,
    settings: { gnmi: form.gnmi, netconf: form.netconf },
  };
}

/** Create a device from a validated form. */
export async function insertDevice(db: Knex, ring: Keyring, form: DeviceForm): Promise<DeviceRow> {
  return createDevice(db, ring, { ...deviceFields(form), secrets: secretsOf(form), profileIds: form.profileIds });
}

/** Update a device from a validated form; blank secrets keep the stored ones, unless clearSecrets. */
export async function updateDevice(db: Knex, ring: Keyring, id: number, form: DeviceForm): Promise<DeviceRow> {
  const fields = deviceFields(form);
  return db.transaction(async (trx) => {
    const [row] = await trx('devices')
      .where({ id })
      .update({ ...fields, settings: JSON.stringify(fields.settings), updated_at: trx.fn.now() })
      .returning('*');
    const fresh = secretsOf(form);
    if (form.clearSecrets) {
      await trx('device_credentials').where({ device_id: id }).delete();
      if (Object.keys(fresh).length) await saveSecrets(trx, ring, id, fresh);
    } else if (Object.keys(fresh).length) {
      // Locked, and never {} on a decrypt failure: that would overwrite the stored secrets (ADR 044).
      const current = await loadSecrets(trx, ring, id, { forUpdate: true });
      await saveSecrets(trx, ring, id, { ...current, ...fresh });
    }
    await trx('device_profiles').where({ device_id: id }).delete();
    if (form.profileIds.length) await trx('device_profiles').insert(form.profileIds.map((profile_id) => ({ device_id: id, profile_id })));
    return row as DeviceRow;
  });
}

/** Turn collection on or off (the session parks as `disabled` after its reconfigure). */
export async function setEnabled(db: Knex, id: number, enabled: boolean): Promise<void> {
  await db('devices').where({ id }).update({ enabled, updated_at: db.fn.now() });
}

/** Approve trusting the NETCONF host key on first use: the session pins whatever key it then sees. */
export async function approveHostKey(db: Knex, id: number): Promise<void> {
  await db('devices')
    .where({ id })
    .update({
      settings: db.raw(
        `jsonb_set(jsonb_set(settings, '{netconf}', coalesce(settings->'netconf', '{}'::jsonb)), '{netconf,acceptNewHostKey}', 'true'::jsonb)`,
      ),
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
