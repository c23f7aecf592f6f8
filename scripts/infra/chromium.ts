/** Debian's Chromium for browser tests and the live-latency benchmark. */
import fs from 'node:fs';
import { run, ticker } from './proc';

/** Browser flags for headless runs on this kind of machine (no GPU, no sandbox as root, no background traffic). */
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'];

/** Chromium from Debian's packages, installed when absent (root only). */
export async function ensureChromium(): Promise<string> {
  const exe = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (fs.existsSync(exe)) return exe;
  if (process.getuid?.() !== 0) throw new Error(`${exe} not found: install Debian's chromium package (or set CHROMIUM_PATH)`);
  process.stderr.write('Installing Chromium from Debian packages (first run only)…\n');
  const stop = ticker('installing chromium');
  try {
    await run('apt-get', ['update'], { quiet: true });
    await run('apt-get', ['install', '-y', '--no-install-recommends', 'chromium', 'fonts-dejavu-core'], {
      quiet: true,
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  } finally {
    stop();
  }
  return exe;
}

