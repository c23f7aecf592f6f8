/**
 * The simulated fleet registered as devices, with the default profiles (core/default-profiles.ts)
 * and the Fleet overview dashboard. Idempotent: existing rows (by name) are kept.
 */
import type { Knex } from 'knex';
import { DEFAULT_GNMI_PROFILE, DEFAULT_NETCONF_PROFILE } from '../core/default-profiles';
import { createDevice, findDeviceByName, type DeviceRow } from '../storage/devices';
import { ensureProfile } from '../storage/profiles';
import type { Keyring } from '../storage/secrets';
import { ensureFleetOverview } from '../storage/dashboards';

/** A simulated device to register. */
export interface SimulatedDeviceSpec {
  name: string;
  protocol: 'gnmi' | 'netconf';
  host: string;
  port: number;
  username: string;
  password: string;
  hostKeySha256?: string;
}

/** Register simulated devices (lab settings: plaintext gNMI with credentials allowed). */
export async function seedSimulatedDevices(db: Knex, keyring: Keyring, devices: SimulatedDeviceSpec[]): Promise<DeviceRow[]> {
  const gnmiProfile = await ensureProfile(db, 'gnmi', DEFAULT_GNMI_PROFILE);
  const netconfProfile = await ensureProfile(db, 'netconf', DEFAULT_NETCONF_PROFILE);
  const out: DeviceRow[] = [];
  for (const d of devices) {
    const existing = await findDeviceByName(db, d.name);
    if (existing) {
      out.push(existing);
      continue;
    }
    out.push(
      await createDevice(db, keyring, {
        name: d.name,
        protocol: d.protocol,
        host: d.host,
        port: d.port,
        username: d.username,
        site: 'simulated',
        settings:
          d.protocol === 'gnmi'
            ? { gnmi: { tls: 'insecure', allowPlaintextCredentials: true } }
            : { netconf: { hostKeySha256: d.hostKeySha256, acceptNewHostKey: !d.hostKeySha256 } },
        secrets: { password: d.password },
        profileIds: [d.protocol === 'gnmi' ? gnmiProfile : netconfProfile],
      }),
    );
  }
  // The web app's "Fleet overview" dashboard (widgets select every device by path pattern).
  await ensureFleetOverview(db);
  return out;
}
