/** The device events repository: the audit record of host-key decisions (ADR 127). */
import type { Knex } from 'knex';
import { pinHostKey } from './devices';

/** What an operator decided about a device's NETCONF host key. */
export type DeviceEventKind = 'host-key-pinned' | 'host-key-approved' | 'host-key-forgotten' | 'host-key-refused';

/** One recorded event. */
export interface DeviceEvent {
  id: number;
  deviceId: number | null;
  deviceName: string;
  at: Date;
  actor: string;
  kind: DeviceEventKind;
  detail: Record<string, unknown>;
}

/** Record an event about a device (who, what, and the facts: fingerprints, how it was decided). */
export async function recordDeviceEvent(
  db: Knex,
  e: { deviceId: number; deviceName: string; actor: string; kind: DeviceEventKind; detail?: Record<string, unknown> },
): Promise<void> {
  await db('device_events').insert({ device_id: e.deviceId, device_name: e.deviceName, actor: e.actor, kind: e.kind, detail: JSON.stringify(e.detail ?? {}) });
}

/** The newest events of a device, newest first. */
export async function deviceEvents(db: Knex, deviceId: number, limit = 10): Promise<DeviceEvent[]> {
  const rows = (await db('device_events')
    .where({ device_id: deviceId })
    .orderBy([
      { column: 'at', order: 'desc' },
      { column: 'id', order: 'desc' },
    ])
    .limit(limit)) as Array<{
    id: string;
    device_id: number | null;
    device_name: string;
    at: Date;
    actor: string;
    kind: DeviceEventKind;
    detail: Record<string, unknown>;
  }>;
  return rows.map((r) => ({ id: Number(r.id), deviceId: r.device_id, deviceName: r.device_name, at: r.at, actor: r.actor, kind: r.kind, detail: r.detail }));
}

/** What pinning a presented host key on first use came to. */
export type FirstUsePin = { outcome: 'pinned' } | { outcome: 'already-pinned' } | { outcome: 'refused'; pinned: string };

/**
 * Trust on first use, decided by an operator (ADR 127): pin `fingerprint` as the device's
 * NETCONF host key only while none is pinned (a different pinned key is never replaced
 * here: a changed key is refused), and record who did it — in one transaction.
 */
export async function pinHostKeyOnFirstUse(db: Knex, deviceId: number, fingerprint: string, actor: string, via: string): Promise<FirstUsePin> {
  return db.transaction(async (trx) => {
    const row = (await trx('devices').where({ id: deviceId }).forUpdate().first('name', trx.raw(`settings->'netconf'->>'hostKeySha256' AS pinned`))) as
      { name: string; pinned: string | null } | undefined;
    if (!row) throw new Error(`no device ${deviceId}`);
    if (row.pinned && row.pinned !== fingerprint) {
      await recordDeviceEvent(trx, { deviceId, deviceName: row.name, actor, kind: 'host-key-refused', detail: { presented: fingerprint, pinned: row.pinned, via } });
      return { outcome: 'refused', pinned: row.pinned };
    }
    if (row.pinned) return { outcome: 'already-pinned' };
    await pinHostKey(trx, deviceId, fingerprint);
    await recordDeviceEvent(trx, { deviceId, deviceName: row.name, actor, kind: 'host-key-pinned', detail: { fingerprint, via } });
    return { outcome: 'pinned' };
  });
}
