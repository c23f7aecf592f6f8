/**
 * The two Go programs the deploy-file checks need, built once into the project's cache
 * (`~/.cache/switch-telemetry/`) with progress on stderr: kustomize (pinned: v5.8.3 needs
 * Go 1.27) and the project's own checker in this folder, keyed by a hash of its sources so
 * an edit rebuilds it.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { cacheRoot, ensureGoTool, onPath, type GoTool } from '../../scripts/infra/go-tools';
import { run, ticker } from '../../scripts/infra/proc';

const HERE = import.meta.dirname;

/** kustomize, from the Go module proxy. */
export const KUSTOMIZE: GoTool = {
  name: 'kustomize',
  version: '5.8.2',
  packages: ['sigs.k8s.io/kustomize/kustomize/v5@v5.8.2'],
  binaries: ['kustomize'],
  what: 'kustomize 5.8.2',
};

/** Path of a built kustomize. */
export async function ensureKustomize(): Promise<string> {
  return (await ensureGoTool(KUSTOMIZE)).kustomize;
}

/** Path of the built deploy checker (tools/deploy-check), rebuilt when its sources change. */
export async function ensureDeployCheck(): Promise<string> {
  const hash = crypto.createHash('sha256');
  for (const f of ['go.mod', 'go.sum', 'main.go']) hash.update(fs.readFileSync(path.join(HERE, f)));
  const bin = path.join(cacheRoot(), `deploy-check-${hash.digest('hex').slice(0, 12)}`, 'bin', 'deploy-check');
  if (fs.existsSync(bin)) return bin;
  if (!onPath('go')) throw new Error('the deploy checker is not built and Go is not installed: install Go (1.26 or newer) and run again.');
  process.stderr.write(`Building the deploy checker (compose-go, k8s.io/api) into ${path.dirname(bin)} (first run only; about 2 minutes)…\n`);
  fs.mkdirSync(path.dirname(bin), { recursive: true });
  const stop = ticker('building the deploy checker');
  const started = Date.now();
  try {
    await run('go', ['build', '-trimpath', '-o', `${bin}.tmp`, '.'], {
      cwd: HERE,
      env: { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-mod=readonly' },
      quiet: true,
    });
  } finally {
    stop();
  }
  fs.renameSync(`${bin}.tmp`, bin);
  process.stderr.write(`deploy checker ready in ${Math.round((Date.now() - started) / 1000)} s\n`);
  return bin;
}
