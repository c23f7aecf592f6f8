/**
 * Registering the project's search attributes on a Temporal server (the dev
 * server gets them on its command line; a cluster gets them here).
 */
import { Connection } from '@temporalio/client';
import protos from '@temporalio/proto';
import { SEARCH_ATTRIBUTE_DEFINITIONS } from '../core/names';

/** Add any missing search attribute; idempotent. */
export async function ensureSearchAttributes(address: string, namespace: string, connection?: Connection): Promise<void> {
  const conn = connection ?? (await Connection.connect({ address }));
  try {
    const existing = await conn.operatorService.listSearchAttributes({ namespace });
    const have = new Set(Object.keys(existing.customAttributes ?? {}));
    const missing = SEARCH_ATTRIBUTE_DEFINITIONS.filter(([name]) => !have.has(name));
    if (missing.length === 0) return;
    const { IndexedValueType } = protos.temporal.api.enums.v1;
    const searchAttributes: Record<string, (typeof IndexedValueType)[keyof typeof IndexedValueType]> = {};
    for (const [name] of missing) searchAttributes[name] = IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;
    await conn.operatorService.addSearchAttributes({ namespace, searchAttributes });
  } finally {
    if (!connection) await conn.close();
  }
}
