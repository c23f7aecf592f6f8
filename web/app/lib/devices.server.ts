/**
 * Device reads and writes of the web app: forms mapped onto the devices repository
 * (storage/devices.ts holds every statement against the table and encrypts secrets);
 * workflows are told through sessions.server.ts.
 */
import type { Knex } from 'knex';
import { createDevice, hasStoredSecrets, loadSecrets, updateDevice as updateDeviceRow, type DeviceRow, type NewDevice } from '../../../storage/devices';
import { data } from 'react-router';
import { isSecretsUnreadable, type Keyring } from '../../../storage/secrets';
import type { DeviceForm } from './device-form';

/** Which secrets a device has stored (names only: values never leave the server). */
export async function storedSecretNames(db: Knex, ring: Keyring, id: number): Promise<string[]> {
  if (!(await hasStoredSecrets(db, id))) return [];
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
  deviceIngestDrops,
  deviceNameTaken,
  deviceProfileIds,
  forgetHostKey,
  getDevice,
  setDeviceEnabled as setEnabled,
} from '../../../storage/devices';
