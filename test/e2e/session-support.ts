/**
 * Helpers for the device-session end-to-end tests: a fast gNMI profile,
 * simulated devices registered in the database, waits on workflow status and
 * samples, and which collector process holds a session.
 */
import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import { createDevice, type DeviceRow, type NewDevice } from '../../storage/devices';
import { parseKeyring } from '../../storage/secrets';
import { deviceStatus } from '../../temporal/fleet-client';
import { DEFAULT_NETCONF_PROFILE } from '../../core/default-profiles';
import type { GnmiProfileSpec, NetconfDeviceSettings } from '../../core/device';
import { deviceSessionWorkflowId, type DeviceSessionStatus, type SessionState } from '../../core/names';
import { waitFor } from '../../scripts/infra/proc';
import { ensureProfile } from '../../storage/profiles';
import type { FleetMember } from '../../simulator/fleet';
import type { GnmiFaults } from '../../simulator/gnmi/faults';
import { TEST_SECRETS_KEY } from '../support/system';
export { recordHistories } from '../support/histories';

/** The series every gap measurement uses. */
export const IN_OCTETS = '/interfaces/interface[name=Ethernet1]/state/counters/in-octets';
/** Sample interval of the fast profile (ms). */
export const FAST_SAMPLE_MS = 250;

/** In-octets of every interface every 250 ms: enough points to measure gaps to a quarter second. */
export const FAST_PROFILE: { name: string; description: string; spec: GnmiProfileSpec } = {
  name: 'test-fast-in-octets',
  description: 'in-octets every 250 ms (tests)',
  spec: {
    mode: 'stream',
    pollIntervalMs: 10_000,
    updatesOnly: false,
    subscriptions: [{ path: '/interfaces/interface/state/counters/in-octets', mode: 'sample', sampleIntervalMs: FAST_SAMPLE_MS, heartbeatIntervalMs: 0, suppressRedundant: false }],
  },
};

/** A second profile (reconfigure adds it): out-octets too. */
export const EXTRA_PROFILE: { name: string; description: string; spec: GnmiProfileSpec } = {
  name: 'test-fast-out-octets',
  description: 'out-octets every 250 ms (tests)',
  spec: {
    ...FAST_PROFILE.spec,
    subscriptions: [{ ...FAST_PROFILE.spec.subscriptions[0], path: '/interfaces/interface/state/counters/out-octets' }],
  },
};

/** Register a simulated gNMI target as a device with the fast profile. */
export async function registerSimDevice(db: Knex, sim: FleetMember, extra: { enabled?: boolean; site?: string } = {}): Promise<DeviceRow> {
  return registerMember(db, sim, await ensureProfile(db, 'gnmi', FAST_PROFILE), { gnmi: { tls: 'insecure', allowPlaintextCredentials: true } }, extra);
}

/**
 * Register a simulated NETCONF server as a device with the default ietf-interfaces profile,
 * its host key pinned unless `settings` says otherwise (`{}`: nothing pinned).
 */
export async function registerSimNetconfDevice(db: Knex, sim: FleetMember, settings: Partial<NetconfDeviceSettings> = { hostKeySha256: sim.hostKeySha256 }): Promise<DeviceRow> {
  return registerMember(db, sim, await ensureProfile(db, 'netconf', DEFAULT_NETCONF_PROFILE), { netconf: settings });
}

/** A fleet member as a device with one profile; the simulator's credentials (admin/admin). */
function registerMember(db: Knex, sim: FleetMember, profileId: number, settings: NewDevice['settings'], extra: { enabled?: boolean; site?: string } = {}): Promise<DeviceRow> {
  return createDevice(db, parseKeyring(TEST_SECRETS_KEY), {
    name: sim.name,
    protocol: sim.protocol,
    host: sim.host,
    port: sim.port,
    username: 'admin',
    site: extra.site ?? 'lab',
    enabled: extra.enabled ?? true,
    settings,
    secrets: { password: 'admin' },
    profileIds: [profileId],
  });
}

/** Open Subscribe streams on a simulated gNMI target right now. */
export function openStreams(sim: FleetMember): number {
  return (sim.faults as unknown as GnmiFaults).streams.size;
}

/** The simulator's fault surface of a gNMI member. */
export function gnmiFaults(sim: FleetMember): GnmiFaults {
  return sim.faults as unknown as GnmiFaults;
}

/** Wait until the session's status satisfies `pred` (query); returns that status. */
export async function waitForStatus(
  client: Client,
  deviceId: number,
  pred: (s: DeviceSessionStatus) => boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<DeviceSessionStatus> {
  let last: DeviceSessionStatus | undefined;
  await waitFor(
    `device ${deviceId}: ${what} (last: ${JSON.stringify(last && { state: last.state, detail: last.detail, lastError: last.lastError })})`,
    async () => {
      last = await deviceStatus(client, deviceId);
      return !!last && pred(last);
    },
    timeoutMs,
    100,
  );
  return last!;
}

/** Wait for a state. */
export const waitForState = (client: Client, deviceId: number, state: SessionState, timeoutMs?: number) =>
  waitForStatus(client, deviceId, (s) => s.state === state, `state ${state}`, timeoutMs);

/** Number of stored samples of a device. */
export async function sampleCount(db: Knex, deviceId: number): Promise<number> {
  const { rows } = await db.raw<{ rows: Array<{ n: number }> }>(
    'SELECT count(*)::int AS n FROM samples s JOIN series r ON r.id = s.series_id WHERE r.device_id = ?',
    [deviceId],
  );
  return rows[0].n;
}

/** Times (ms) of one series' samples since `sinceMs`, ascending. */
export async function sampleTimes(db: Knex, deviceId: number, seriesPath: string, sinceMs: number): Promise<number[]> {
  const { rows } = await db.raw<{ rows: Array<{ t: number }> }>(
    `SELECT extract(epoch FROM s.time) * 1000 AS t FROM samples s JOIN series r ON r.id = s.series_id
      WHERE r.device_id = ? AND r.path = ? AND s.time >= to_timestamp(? / 1000.0) ORDER BY s.time`,
    [deviceId, seriesPath, sinceMs],
  );
  return rows.map((r) => Number(r.t));
}

/** The longest gap between consecutive samples, with where it is. */
export function longestGap(times: number[]): { ms: number; from: number; to: number } {
  let best = { ms: 0, from: 0, to: 0 };
  for (let i = 1; i < times.length; i++) {
    const d = times[i] - times[i - 1];
    if (d > best.ms) best = { ms: d, from: times[i - 1], to: times[i] };
  }
  return best;
}

/** Identity ("pid@host") of the worker running the device's session activity now, if any. */
export async function sessionHolder(client: Client, deviceId: number): Promise<string | undefined> {
  const d = await client.workflow.getHandle(deviceSessionWorkflowId(deviceId)).describe();
  const pending = d.raw.pendingActivities?.find((a) => a.activityType?.name === 'runDeviceSession');
  return pending?.lastWorkerIdentity || undefined;
}

