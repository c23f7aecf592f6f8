/**
 * Connections to Temporal from configuration: the dev server by default, or a
 * cluster / Temporal Cloud with TLS (mTLS files) or an API key.
 */
import fs from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { Config } from '../core/config';

function tlsOptions(config: Config) {
  if (config.TEMPORAL_TLS_CERT && config.TEMPORAL_TLS_KEY) {
    return {
      clientCertPair: { crt: fs.readFileSync(config.TEMPORAL_TLS_CERT), key: fs.readFileSync(config.TEMPORAL_TLS_KEY) },
      serverRootCACertificate: config.TEMPORAL_TLS_CA ? fs.readFileSync(config.TEMPORAL_TLS_CA) : undefined,
    };
  }
  if (config.TEMPORAL_API_KEY || config.TEMPORAL_TLS_CA) {
    return { serverRootCACertificate: config.TEMPORAL_TLS_CA ? fs.readFileSync(config.TEMPORAL_TLS_CA) : undefined };
  }
  return undefined;
}

/** A Temporal client for starting and controlling workflows. */
export async function connectClient(config: Config): Promise<Client> {
  const connection = await Connection.connect({
    address: config.TEMPORAL_ADDRESS,
    tls: tlsOptions(config),
    apiKey: config.TEMPORAL_API_KEY,
  });
  return new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
}

/** A native connection for workers. */
export function connectWorker(config: Config): Promise<NativeConnection> {
  return NativeConnection.connect({
    address: config.TEMPORAL_ADDRESS,
    tls: tlsOptions(config),
    apiKey: config.TEMPORAL_API_KEY,
  });
}
