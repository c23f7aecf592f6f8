/**
 * Default data for the embedded setup: subscription profiles and the simulated
 * fleet registered as devices. Idempotent: existing rows (by name) are kept.
 */
import type { Knex } from 'knex';
import type { GnmiProfileSpec, NetconfProfileSpec } from '../core/device';
import { createDevice, type DeviceRow } from '../storage/devices';
import type { Keyring } from '../storage/secrets';
import { ensureFleetOverview } from '../web/app/lib/dashboards.server';

/** The default gNMI profile: interface counters every second, status and health less often. */
export const DEFAULT_GNMI_PROFILE: { name: string; description: string; spec: GnmiProfileSpec } = {
  name: 'openconfig-interfaces-and-health',
  description: 'Interface counters every second; oper-status, CPU, memory and temperature',
  spec: {
    mode: 'stream',
    pollIntervalMs: 10_000,
    updatesOnly: false,
    subscriptions: [
      { path: '/interfaces/interface/state/counters', mode: 'sample', sampleIntervalMs: 1000, heartbeatIntervalMs: 0, suppressRedundant: false },
      { path: '/interfaces/interface/state/oper-status', mode: 'sample', sampleIntervalMs: 10_000, heartbeatIntervalMs: 0, suppressRedundant: false },
      { path: '/components/component/cpu/utilization/state/instant', mode: 'sample', sampleIntervalMs: 5000, heartbeatIntervalMs: 0, suppressRedundant: false },
      { path: '/components/component/state/temperature/instant', mode: 'sample', sampleIntervalMs: 5000, heartbeatIntervalMs: 0, suppressRedundant: false },
      { path: '/system/memory/state', mode: 'sample', sampleIntervalMs: 5000, heartbeatIntervalMs: 0, suppressRedundant: false },
    ],
  },
};

/**
 * The default NETCONF profile: ietf-interfaces statistics by periodic YANG-push, from the tree
 * the device's hello advertises (NMDA /interfaces or legacy /interfaces-state; ADR 022).
 */
export const DEFAULT_NETCONF_PROFILE: { name: string; description: string; spec: NetconfProfileSpec } = {
  name: 'ietf-interfaces-statistics',
  description: 'ietf-interfaces statistics every 5 s (YANG-push periodic; /interfaces or /interfaces-state as the device advertises)',
  spec: {
    method: 'yang-push-periodic',
    filterType: 'subtree',
    filter: '<interfaces-state xmlns="urn:ietf:params:xml:ns:yang:ietf-interfaces"/>',
    select: 'interfaces-auto',
    periodMs: 5000,
    dampeningMs: 0,
    stream: 'NETCONF',
    listKeys: {},
  },
};

/** Create a profile unless one with that name exists; returns its id. */
export async function ensureProfile(db: Knex, protocol: 'gnmi' | 'netconf', p: { name: string; description: string; spec: unknown }): Promise<number> {
  const existing = await db('subscription_profiles').where({ name: p.name }).first('id');
  if (existing) return existing.id;
  const [row] = await db('subscription_profiles')
    .insert({ name: p.name, protocol, description: p.description, spec: JSON.stringify(p.spec) })
    .onConflict('name')
    .ignore()
    .returning('id');
  return row?.id ?? (await db('subscription_profiles').where({ name: p.name }).first('id')).id;
}

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
    const existing = (await db('devices').where({ name: d.name }).first()) as DeviceRow | undefined;
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
