/**
 * Placement fixtures on a test database: a collector registration on queue `q-<id>`, and
 * bare gNMI devices inserted in one statement (placement needs only their ids).
 */
import type { Knex } from 'knex';
import type { CollectorRegistration } from '../../storage/collectors';

/** Collector `id` polling `q-<id>`, incarnation 1. */
export const testCollector = (id: string, capacity: number, leaseMs = 60_000): CollectorRegistration => ({ id, incarnation: '1', taskQueue: `q-${id}`, version: 'test', capacity, leaseMs });

/** Insert `n` devices named `<prefix>-1…n`; their ids in order. */
export async function addBareDevices(db: Knex, prefix: string, n: number): Promise<number[]> {
  const rows = await db('devices')
    .insert(Array.from({ length: n }, (_, i) => ({ name: `${prefix}-${i + 1}`, protocol: 'gnmi', host: '127.0.0.1', port: 1 })))
    .returning('id');
  return rows.map((r: { id: number }) => Number(r.id));
}
