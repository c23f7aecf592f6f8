/**
 * What gNMI devices last answered to Capabilities (ADR 298). Collectors record every answer (in
 * batches: the answers of sessions starting together go in one statement); a collector handed a
 * running session (warm hand-over, ADR 235) loads the answer with the device and subscribes
 * without asking again, when the answer was given to the configuration it dials with.
 */
import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { groupCommit } from '../core/group-commit';
import type { DeviceConfig } from '../core/device';
import type { GnmiCapabilitiesAnswer, Logger } from '../core/session';
import type { SessionDevice } from './devices';

/** Answers written in one statement at most. */
const RECORD_BATCH = 1000;

/** The configuration an answer was given to, as one comparable value (secrets only hashed, never kept). */
export function capabilitiesKey(config: DeviceConfig): string {
  return createHash('sha256').update(JSON.stringify(config)).digest('hex');
}

/** One device's answer with the key of the configuration it was dialled with. */
export interface CapabilitiesRecord {
  deviceId: number;
  configKey: string;
  answer: GnmiCapabilitiesAnswer;
  answeredAt: Date;
}

/** Write answers, the last one per device winning. */
export async function recordCapabilities(db: Knex, records: readonly CapabilitiesRecord[]): Promise<void> {
  const last = new Map<number, CapabilitiesRecord>();
  for (const r of records) last.set(r.deviceId, r);
  if (last.size === 0) return;
  const rows = [...last.values()];
  // A device deleted meanwhile has no row to refer to: its answer is skipped, not an error.
  await db.raw(
    `INSERT INTO gnmi_capabilities (device_id, config_key, gnmi_version, encodings, answered_at)
     SELECT r.device_id, r.config_key, r.gnmi_version, string_to_array(r.encodings, ','), r.answered_at
       FROM unnest(?::int[], ?::text[], ?::text[], ?::text[], ?::timestamptz[]) AS r(device_id, config_key, gnmi_version, encodings, answered_at)
       JOIN devices d ON d.id = r.device_id
     ON CONFLICT (device_id) DO UPDATE SET config_key = EXCLUDED.config_key, gnmi_version = EXCLUDED.gnmi_version,
       encodings = EXCLUDED.encodings, answered_at = EXCLUDED.answered_at`,
    [rows.map((r) => r.deviceId), rows.map((r) => r.configKey), rows.map((r) => r.answer.gnmiVersion), rows.map((r) => r.answer.encodings.join(',')), rows.map((r) => r.answeredAt)],
  );
}

/** The recorded answers of these devices that were given to the configuration each is dialled with now. */
export async function knownCapabilities(db: Knex, configs: readonly DeviceConfig[]): Promise<Map<number, GnmiCapabilitiesAnswer>> {
  const out = new Map<number, GnmiCapabilitiesAnswer>();
  const gnmi = configs.filter((c) => c.protocol === 'gnmi');
  if (gnmi.length === 0) return out;
  const rows: Array<{ device_id: number; config_key: string; gnmi_version: string; encodings: string[] }> = await db('gnmi_capabilities')
    .whereIn(
      'device_id',
      gnmi.map((c) => c.id),
    )
    .select('device_id', 'config_key', 'gnmi_version', 'encodings');
  const byId = new Map(gnmi.map((c) => [c.id, c]));
  for (const r of rows) {
    const config = byId.get(Number(r.device_id));
    if (config && capabilitiesKey(config) === r.config_key) out.set(config.id, { encodings: r.encodings, gnmiVersion: r.gnmi_version });
  }
  return out;
}

/**
 * `record(config, answer)` for the sessions of one collector: answers given in the same event-loop
 * turn, or while the previous statement runs, are written together. A failed write is logged and
 * forgotten: the next hand-over of that device asks Capabilities again, as without a record.
 */
export function capabilitiesRecorder(db: Knex, log: Logger): (config: DeviceConfig, answer: GnmiCapabilitiesAnswer) => void {
  const write = groupCommit(
    async (records: CapabilitiesRecord[]) => {
      await recordCapabilities(db, records);
      return { values: new Map() };
    },
    { maxBatch: RECORD_BATCH },
  );
  return (config, answer) => {
    write({ deviceId: config.id, configKey: capabilitiesKey(config), answer, answeredAt: new Date() }).catch((err: Error) =>
      log.warn('could not record the Capabilities answer', { deviceId: config.id, error: err.message }),
    );
  };
}

/** Give each loaded gNMI device the answer it gave to the configuration it is loaded with, if recorded. */
export async function withKnownCapabilities<T extends { devices: Map<number, SessionDevice> }>(db: Knex, loaded: T): Promise<T> {
  const known = await knownCapabilities(
    db,
    [...loaded.devices.values()].map((d) => d.config),
  );
  for (const [id, answer] of known) loaded.devices.get(id)!.knownCapabilities = answer;
  return loaded;
}
