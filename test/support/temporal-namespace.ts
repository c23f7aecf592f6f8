/**
 * A namespace of the test run's Temporal server for one suite's in-process workers: the
 * namespace and the project's search attributes exist, and the client and worker
 * connections are open. The suite closes the connections.
 */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { ensureSearchAttributes } from '../../temporal/search-attributes';
import { ensureNamespace } from '../../scripts/infra/temporal-server';
import { waitFor } from '../../scripts/infra/proc';
import { quietWorkerRuntime, temporalAddress } from './env';

export interface TestNamespace {
  clientConnection: Connection;
  client: Client;
  connection: NativeConnection;
}

export async function openTestNamespace(namespace: string): Promise<TestNamespace> {
  await quietWorkerRuntime();
  const clientConnection = await Connection.connect({ address: temporalAddress() });
  await ensureNamespace(clientConnection, namespace, 1);
  // The frontend may serve a new namespace a moment before the operator service knows it (NOT_FOUND meanwhile).
  await waitFor('the operator service to know the namespace', async () => (await ensureSearchAttributes(temporalAddress(), namespace, clientConnection), true), 30_000, 100);
  const client = new Client({ connection: clientConnection, namespace });
  const connection = await NativeConnection.connect({ address: temporalAddress() });
  return { clientConnection, client, connection };
}
