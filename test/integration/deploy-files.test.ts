/**
 * The files that deploy switch-telemetry elsewhere, checked without a container engine:
 * the entrypoint (run, with a stand-in `node` that records its arguments), the Dockerfile,
 * .dockerignore and the image's dependencies, deploy/compose.yaml loaded and validated
 * under the Compose Specification (compose-go, in tools/deploy-check), and every object of
 * `kustomize build` decoded strictly into its k8s.io/api type. Then one source of truth:
 * every role, entry, node flag, port, health path and setting they use is the one in
 * core/roles.ts and core/config.ts.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { SETTING_NAMES } from '../../core/config';
import { ROLES, role, type RoleSpec } from '../../core/roles';
import { freePort } from '../../scripts/infra/proc';
import { ensureDeployCheck, ensureKustomize } from '../../tools/deploy-check/tools';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const ENTRYPOINT = path.join(ROOT, 'deploy', 'docker-entrypoint.sh');
const OVERLAYS = ['deploy/k8s/base', 'deploy/k8s/overlays/dev'];
const SETTINGS = new Set(SETTING_NAMES);
/** Variables the image sets that are Node's, not ours. */
const NODE_VARIABLES = new Set(['NODE_ENV']);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run a program to its end; never rejects on a non-zero exit. */
function exec(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { cwd: opts.cwd ?? ROOT, env: opts.env ?? process.env, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(err);
      resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
    });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
  });
}

/** A folder with a stand-in `node` that writes its arguments, one a line, to $FAKE_NODE_OUT. */
function fakeNodeDir(tmp: string): string {
  const dir = path.join(tmp, 'fake-bin');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'node'), '#!/bin/sh\nprintf "%s\\n" "$@" > "$FAKE_NODE_OUT"\n', { mode: 0o755 });
  return dir;
}

type Env = Record<string, string>;
type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; labels?: Env; annotations?: Env }; [key: string]: any };

/** The port a role listens on, given the variables its deployment sets. */
function effectivePort(spec: RoleSpec, env: Env): number {
  return Number(env[spec.port!.env] ?? spec.port!.default);
}

/** Milliseconds of a Compose duration such as `30s` or `1m30s`. */
function durationMs(text: string): number {
  let ms = 0;
  for (const [, n, unit] of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) ms += Number(n) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit]!;
  return ms;
}

/** Every `X_FILE` setting in `env` points at a file some mounted secret provides. */
function assertSecretFilesMounted(where: string, env: Env, mounted: Set<string>) {
  for (const [name, value] of Object.entries(env)) {
    if (!name.endsWith('_FILE')) continue;
    assert.ok(mounted.has(value), `${where}: ${name}=${value} is not a mounted secret file (mounted: ${[...mounted].join(', ') || 'none'})`);
  }
}

/** Every setting a role cannot start without is provided, as itself or as its `_FILE` variant. */
function assertRequiredSettings(where: string, spec: RoleSpec, env: Env) {
  for (const name of spec.requiredEnv) {
    assert.ok(name in env || `${name}_FILE` in env, `${where}: ${spec.name} needs ${name} (or ${name}_FILE)`);
  }
}

describe('deploy files', function () {
  // The first run builds kustomize and the checker from the Go module proxy (minutes).
  this.timeout(20 * 60_000);
  let checker: string;
  let kustomize: string;
  let tmp: string;

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'deploy-files-'));
    [kustomize, checker] = await Promise.all([ensureKustomize(), ensureDeployCheck()]);
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  describe('the container entrypoint', () => {
    /** The test's environment without the roles' port settings (the test run sets some), plus a stand-in node. */
    const entryEnv = (extra: Env = {}) => {
      const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${fakeNodeDir(tmp)}:${process.env.PATH}`, TMPDIR: tmp, FAKE_NODE_OUT: path.join(tmp, 'node-args') };
      for (const spec of ROLES) if (spec.port) delete env[spec.port.env];
      return { ...env, ...extra };
    };
    const nodeArgs = () => fs.readFileSync(path.join(tmp, 'node-args'), 'utf8').trimEnd().split('\n');

    it('runs every role of core/roles.ts as node <its flags> --import tsx <its entry>', async () => {
      for (const spec of ROLES) {
        assert.ok(fs.existsSync(path.join(ROOT, spec.entry)), `${spec.name}: entry ${spec.entry} exists`);
        const r = await exec('sh', [ENTRYPOINT, spec.name], { env: entryEnv() });
        assert.equal(r.code, 0, `${spec.name}: ${r.stderr}`);
        assert.deepEqual(nodeArgs(), [...spec.nodeFlags, '--import', 'tsx', spec.entry], `${spec.name}: the node command`);
      }
    });

    it('refuses an unknown role or extra arguments with usage and exit 2, listing exactly the roles', async () => {
      const unknown = await exec('sh', [ENTRYPOINT, 'scheduler'], { env: entryEnv() });
      assert.equal(unknown.code, 2);
      assert.match(unknown.stderr, /unknown role: scheduler/);
      const listed = /\(roles: ([^)]*)\)/.exec(unknown.stderr)?.[1].split(' ');
      assert.deepEqual(listed?.sort(), ROLES.map((r) => r.name).sort(), 'usage lists the roles of core/roles.ts');
      assert.equal((await exec('sh', [ENTRYPOINT], { env: entryEnv() })).code, 2, 'no role');
      assert.equal((await exec('sh', [ENTRYPOINT, 'web', '--port', '80'], { env: entryEnv() })).code, 2, 'a role takes no arguments');
    });

    it('healthcheck asks the running role on its port setting (else the default) at its health path', async () => {
      for (const spec of ROLES) {
        assert.equal((await exec('sh', [ENTRYPOINT, spec.name], { env: entryEnv() })).code, 0);
        fs.rmSync(path.join(tmp, 'node-args'), { force: true });
        const r = await exec('sh', [ENTRYPOINT, 'healthcheck'], { env: entryEnv() });
        assert.equal(r.code, 0, `${spec.name}: ${r.stderr}`);
        if (!spec.healthPath) {
          assert.ok(!fs.existsSync(path.join(tmp, 'node-args')), `${spec.name}: nothing to ask`);
          continue;
        }
        assert.equal(nodeArgs().at(-1), `http://127.0.0.1:${spec.port!.default}${spec.healthPath}`, `${spec.name}: default port`);
        await exec('sh', [ENTRYPOINT, 'healthcheck'], { env: entryEnv({ [spec.port!.env]: '12345' }) });
        assert.equal(nodeArgs().at(-1), `http://127.0.0.1:12345${spec.healthPath}`, `${spec.name}: ${spec.port!.env} honoured`);
      }
    });

    it('healthcheck exits 0 on 200 and 1 on 503 from the real role port (real node)', async () => {
      const web = role('web');
      let status = 200;
      const seen: string[] = [];
      const server = http.createServer((req, res) => {
        seen.push(req.url ?? '');
        res.writeHead(req.url === web.healthPath ? status : 404).end('{}');
      });
      const port = await freePort();
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
      try {
        fs.writeFileSync(path.join(tmp, 'switch-telemetry.role'), 'web\n');
        const env = { ...process.env, TMPDIR: tmp, [web.port!.env]: String(port) };
        assert.equal((await exec('sh', [ENTRYPOINT, 'healthcheck'], { env })).code, 0);
        status = 503;
        assert.equal((await exec('sh', [ENTRYPOINT, 'healthcheck'], { env })).code, 1);
        assert.deepEqual(seen, [web.healthPath, web.healthPath]);
      } finally {
        server.close();
      }
    });
  });

  describe('the image', () => {
    /** Dockerfile instructions by stage: continuation lines joined, comments dropped. */
    function dockerfileStages() {
      const text = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
      const lines = text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
      const args: Env = {};
      const stages: Array<{ name?: string; from: string; instructions: Array<[string, string]> }> = [];
      for (const line of lines) {
        const [, op, rest] = /^(\w+)\s+(.*)$/.exec(line)!;
        if (op.toUpperCase() === 'ARG' && stages.length === 0) {
          const [k, v] = rest.split('=');
          args[k] = v;
        } else if (op.toUpperCase() === 'FROM') {
          const [image, , name] = rest.split(/\s+/);
          stages.push({ name, from: image.replace(/\$\{(\w+)\}/g, (_, k) => args[k] ?? ''), instructions: [] });
        } else stages.at(-1)!.instructions.push([op.toUpperCase(), rest]);
      }
      return stages;
    }

    it('is multi-stage on node:20-bookworm-slim; the final stage: production dependencies, the web build, non-root, HEALTHCHECK, the entrypoint', () => {
      const stages = dockerfileStages();
      assert.ok(stages.length >= 2, 'multi-stage');
      for (const s of stages) assert.equal(s.from, 'node:20-bookworm-slim');
      const final = stages.at(-1)!;
      const get = (op: string) => final.instructions.filter(([o]) => o === op).map(([, rest]) => rest);
      const copiesFrom = (what: string) => get('COPY').map((c) => /--from=(\S+)\s+(\S+)/.exec(c)).filter((m) => m && m[2].endsWith(what)).map((m) => m![1]);
      const modules = copiesFrom('/node_modules');
      assert.equal(modules.length, 1, 'node_modules come from one stage');
      const depsStage = stages.find((s) => s.name === modules[0])!;
      assert.ok(depsStage.instructions.some(([op, rest]) => op === 'RUN' && /npm ci\b.*--omit=dev/.test(rest)), 'that stage installs production dependencies only');
      const webBuild = stages.find((s) => s.name === copiesFrom('/web/build')[0]);
      assert.ok(webBuild?.instructions.some(([op, rest]) => op === 'RUN' && rest.includes('@react-router/dev/bin.js build')), 'the web build is made in a build stage and copied');
      const user = get('USER').at(-1);
      assert.ok(user && !/^(root|0)(:|$)/.test(user), `runs as a non-root user (USER ${user})`);
      assert.deepEqual(JSON.parse(get('ENTRYPOINT').at(-1)!), ['/app/deploy/docker-entrypoint.sh']);
      const healthcheck = get('HEALTHCHECK').at(-1)!;
      assert.deepEqual(JSON.parse(healthcheck.slice(healthcheck.indexOf('CMD') + 3)), ['/app/deploy/docker-entrypoint.sh', 'healthcheck']);
      // ENV: every variable a setting; every role's host setting binds all interfaces.
      const env: Env = {};
      for (const rest of get('ENV')) for (const [, k, v] of rest.matchAll(/(\w+)=(\S+)/g)) env[k] = v;
      for (const name of Object.keys(env)) assert.ok(SETTINGS.has(name) || NODE_VARIABLES.has(name), `Dockerfile ENV ${name} is a setting in core/config.ts`);
      for (const spec of ROLES.filter((r) => r.hostEnv)) assert.equal(env[spec.hostEnv!], '0.0.0.0', `${spec.name}: ${spec.hostEnv} binds all interfaces in a container`);
      const exposed = get('EXPOSE').join(' ').split(/\s+/).map(Number);
      for (const spec of ROLES.filter((r) => r.port)) assert.ok(exposed.includes(spec.port!.default), `EXPOSE ${spec.port!.default} (${spec.name})`);
    });

    it('holds every file the roles import, and they import no dev dependency', () => {
      const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies: Env; devDependencies: Env };
      const ignored = fs
        .readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('#'));
      const excluded = (rel: string) => {
        let out = false;
        for (const pattern of ignored) {
          const negate = pattern.startsWith('!');
          const p = negate ? pattern.slice(1) : pattern;
          const hit = p.startsWith('*.') ? rel.endsWith(p.slice(1)) : rel === p || rel.startsWith(`${p}/`);
          if (hit) out = !negate;
        }
        return out;
      };
      // Files loaded by path rather than imported: the workflow bundle, the web app (bundled by the
      // web build; its route config, routes.ts, is read by the build only).
      const webApp = fs
        .readdirSync(path.join(ROOT, 'web/app'), { recursive: true, encoding: 'utf8' })
        .filter((f) => /\.tsx?$/.test(f) && f !== 'routes.ts')
        .map((f) => `web/app/${f}`);
      const queue = [...ROLES.map((r) => r.entry), 'workflows/index.ts', ...webApp];
      const seen = new Set<string>();
      const packages = new Map<string, string>();
      while (queue.length) {
        const rel = queue.pop()!;
        if (seen.has(rel)) continue;
        seen.add(rel);
        assert.ok(!excluded(rel), `${rel} is imported by a role but left out of the image by .dockerignore`);
        const source = fs.readFileSync(path.join(ROOT, rel), 'utf8');
        const specifiers = [
          ...source.matchAll(/^\s*(?:import|export)\s+(?!type\b)(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm),
          ...source.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g),
        ].map((m) => m[1]);
        for (const spec of specifiers) {
          if (spec.startsWith('.')) {
            const base = path.join(path.dirname(rel), spec);
            const file = [base, `${base}.ts`, `${base}.tsx`, `${base}/index.ts`, base.replace(/\.js$/, '.ts')].find((f) => fs.existsSync(path.join(ROOT, f)) && fs.statSync(path.join(ROOT, f)).isFile());
            if (file) queue.push(file);
            else assert.ok(spec.includes('+types') || spec.endsWith('.css'), `${rel}: cannot resolve ${spec}`);
          } else if (!spec.startsWith('node:') && !spec.startsWith('virtual:')) {
            const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
            if (!packages.has(name)) packages.set(name, rel);
          }
        }
      }
      assert.ok(seen.size > 50, `the scan followed the imports (${seen.size} files)`);
      for (const [name, from] of packages) {
        assert.ok(name in pkg.dependencies, `${from} imports ${name}, which is ${name in pkg.devDependencies ? 'a devDependency (absent from the image)' : 'not in package.json'}`);
      }
    });
  });

  describe('deploy/compose.yaml', () => {
    type Service = { image?: string; command?: string[] | null; entrypoint?: string[] | null; environment?: Record<string, string | null>; secrets?: Array<{ source: string; target?: string }>; depends_on?: Record<string, { condition: string }>; deploy?: { replicas?: number }; stop_grace_period?: string; pre_stop?: Array<{ command?: string[] }>; profiles?: string[]; healthcheck?: { test?: string[]; disable?: boolean }; restart?: string; ports?: Array<{ target: number; published?: string }> };
    let project: { services: Record<string, Service>; secrets: Record<string, { file?: string }> };

    before(async () => {
      const r = await exec(checker, ['compose', 'deploy/compose.yaml']);
      assert.equal(r.code, 0, `compose-go rejects deploy/compose.yaml:\n${r.stderr}`);
      project = JSON.parse(r.stdout);
    });

    it('loads and validates under the Compose Specification, and an invalid file is refused', async () => {
      assert.ok(Object.keys(project.services).length >= ROLES.length);
      const bad = path.join(tmp, 'bad-compose.yaml');
      fs.writeFileSync(bad, 'services:\n  web:\n    image: x\n    restart_policy: always\n');
      const r = await exec(checker, ['compose', bad]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /restart_policy/);
    });

    it('runs every role as the same image with the role as its command, ports and settings from the role table', () => {
      const images = new Set<string | undefined>();
      for (const spec of ROLES) {
        const s = project.services[spec.name];
        assert.ok(s, `a service for role ${spec.name}`);
        images.add(s.image);
        assert.deepEqual(s.command, [spec.name], `${spec.name}: command`);
        assert.ok(!s.entrypoint, `${spec.name}: the image's entrypoint`);
        const env = Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, v ?? '']));
        for (const name of Object.keys(env)) assert.ok(SETTINGS.has(name), `${spec.name}: ${name} is a setting in core/config.ts`);
        assertRequiredSettings(`compose ${spec.name}`, spec, env);
        assertSecretFilesMounted(`compose ${spec.name}`, env, new Set((s.secrets ?? []).map((x) => x.target ?? `/run/secrets/${x.source}`)));
        // The image's HEALTHCHECK (the entrypoint asking the role's health path) applies unless replaced by the same.
        if (s.healthcheck?.test) assert.deepEqual(s.healthcheck.test, ['CMD', '/app/deploy/docker-entrypoint.sh', 'healthcheck'], `${spec.name}: healthcheck`);
        assert.ok(!s.healthcheck?.disable, `${spec.name}: healthcheck not disabled`);
        for (const p of s.ports ?? []) assert.equal(p.target, effectivePort(spec, env), `${spec.name}: published port targets ${spec.port?.env}`);
        if (spec.oneShot) assert.equal(s.restart, 'no', `${spec.name} runs once`);
        else if (spec.name !== 'simulator') {
          assert.equal(s.depends_on?.migrate?.condition, 'service_completed_successfully', `${spec.name} starts after migrate succeeded`);
        }
      }
      assert.equal(images.size, 1, 'one image for every role');
      assert.deepEqual(project.services.simulator.profiles, ['simulator'], 'the simulator is optional');
    });

    it('three collectors, each given longer than the hand-over bound to stop', () => {
      const s = project.services.collector;
      assert.equal(s.deploy?.replicas, 3);
      assert.ok(!s.ports?.length, 'no published port (three replicas would clash)');
      const bound = Number(s.environment?.COLLECTOR_SHUTDOWN_FORCE_MS ?? 60_000);
      assert.ok(durationMs(s.stop_grace_period ?? '10s') > bound, `stop_grace_period ${s.stop_grace_period} > COLLECTOR_SHUTDOWN_FORCE_MS ${bound} ms`);
    });

    it('drains a collector before stopping it: pre_stop runs ctl drain --wait on its own registry name and never fails; the grace period covers drain and shutdown', () => {
      const s = project.services.collector;
      const hook = s.pre_stop?.[0]?.command ?? [];
      assert.equal(s.pre_stop?.length, 1, 'one pre_stop hook');
      assert.deepEqual(hook.slice(0, 2), ['sh', '-c']);
      const script = hook[2] ?? '';
      assert.match(script, /^node --import tsx scripts\/ctl\.ts drain /, 'runs ctl drain as the image runs its entry points');
      // The collector's default registry name is <hostname>-<pid> (workers/collector-lease.ts), and the entrypoint execs node as PID 1.
      assert.ok(script.includes('"${COLLECTOR_ID:-$(hostname)-1}"'), `names this container's collector: ${script}`);
      assert.match(script, / --wait /);
      assert.match(script, /\|\| true$/, 'a failing pre_stop hook would abort the stop');
      const drainS = Number(/--timeout (\d+)/.exec(script)?.[1]);
      const bound = Number(s.environment?.COLLECTOR_SHUTDOWN_FORCE_MS ?? 60_000);
      assert.ok(durationMs(s.stop_grace_period ?? '10s') > drainS * 1000 + bound, `stop_grace_period ${s.stop_grace_period} > drain ${drainS} s + COLLECTOR_SHUTDOWN_FORCE_MS ${bound} ms`);
    });

    it('TimescaleDB, Temporal on PostgreSQL with its schema one-shot and Temporal Web, from the official images; secrets only as files', () => {
      const { services } = project;
      assert.match(services.timescaledb.image!, /^timescale\/timescaledb:2\.\d+\.\d+-pg1[56]$/);
      assert.match(services.temporal.image!, /^temporalio\/server:/);
      assert.equal(services.temporal.environment?.DB, 'postgres12');
      assert.match(services['temporal-schema'].image!, /^temporalio\/admin-tools:/);
      assert.equal(services.temporal.depends_on?.['temporal-schema']?.condition, 'service_completed_successfully');
      assert.match(services['temporal-ui'].image!, /^temporalio\/ui:/);
      for (const name of ['db_password', 'secrets_key', 'session_secret']) assert.ok(project.secrets[name]?.file, `secret ${name} is a file`);
      for (const [name, s] of Object.entries(services)) {
        for (const key of Object.keys(s.environment ?? {})) {
          assert.ok(!/(PASSWORD|PWD|SECRET|SECRETS_KEY|API_KEY)$/.test(key), `${name}: ${key} would put a secret in the environment; use a secret file`);
        }
      }
    });
  });

  describe('deploy/k8s', () => {
    const rendered = new Map<string, K8sObject[]>();

    before(async () => {
      for (const dir of OVERLAYS) {
        const built = await exec(kustomize, ['build', dir]);
        assert.equal(built.code, 0, `kustomize build ${dir}:\n${built.stderr}`);
        const checked = await exec(checker, ['k8s'], { input: built.stdout });
        assert.equal(checked.code, 0, `strict decoding of kustomize build ${dir}:\n${checked.stderr}`);
        const objects = YAML.parseAllDocuments(built.stdout).map((d) => d.toJSON() as K8sObject).filter(Boolean);
        assert.equal(checked.stdout.trim().split('\n').length, objects.length, `${dir}: every object decoded`);
        rendered.set(dir, objects);
      }
    });

    it('kustomize build succeeds for the base and every overlay, and every object decodes strictly into its k8s.io/api type', () => {
      for (const dir of OVERLAYS) assert.ok(rendered.get(dir)!.length > 5, `${dir} renders objects`);
    });

    it('the strict decoder refuses an unknown field, a duplicate field, a wrong type and an unknown kind', async () => {
      const good = rendered.get('deploy/k8s/base')!.find((o) => o.kind === 'Deployment')!;
      const cases: Array<[string, unknown, RegExp]> = [
        ['unknown field', { ...good, spec: { ...good.spec, replica: 3 } }, /unknown field "spec\.replica"/],
        ['wrong type', { ...good, spec: { ...good.spec, replicas: 'three' } }, /replicas/],
        ['unknown kind', { apiVersion: 'apps/v1', kind: 'Deploymnet', metadata: { name: 'x' } }, /no kind "Deploymnet"/],
      ];
      for (const [what, obj, expected] of cases) {
        const r = await exec(checker, ['k8s'], { input: YAML.stringify(obj) });
        assert.equal(r.code, 1, `${what} is refused`);
        assert.match(r.stderr, expected, what);
      }
      const duplicate = YAML.stringify(good).replace(/^spec:\n/m, 'spec:\n  replicas: 1\n');
      const r = await exec(checker, ['k8s'], { input: duplicate });
      assert.equal(r.code, 1, 'a duplicate field is refused');
      assert.match(r.stderr, /duplicate field "spec\.replicas"|replicas/);
    });

    for (const dir of OVERLAYS) {
      it(`${dir}: every role has its workload; args, ports, probes and settings from the role table`, () => {
        const objects = rendered.get(dir)!;
        const configMaps = new Map(objects.filter((o) => o.kind === 'ConfigMap').map((o) => [o.metadata.name, o.data as Env]));
        for (const data of configMaps.values()) for (const key of Object.keys(data)) assert.ok(SETTINGS.has(key), `${dir}: ConfigMap key ${key} is a setting in core/config.ts`);
        const roles = dir.endsWith('base') ? ROLES.filter((r) => r.name !== 'simulator') : ROLES;
        for (const spec of roles) {
          const kind = spec.oneShot ? 'Job' : 'Deployment';
          const workload = objects.find((o) => o.kind === kind && o.metadata.name === `switch-telemetry-${spec.name}`);
          assert.ok(workload, `${dir}: a ${kind} for role ${spec.name}`);
          const pod = workload.spec.template.spec;
          assert.equal(pod.securityContext?.runAsNonRoot, true, `${spec.name}: runs as non-root`);
          const [container] = pod.containers;
          assert.deepEqual(container.args, [spec.name], `${spec.name}: args`);
          assert.ok(!container.command, `${spec.name}: the image's entrypoint`);
          assert.ok(container.resources?.requests?.memory && container.resources?.limits?.memory, `${spec.name}: memory request and limit`);
          const env: Env = {};
          for (const from of container.envFrom ?? []) Object.assign(env, configMaps.get(from.configMapRef?.name) ?? {});
          for (const e of container.env ?? []) {
            assert.ok(SETTINGS.has(e.name), `${spec.name}: env ${e.name} is a setting in core/config.ts`);
            env[e.name] = e.value;
          }
          assertRequiredSettings(`${dir} ${spec.name}`, spec, env);
          const mounted = new Set<string>();
          for (const m of container.volumeMounts ?? []) {
            const secret = pod.volumes?.find((v: { name: string }) => v.name === m.name)?.secret;
            for (const item of secret?.items ?? []) mounted.add(`${m.mountPath}/${item.path}`);
          }
          assertSecretFilesMounted(`${dir} ${spec.name}`, env, mounted);
          if (!spec.port) continue;
          const port = effectivePort(spec, env);
          assert.ok(container.ports?.some((p: { containerPort: number }) => p.containerPort === port), `${spec.name}: containerPort ${port} (${spec.port.env})`);
          const resolve = (p: number | string) => (typeof p === 'number' ? p : container.ports.find((x: { name: string }) => x.name === p)?.containerPort);
          const ready = container.readinessProbe?.httpGet;
          assert.equal(ready?.path, spec.healthPath, `${spec.name}: readiness on the health path`);
          assert.equal(resolve(ready.port), port, `${spec.name}: readiness on its port`);
          const live = container.livenessProbe;
          if (spec.livePath) {
            assert.equal(live?.httpGet?.path, spec.livePath, `${spec.name}: liveness on the live path`);
            assert.equal(resolve(live.httpGet.port), port);
            assert.notEqual(spec.livePath, spec.healthPath, 'readiness and liveness mean different things');
          } else {
            assert.equal(resolve(live?.tcpSocket?.port), port, `${spec.name}: liveness is the port accepting connections`);
          }
        }
      });

      it(`${dir}: collectors — 3 replicas, a grace period longer than the hand-over, a PodDisruptionBudget; web behind a Service and an SSE-friendly Ingress`, () => {
        const objects = rendered.get(dir)!;
        const collector = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'switch-telemetry-collector')!;
        assert.equal(collector.spec.replicas, 3);
        const container = collector.spec.template.spec.containers[0];
        const bound = Number(container.env?.find((e: { name: string }) => e.name === 'COLLECTOR_SHUTDOWN_FORCE_MS')?.value ?? 60_000);
        assert.ok(collector.spec.template.spec.terminationGracePeriodSeconds * 1000 > bound, 'terminationGracePeriodSeconds > COLLECTOR_SHUTDOWN_FORCE_MS');
        const podLabels = collector.spec.template.metadata.labels as Env;
        const matches = (selector: Env) => Object.entries(selector).every(([k, v]) => podLabels[k] === v);
        const pdb = objects.find((o) => o.kind === 'PodDisruptionBudget');
        assert.ok(pdb && matches(pdb.spec.selector.matchLabels), 'a PodDisruptionBudget selects the collectors');
        const web = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'switch-telemetry-web')!;
        const service = objects.find((o) => o.kind === 'Service' && o.metadata.name === 'switch-telemetry-web')!;
        assert.ok(Object.entries(service.spec.selector as Env).every(([k, v]) => web.spec.template.metadata.labels[k] === v), 'the web Service selects the web pods');
        const ingress = objects.find((o) => o.kind === 'Ingress')!;
        const a = ingress.metadata.annotations!;
        assert.equal(a['nginx.ingress.kubernetes.io/proxy-buffering'], 'off', 'SSE: no buffering');
        assert.ok(Number(a['nginx.ingress.kubernetes.io/proxy-read-timeout']) >= 3600, 'SSE: a long read timeout');
        assert.equal(ingress.spec.rules[0].http.paths[0].backend.service.name, service.metadata.name);
        for (const ext of ['timescaledb', 'temporal-frontend']) {
          assert.equal(objects.find((o) => o.kind === 'Service' && o.metadata.name === ext)?.spec.type, 'ExternalName', `${ext} is an external service`);
        }
      });
    }
  });
});
