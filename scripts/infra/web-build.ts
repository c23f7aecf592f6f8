/**
 * Build the web app when its sources changed since the last build (or no
 * build exists); a second start reuses the build.
 */
import fs from 'node:fs';
import path from 'node:path';
import { run, ticker } from './proc';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
/** What the web bundle is built from (the app and every layer it imports). */
const SOURCE_DIRS = ['web/app', 'core', 'protocols', 'storage', 'query', 'temporal', 'fleet', 'activities'];
const SOURCE_FILES = ['web/vite.config.ts', 'web/react-router.config.ts', 'package-lock.json'];

function newestMtime(p: string): number {
  let st: fs.Stats;
  try {
    st = fs.statSync(p);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const entry of fs.readdirSync(p)) {
    if (entry === 'node_modules' || entry.startsWith('.')) continue;
    newest = Math.max(newest, newestMtime(path.join(p, entry)));
  }
  return newest;
}

/** Build web/ unless web/build is newer than every source. */
export async function ensureWebBuild(): Promise<void> {
  const stamp = path.join(ROOT, 'web', 'build', '.stamp');
  const sources = Math.max(...SOURCE_DIRS.map((d) => newestMtime(path.join(ROOT, d))), ...SOURCE_FILES.map((f) => newestMtime(path.join(ROOT, f))));
  if (fs.existsSync(stamp) && fs.statSync(stamp).mtimeMs >= sources) return;
  process.stderr.write('Building the web app (React Router + Vite)…\n');
  const stop = ticker('building web app');
  try {
    await run(process.execPath, [path.join(ROOT, 'node_modules', '@react-router', 'dev', 'bin.js'), 'build'], { cwd: path.join(ROOT, 'web'), quiet: true });
  } finally {
    stop();
  }
  fs.writeFileSync(stamp, new Date().toISOString());
}
