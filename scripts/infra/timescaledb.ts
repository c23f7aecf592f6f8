/**
 * TimescaleDB for the managed PostgreSQL: reuse the extension when it is installed
 * for that server, else build it once from a source release (`TIMESCALEDB_SOURCE`,
 * checksum verified) under the project's cache and install it into the server's
 * extension folders. Without either, say in one line how to get it.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../core/config';
import { aptInstall, isRoot } from './apt';
import { cacheRoot, onPath } from './go-tools';
import { run, ticker } from './proc';

/** The release the project is built and tested with. */
export const TIMESCALEDB_VERSION = '2.28.3';
/** Where a user with internet access gets that release's source (the "Source code (tar.gz)" asset). */
export const TIMESCALEDB_RELEASE_URL = `https://github.com/timescale/timescaledb/releases/tag/${TIMESCALEDB_VERSION}`;
/** sha256 of source releases we know (`git archive --prefix=timescaledb-<v>/` of the tag, as GitHub serves it). */
const KNOWN_SOURCES: Record<string, string> = {
  ec2f7de0ba53a473c01e0a57e09053898c6b1f7487228caff0f1d31c8cb2dedb: '2.28.3',
};

/** Whether the managed cluster can preload TimescaleDB, and if not, why. */
export interface TimescaleDbStatus {
  available: boolean;
  /** The installed extension's default version. */
  version?: string;
  /** One line saying why it is not available and how to get it. */
  reason?: string;
}

/** Where PostgreSQL looks for extensions. */
interface PgDirs {
  pgConfig?: string;
  shareDir: string;
  libDir: string;
  major: string;
}

async function pgDirs(pgBin: string): Promise<PgDirs> {
  const major = path.basename(path.dirname(pgBin));
  const pgConfig = [path.join(pgBin, 'pg_config'), `/usr/lib/postgresql/${major}/bin/pg_config`].find((p) => fs.existsSync(p));
  if (pgConfig) {
    const [shareDir, libDir] = (await run(pgConfig, ['--sharedir', '--pkglibdir'], { quiet: true })).trim().split('\n');
    return { pgConfig, shareDir: shareDir.trim(), libDir: libDir.trim(), major };
  }
  // Debian's layout, when the client package with pg_config is absent.
  return { shareDir: `/usr/share/postgresql/${major}`, libDir: path.resolve(pgBin, '..', 'lib'), major };
}

/** The installed extension's default version when its control file and library are both there. */
export function installedTimescaleDb(dirs: Pick<PgDirs, 'shareDir' | 'libDir'>): string | undefined {
  const control = path.join(dirs.shareDir, 'extension', 'timescaledb.control');
  if (!fs.existsSync(control)) return undefined;
  const version = /default_version\s*=\s*'([^']+)'/.exec(fs.readFileSync(control, 'utf8'))?.[1];
  if (!version) return undefined;
  const libs = [path.join(dirs.libDir, 'timescaledb.so'), path.join(dirs.libDir, `timescaledb-${version}.so`)];
  return libs.every((l) => fs.existsSync(l)) ? version : undefined;
}

/** The installed TimescaleDB version for the PostgreSQL in `pgBin`, or undefined. */
export async function installedTimescaleDbFor(pgBin: string): Promise<string | undefined> {
  return installedTimescaleDb(await pgDirs(pgBin));
}

/** The one-line hint printed when TimescaleDB cannot be had. */
export function timescaleDbHint(why: string): string {
  return `${why}; set TIMESCALEDB_SOURCE to the TimescaleDB ${TIMESCALEDB_VERSION} source tarball (${TIMESCALEDB_RELEASE_URL}) to build it`;
}

function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = crypto.createHash('sha256');
    fs.createReadStream(file)
      .on('data', (c) => hash.update(c))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

/**
 * Check a source tarball before building it: a release we know by its sha256, or any other
 * whose sha256 the user states (TIMESCALEDB_SOURCE_SHA256). Returns its checksum and version.
 */
export async function verifyTimescaleDbSource(source: string, expectedSha?: string): Promise<{ sha: string; version: string }> {
  const sha = await sha256File(source);
  const known = KNOWN_SOURCES[sha];
  if (known) return { sha, version: known };
  if (!expectedSha) {
    throw new Error(
      `TIMESCALEDB_SOURCE ${source} has sha256 ${sha}, which is not a release this project knows (${TIMESCALEDB_VERSION}: ${Object.keys(KNOWN_SOURCES)[0]}). ` +
        'To build another release, set TIMESCALEDB_SOURCE_SHA256 to its published checksum.',
    );
  }
  if (expectedSha.toLowerCase() !== sha) throw new Error(`TIMESCALEDB_SOURCE ${source} has sha256 ${sha}, not TIMESCALEDB_SOURCE_SHA256 ${expectedSha}: refusing to build it.`);
  const top = (await run('tar', ['tzf', source], { quiet: true })).split('\n')[0] ?? '';
  return { sha, version: /timescaledb-(\d+\.\d+\.\d+[^/]*)/.exec(top)?.[1] ?? sha.slice(0, 12) };
}

/**
 * Make sure TimescaleDB is installed for the PostgreSQL in `pgBin`: reuse it, or build
 * it from `source` (default: the TIMESCALEDB_SOURCE setting). Never throws for a
 * missing source; throws for a bad checksum or a failed build (those need a person).
 */
export async function ensureTimescaleDb(
  pgBin: string,
  opts: { source?: string; sha256?: string } = {},
): Promise<TimescaleDbStatus> {
  const dirs = await pgDirs(pgBin);
  const installed = installedTimescaleDb(dirs);
  if (installed) return { available: true, version: installed };
  const config = loadConfig();
  const source = opts.source ?? config.TIMESCALEDB_SOURCE;
  const expectedSha = (opts.sha256 ?? config.TIMESCALEDB_SOURCE_SHA256)?.toLowerCase();
  if (!source) return { available: false, reason: timescaleDbHint('TimescaleDB is not installed for this PostgreSQL') };
  if (!fs.existsSync(source)) return { available: false, reason: timescaleDbHint(`TIMESCALEDB_SOURCE ${source} does not exist`) };

  const { sha, version } = await verifyTimescaleDbSource(source, expectedSha);
  const home = path.join(cacheRoot(), `timescaledb-${version}`);
  fs.mkdirSync(home, { recursive: true });
  const release = await lock(path.join(home, 'lock'));
  try {
    // Another process may have installed it while we waited for the lock.
    const now = installedTimescaleDb(dirs);
    if (now) return { available: true, version: now };
    return await buildAndInstall(source, sha, version, home, dirs);
  } finally {
    release();
  }
}

async function buildAndInstall(source: string, sha: string, version: string, home: string, dirs: PgDirs): Promise<TimescaleDbStatus> {
  const srcDir = path.join(home, 'src');
  const builtMarker = path.join(home, `built-pg${dirs.major}-${sha.slice(0, 16)}`);
  const writable = [path.join(dirs.shareDir, 'extension'), dirs.libDir].every((d) => {
    try {
      fs.accessSync(d, fs.constants.W_OK);
      return true;
    } catch {
      return false;
    }
  });
  if (!writable) {
    return {
      available: false,
      reason: `TimescaleDB ${version} must be installed into ${dirs.shareDir} and ${dirs.libDir}, which need root: run npm start once as root`,
    };
  }
  if (!fs.existsSync(builtMarker)) {
    await ensureBuildTools(dirs.major);
    const pgConfig = dirs.pgConfig ?? `/usr/lib/postgresql/${dirs.major}/bin/pg_config`;
    process.stderr.write(`Building TimescaleDB ${version} from ${source} into ${home} (first run only; about a minute)…\n`);
    const started = Date.now();
    fs.rmSync(srcDir, { recursive: true, force: true });
    fs.mkdirSync(srcDir, { recursive: true });
    const stop = ticker(`building TimescaleDB ${version}`);
    try {
      await run('tar', ['xzf', source, '-C', srcDir, '--strip-components=1'], { quiet: true });
      await run(
        './bootstrap',
        [
          '-DREGRESS_CHECKS=OFF',
          '-DTAP_CHECKS=OFF',
          '-DWARNINGS_AS_ERRORS=OFF',
          '-DLINTER=OFF',
          '-DGENERATE_DOWNGRADE_SCRIPT=OFF',
          '-DSEND_TELEMETRY_DEFAULT=OFF',
          '-DCMAKE_BUILD_TYPE=Release',
          `-DPG_CONFIG=${pgConfig}`,
        ],
        { cwd: srcDir, quiet: true },
      );
      await run('make', ['-C', 'build', `-j${os.availableParallelism()}`], { cwd: srcDir, quiet: true });
    } finally {
      stop();
    }
    fs.writeFileSync(builtMarker, `${new Date().toISOString()}\n`);
    process.stderr.write(`TimescaleDB ${version} built in ${Math.round((Date.now() - started) / 1000)} s\n`);
  }
  await run('make', ['-C', 'build', 'install'], { cwd: srcDir, quiet: true });
  const installed = installedTimescaleDb(dirs);
  if (!installed) throw new Error(`make install of TimescaleDB ${version} finished but ${dirs.shareDir}/extension/timescaledb.control or its library is missing`);
  process.stderr.write(`TimescaleDB ${installed} installed for PostgreSQL ${dirs.major}\n`);
  return { available: true, version: installed };
}

/** The Debian packages a build needs, installed when one is missing. */
async function ensureBuildTools(major: string): Promise<void> {
  const missing: string[] = [];
  if (!fs.existsSync(`/usr/include/postgresql/${major}/server/postgres.h`)) missing.push(`postgresql-server-dev-${major}`);
  if (!onPath('cmake')) missing.push('cmake');
  if (!onPath('gcc')) missing.push('gcc');
  if (!onPath('make')) missing.push('make');
  if (!fs.existsSync('/usr/include/krb5.h') && !fs.existsSync('/usr/include/krb5/krb5.h')) missing.push('libkrb5-dev');
  if (!missing.length) return;
  if (!isRoot()) throw new Error(`Building TimescaleDB needs the Debian packages ${missing.join(' ')}: install them (as root) and run again.`);
  await aptInstall('the TimescaleDB build tools', missing);
}

/** A lock folder shared by concurrent runs (tests, other engineers' scripts); a dead holder's lock is taken over. */
async function lock(dir: string): Promise<() => void> {
  let said = false;
  for (;;) {
    try {
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, 'pid'), String(process.pid));
      return () => fs.rmSync(dir, { recursive: true, force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = readPid(path.join(dir, 'pid'));
    const stale = holder ? !alive(holder) : Date.now() - mtimeMs(dir) > 10_000;
    if (stale) {
      fs.rmSync(dir, { recursive: true, force: true });
      continue;
    }
    if (!said) process.stderr.write(`Waiting for another process (pid ${holder || '?'}) building TimescaleDB…\n`);
    said = true;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

function readPid(file: string): number {
  try {
    return Number(fs.readFileSync(file, 'utf8')) || 0;
  } catch {
    return 0;
  }
}

function mtimeMs(file: string): number {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
