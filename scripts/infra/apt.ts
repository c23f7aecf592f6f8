/** Installing Debian packages the project needs (root only), with progress output. */
import { run, ticker } from './proc';

/** True when running as root (apt-get works as it is). */
export const isRoot = () => process.getuid?.() === 0;

/** `apt-get update` then install `packages`, quietly, with a ticker; `what` names the step. */
export async function aptInstall(what: string, packages: string[]): Promise<void> {
  process.stderr.write(`Installing ${what} from Debian packages (first run only)…\n`);
  const stop = ticker(`installing ${what}`);
  try {
    await run('apt-get', ['update'], { quiet: true });
    await run('apt-get', ['install', '-y', '--no-install-recommends', ...packages], {
      quiet: true,
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  } finally {
    stop();
  }
}
