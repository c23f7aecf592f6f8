/** Debian's Chromium for browser tests and the live-latency benchmark. */
import fs from 'node:fs';
import { aptInstall, isRoot } from './apt';

/** Browser flags for headless runs on this kind of machine (no GPU, no sandbox as root, no background traffic). */
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'];

/** Chromium from Debian's packages, installed when absent (root only). */
export async function ensureChromium(): Promise<string> {
  const exe = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (fs.existsSync(exe)) return exe;
  if (!isRoot()) throw new Error(`${exe} not found: install Debian's chromium package (or set CHROMIUM_PATH)`);
  await aptInstall('Chromium', ['chromium', 'fonts-dejavu-core']);
  return exe;
}

