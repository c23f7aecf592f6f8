/**
 * Go programs the project builds from the Go module proxy when they are not
 * installed: `go install` into a cache folder outside the work tree, once, with
 * progress output, then reused (the Temporal CLI and server, the OpenConfig fake
 * gNMI target, kustomize, the project's own deploy checker).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run, ticker } from './proc';

/** One Go tool to build. */
export interface GoTool {
  /** Cache folder name, e.g. `temporal-server`; the version is appended. */
  name: string;
  version: string;
  /** Package paths with their version suffix, e.g. `go.temporal.io/server/cmd/server@v1.30.8`. */
  packages: string[];
  /** Binaries `go install` leaves in the bin folder (the last path element of each package). */
  binaries: string[];
  ldflags?: string;
  /** What the build is, for the progress line. */
  what: string;
}

/** Root of the project's build cache (`$XDG_CACHE_HOME/switch-telemetry` or `~/.cache/switch-telemetry`). */
export function cacheRoot(): string {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'switch-telemetry');
}

/** The bin folder a tool is built into. */
export function goToolBinDir(tool: Pick<GoTool, 'name' | 'version'>): string {
  return path.join(cacheRoot(), `${tool.name}-${tool.version}`, 'bin');
}

/** A program on PATH, or undefined. */
export function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Build `tool` unless its binaries are cached; returns binary name → absolute path. */
export async function ensureGoTool(tool: GoTool): Promise<Record<string, string>> {
  const binDir = goToolBinDir(tool);
  const paths = Object.fromEntries(tool.binaries.map((b) => [b, path.join(binDir, b)]));
  if (Object.values(paths).every((p) => fs.existsSync(p))) return paths;
  if (!onPath('go')) throw new Error(`${tool.what} is not built and Go is not installed: install Go (1.25 or newer) and run again.`);
  process.stderr.write(`Building ${tool.what} from the Go module proxy into ${binDir} (first run only; a few minutes)…\n`);
  fs.mkdirSync(binDir, { recursive: true });
  const stop = ticker(`building ${tool.what}`);
  const started = Date.now();
  try {
    await run('go', ['install', ...(tool.ldflags ? ['-ldflags', tool.ldflags] : []), ...tool.packages], {
      env: { ...process.env, GOBIN: binDir, CGO_ENABLED: '0', GOFLAGS: '-mod=mod' },
      cwd: os.tmpdir(),
      quiet: true,
    });
  } finally {
    stop();
  }
  for (const p of Object.values(paths)) if (!fs.existsSync(p)) throw new Error(`go install finished but ${p} is missing`);
  process.stderr.write(`${tool.what} ready in ${Math.round((Date.now() - started) / 1000)} s: ${binDir}\n`);
  return paths;
}
