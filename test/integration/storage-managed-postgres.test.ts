/**
 * The managed PostgreSQL and the storage-mode decision on real servers:
 * - a second small cluster with TimescaleDB installed but NOT preloaded (the state right after
 *   installing a distribution's package): STORAGE_TIMESCALEDB=auto migrates to native without
 *   a FATAL, `on` stops with a message saying what to set, and the connection survives both;
 * - the test cluster, which preloads TimescaleDB: auto picks TimescaleDB;
 * - authentication: scram-sha-256 with the generated password (0600), a private socket folder,
 *   and a cluster created with `trust` by an earlier version switched to scram-sha-256.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createKnex } from '../../storage/pool';
import { storageMode } from '../../storage/storage-mode';
import { chooseTimescale } from '../../migrations/20261127000002_samples';
import { migrateLatest } from '../../migrations/index';
import { ensureDatabase, findPostgresBin, startManagedPostgres, type ManagedCluster } from '../../scripts/infra/postgres';
import { freePort } from '../../scripts/infra/proc';
import { ensureTimescaleDb, installedTimescaleDb, timescaleDbHint, verifyTimescaleDbSource } from '../../scripts/infra/timescaledb';
import { createTestDatabase, storageModesUnderTest, timescaleDbMissingMessage } from '../support/db';

const isRoot = () => process.getuid?.() === 0;

/** A PostgreSQL tool as the server's user (the server refuses root). */
function pgTool(tool: string, args: string[]) {
  const exe = path.join(findPostgresBin()!, tool);
  execFileSync(isRoot() ? 'runuser' : exe, isRoot() ? ['-u', 'postgres', '--', exe, ...args] : args, { cwd: '/', stdio: 'ignore' });
}

/** A scratch folder the postgres user can traverse. */
function scratch(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chmodSync(dir, 0o755);
  return dir;
}

/** Connects, or returns the error message. */
async function connectError(url: string | pg.ClientConfig): Promise<string | undefined> {
  const client = new pg.Client(typeof url === 'string' ? { connectionString: url } : url);
  try {
    await client.connect();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  } finally {
    await client.end().catch(() => undefined);
  }
}

describe('storage: the migration decides the mode from the catalog before creating anything', function () {
  it('chooseTimescale: every combination of wanted mode and server facts', () => {
    const facts = (available: boolean, preloaded: boolean, created = false) => ({ available, preloaded, created });
    assert.deepEqual(chooseTimescale('auto', facts(true, true)), { timescale: true });
    assert.deepEqual(chooseTimescale('on', facts(true, true)), { timescale: true });
    assert.deepEqual(chooseTimescale('off', facts(true, true)), { timescale: false });
    assert.equal(chooseTimescale('auto', facts(true, false)).timescale, false);
    assert.match(chooseTimescale('auto', facts(true, false)).note!, /not preloaded.*shared_preload_libraries = 'timescaledb'/);
    assert.match(chooseTimescale('auto', facts(false, false)).note!, /not installed/);
    assert.throws(() => chooseTimescale('on', facts(true, false)), /STORAGE_TIMESCALEDB=on .* without preloading it: set shared_preload_libraries = 'timescaledb'/);
    assert.throws(() => chooseTimescale('on', facts(false, false)), /not installed/);
    // The extension exists but the server no longer preloads it: its event triggers would fail any DDL.
    assert.throws(() => chooseTimescale('auto', facts(true, false, true)), /exists in this database but the server does not preload it/);
    assert.deepEqual(chooseTimescale('off', facts(true, false, true)), { timescale: false });
  });

  if (storageModesUnderTest().includes('timescaledb')) {
    describe('a server with TimescaleDB installed but not preloaded', function () {
      this.timeout(60_000);
      const root = scratch('st-nopreload-');
      let cluster: ManagedCluster;

      before(async () => {
        const ts = await ensureTimescaleDb(findPostgresBin()!);
        if (!ts.available) throw new Error(timescaleDbMissingMessage(ts.reason ?? 'TimescaleDB is not installed'));
        cluster = await startManagedPostgres({ dir: path.join(root, 'pg'), port: await freePort(), database: 'auto', ephemeral: true, timescaledb: false });
        await ensureDatabase(cluster.adminUrl, 'strict');
      });

      after(async () => {
        await cluster?.stop();
        fs.rmSync(root, { recursive: true, force: true });
      });

      it('auto: native partitions, a log line saying what to set, no FATAL', async () => {
        const db = createKnex(cluster.url, 1);
        const warnings: string[] = [];
        const warn = console.warn;
        console.warn = (...args: unknown[]) => void warnings.push(args.join(' '));
        try {
          const available = await db.raw(`SELECT count(*)::int AS n FROM pg_available_extensions WHERE name = 'timescaledb'`);
          assert.equal(available.rows[0].n, 1, 'the extension files are installed');
          await migrateLatest(db, { storageTimescaledb: 'auto' });
          assert.equal(await storageMode(db), 'native');
          const ext = await db.raw(`SELECT count(*)::int AS n FROM pg_extension WHERE extname = 'timescaledb'`);
          assert.equal(ext.rows[0].n, 0, 'CREATE EXTENSION was never tried');
        } finally {
          console.warn = warn;
          await db.destroy();
        }
        assert.ok(
          warnings.some((w) => /installed but not preloaded/.test(w) && /shared_preload_libraries = 'timescaledb'/.test(w)),
          warnings.join('\n'),
        );
      });

      it('on: stops before creating anything, saying exactly what to set; the connection survives', async () => {
        const db = createKnex(cluster.url.replace(/\/auto$/, '/strict'), 1);
        try {
          await assert.rejects(
            migrateLatest(db, { storageTimescaledb: 'on' }),
            /STORAGE_TIMESCALEDB=on but this PostgreSQL server has TimescaleDB installed without preloading it: set shared_preload_libraries = 'timescaledb' and timescaledb.telemetry_level = off/,
          );
          // The same single connection still answers (a FATAL would have ended it), and nothing was created.
          const left = await db.raw(`SELECT to_regclass('samples') IS NULL AS none, pg_backend_pid() > 0 AS alive`);
          assert.deepEqual(left.rows[0], { none: true, alive: true });
        } finally {
          await db.destroy();
        }
      });
    });

    it('auto on the test cluster, which preloads TimescaleDB: hypertables', async function () {
      this.timeout(60_000);
      const tdb = await createTestDatabase('storage_auto', { migrate: false });
      try {
        const preload = await tdb.pool.query(`SELECT current_setting('shared_preload_libraries') AS v`);
        if (!/timescaledb/.test(preload.rows[0].v)) throw new Error(timescaleDbMissingMessage('the test PostgreSQL does not preload TimescaleDB'));
        await migrateLatest(tdb.db, { storageTimescaledb: 'auto' });
        assert.equal(await storageMode(tdb.db), 'timescaledb');
      } finally {
        await tdb.drop();
      }
    });
  }
});

describe('TimescaleDB source: the tarball is checked before anything is built', function () {
  this.timeout(30_000);
  const root = scratch('st-tsdb-src-');
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  // Only with a source to check (npm test sets TIMESCALEDB_SOURCE to the vendored tarball when it exists).
  const source = process.env.TIMESCALEDB_SOURCE;
  if (source)
    it('the known 2.28.3 release is recognised by its sha256 (the tarball npm test builds from)', async function () {
      assert.deepEqual(await verifyTimescaleDbSource(source), { sha: 'ec2f7de0ba53a473c01e0a57e09053898c6b1f7487228caff0f1d31c8cb2dedb', version: '2.28.3' });
    });

  it('another file is refused without TIMESCALEDB_SOURCE_SHA256, or with a wrong one; with the right one its version comes from the archive', async () => {
    fs.mkdirSync(path.join(root, 'timescaledb-9.9.9'));
    fs.writeFileSync(path.join(root, 'timescaledb-9.9.9', 'version.config'), 'version = 9.9.9\n');
    const tarball = path.join(root, 'other.tar.gz');
    execFileSync('tar', ['czf', tarball, '-C', root, 'timescaledb-9.9.9']);
    const sha = crypto.createHash('sha256').update(fs.readFileSync(tarball)).digest('hex');
    await assert.rejects(verifyTimescaleDbSource(tarball), /not a release this project knows .* set TIMESCALEDB_SOURCE_SHA256/);
    await assert.rejects(verifyTimescaleDbSource(tarball, '0'.repeat(64)), /not TIMESCALEDB_SOURCE_SHA256 0{64}: refusing to build it/);
    assert.deepEqual(await verifyTimescaleDbSource(tarball, sha.toUpperCase()), { sha, version: '9.9.9' });
  });

  it('without a source or an installed extension: not available, one line naming TIMESCALEDB_SOURCE and the release', async () => {
    // A PostgreSQL layout without the extension (the real one has it installed by now).
    const empty = { shareDir: path.join(root, 'share'), libDir: path.join(root, 'lib') };
    fs.mkdirSync(path.join(empty.shareDir, 'extension'), { recursive: true });
    assert.equal(installedTimescaleDb(empty), undefined);
    const hint = timescaleDbHint('TimescaleDB is not installed for this PostgreSQL');
    assert.ok(!hint.includes('\n'));
    assert.match(hint, /set TIMESCALEDB_SOURCE to the TimescaleDB 2\.28\.3 source tarball \(https:\/\/github\.com\/timescale\/timescaledb\/releases\/tag\/2\.28\.3\)/);
    const missing = await ensureTimescaleDb(path.join(root, 'postgresql', '0', 'bin'), { source: path.join(root, 'absent.tar.gz') }).catch((e: Error) => e);
    assert.ok(!(missing instanceof Error) && !missing.available && /TIMESCALEDB_SOURCE .*absent\.tar\.gz does not exist/.test(missing.reason ?? ''), String(JSON.stringify(missing)));
  });
});

describe('managed PostgreSQL: scram-sha-256 with a generated password, a private socket folder', function () {
  this.timeout(60_000);

  it('a new cluster refuses connections without the password; the password file is 0600, the socket folder 0700', async () => {
    const root = scratch('st-scram-');
    const port = await freePort();
    const cluster = await startManagedPostgres({ dir: path.join(root, 'pg'), port, database: 'x', ephemeral: true });
    try {
      assert.equal(await connectError(cluster.url), undefined);
      assert.match((await connectError(`postgres://postgres:wrong@127.0.0.1:${port}/x`)) ?? 'connected', /password authentication failed/);
      assert.match((await connectError(`postgres://postgres@127.0.0.1:${port}/x`)) ?? 'connected', /password/);
      const password = fs.readFileSync(path.join(root, 'postgres.password'), 'utf8').trim();
      assert.ok(password.length >= 32 && cluster.url.includes(`:${password}@`), 'the URL carries the generated password');
      assert.equal(fs.statSync(path.join(root, 'postgres.password')).mode & 0o777, 0o600);
      const client = new pg.Client({ connectionString: cluster.url });
      await client.connect();
      const sockets = (await client.query(`SELECT current_setting('unix_socket_directories') AS v`)).rows[0].v as string;
      await client.end();
      assert.equal(sockets, path.join(root, 'pg-socket'));
      assert.equal(fs.statSync(sockets).mode & 0o777, 0o700);
      // The socket asks for the password too (trust on local connections made any local user superuser).
      assert.match((await connectError({ host: sockets, port, user: 'postgres', database: 'x' })) ?? 'connected over the socket', /password/);
      assert.equal(await connectError({ host: sockets, port, user: 'postgres', database: 'x', password }), undefined, 'with the password it connects');
      const hba = fs.readFileSync(path.join(root, 'pg', 'pg_hba.conf'), 'utf8');
      assert.ok(!/^[^#].*\strust\s*$/m.test(hba), 'no trust line');
    } finally {
      await cluster.stop();
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('a cluster whose password file was lost is refused with what to do, not a bare authentication error', async () => {
    const root = scratch('st-lostpw-');
    const dir = path.join(root, 'pg');
    const port = await freePort();
    try {
      const cluster = await startManagedPostgres({ dir, port, database: 'x' });
      await cluster.stop();
      fs.rmSync(path.join(root, 'postgres.password'));
      await assert.rejects(startManagedPostgres({ dir, port, database: 'x' }), /uses a password kept in .*postgres\.password, which is missing: restore that file/);
      assert.ok(!fs.existsSync(path.join(root, 'postgres.password')), 'no new password was left behind');
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('a cluster an earlier version created with trust is switched to scram-sha-256 on its next start, data kept', async () => {
    const root = scratch('st-trust-');
    const dir = path.join(root, 'pg');
    const port = await freePort();
    fs.mkdirSync(dir, { mode: 0o700 });
    if (isRoot()) execFileSync('chown', ['postgres:postgres', dir]);
    // What the earlier version did: trust authentication, the socket in /tmp.
    pgTool('initdb', ['-D', dir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8']);
    pgTool('pg_ctl', ['-D', dir, '-o', `-p ${port} -k /tmp -c listen_addresses=127.0.0.1`, '-w', 'start']);
    let cluster: ManagedCluster | undefined;
    try {
      const before = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres` });
      await before.connect();
      await before.query('CREATE DATABASE kept');
      await before.end();
      cluster = await startManagedPostgres({ dir, port, database: 'kept', ephemeral: true });
      assert.match((await connectError(`postgres://postgres:wrong@127.0.0.1:${port}/kept`)) ?? 'connected', /password authentication failed/);
      assert.equal(await connectError(cluster.url), undefined);
      const hba = fs.readFileSync(path.join(dir, 'pg_hba.conf'), 'utf8');
      assert.ok(!/^[^#].*\strust\s*$/m.test(hba), 'no trust line left');
      const client = new pg.Client({ connectionString: cluster.url });
      await client.connect();
      const sockets = (await client.query(`SELECT current_setting('unix_socket_directories') AS v`)).rows[0].v as string;
      await client.end();
      assert.equal(sockets, `${dir}-socket`, 'restarted with the private socket folder');
    } finally {
      if (cluster) await cluster.stop();
      else pgTool('pg_ctl', ['-D', dir, '-m', 'fast', '-w', 'stop']);
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
