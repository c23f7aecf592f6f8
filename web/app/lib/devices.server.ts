/**
 * Device reads and writes of the web app: forms mapped onto the devices repository
 * (storage/devices.ts holds every statement against the table and encrypts secrets);
 * workflows are told through sessions.server.ts.
 */
import type { Knex } from 'knex';
import { createDevice, loadSecrets, updateDevice as updateDeviceRow, type DeviceRow, type NewDevice } from '../../../storage/devices';
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

/** The device fields a form sets (both on create and on edit); the repository maps them to columns. */
function deviceFields(form: DeviceForm): NewDevice {
  const { name, protocol, host, port, username, site, enabled, gnmi, netconf } = form;
  return { name, protocol, host, port, username, site, enabled, settings: { gnmi, netconf } };
}

/** Create a device from a validated form. */
export async function insertDevice(db: Knex, ring: Keyring, form: DeviceForm): Promise<DeviceRow> {
  return createDevice(db, ring, { ...deviceFields(form), secrets: secretsOf(form), profileIds: form.profileIds });
}

/** Update a device from a validated form; blank secrets keep the stored ones, unless clearSecrets. */
export async function updateDevice(db: Knex, ring: Keyring, id: number, form: DeviceForm): Promise<DeviceRow> {
  return updateDeviceRow(db, ring, id, { ...deviceFields(form), secrets: secretsOf(form), clearSecrets: form.clearSecrets, profileIds: form.profileIds });
}

export {
  approveHostKey,
  deleteDevice,
  deviceNameTaken,
  deviceProfileIds,
  forgetHostKey,
  getDevice,
  setDeviceEnabled as setEnabled,
} from '../../../storage/devices';
