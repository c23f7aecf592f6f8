import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ssh2 from 'ssh2';
import { NetconfDeviceSettings, type DeviceConfig, type NetconfProfileSpec, type SubscriptionProfile } from '../../core/device';
import type { TelemetryPoint } from '../../core/point';
import { SessionError, type SessionContext, type SessionEvent } from '../../core/session';
import { createNetconfProtocol } from '../../protocols/netconf/index';
import { SimDevice } from '../../simulator/model';
import { generateEd25519KeyPair, startNetconfServer, type NetconfServer } from '../../simulator/netconf/server';
import { outcomeWithin, until } from '../../testkit/until';
import { localNetconfDevice } from '../support/netconf-device';

const IF = 'urn:ietf:params:xml:ns:yang:ietf-interfaces';
const protocol = createNetconfProtocol({ rpcTimeoutMs: 2000, messageTimeoutMs: 1000, idleTimeoutMs: 1500, resubscribeDelayMs: 50, connectTimeoutMs: 3000 });

interface Harness {
  ctx: SessionContext;
  points: TelemetryPoint[];
  events: SessionEvent[];
  counters: Map<string, number>;
  saved: string[];
  abort: AbortController;
  run: Promise<void>;
}

function profile(spec: Partial<NetconfProfileSpec> & { filter: string }, name = 'p'): SubscriptionProfile {
  return { id: 1, name, protocol: 'netconf', netconf: { method: 'get', filterType: 'subtree', periodMs: 200, dampeningMs: 0, stream: 'NETCONF', listKeys: {}, ...spec } };
}

function device(server: NetconfServer, over: Partial<DeviceConfig> = {}, netconf: Partial<NetconfDeviceSettings> = {}): DeviceConfig {
  return localNetconfDevice(server, netconf, { id: 7, name: 'sim', ...over });
}

function start(dev: DeviceConfig, profiles: SubscriptionProfile[], withSave = true): Harness {
  const h = { points: [], events: [], counters: new Map(), saved: [], abort: new AbortController() } as unknown as Harness;
  h.ctx = {
    device: dev,
    profiles,
    sink: { push: (p) => void h.points.push(...p) },
    signal: h.abort.signal,
    onEvent: (e) => h.events.push(e),
    count: (name, by = 1) => h.counters.set(name, (h.counters.get(name) ?? 0) + by),
    log: { info() {}, warn() {}, error() {}, debug() {} },
    ...(withSave ? { saveHostKey: async (fp: string) => void h.saved.push(fp) } : {}),
  };
  h.run = protocol.run(h.ctx);
  h.run.catch(() => {});
  return h;
}

async function stop(h: Harness): Promise<void> {
  h.abort.abort();
  await h.run;
}

async function rejectsWith(h: Harness, code: string, ms = 8000): Promise<SessionError> {
  const err = await outcomeWithin(h.run, ms);
  assert.ok(err instanceof SessionError, `expected SessionError ${code}, got ${String(err)}`);
  assert.equal(err.code, code, err.message);
  return err;
}

/** An encrypted private key in one of the formats ssh2 reads, with its OpenSSH public key line. */
interface EncryptedKey {
  private: string;
  public: string;
  passphrase: string;
}

const PASSPHRASE = 'correct horse battery staple';

/** OpenSSH format, bcrypt KDF (what `ssh-keygen` writes by default). */
function encryptedOpenSshKey(): EncryptedKey {
  // Drawn again until ssh2 reads both halves back (its generator now and then makes a "Malformed OpenSSH public key").
  return { ...generateEd25519KeyPair({ passphrase: PASSPHRASE, cipher: 'aes256-ctr', rounds: 16 }), passphrase: PASSPHRASE };
}

/** Traditional PEM PKCS#1 RSA with a DEK-Info header (`ssh-keygen -m PEM`, `openssl genrsa -aes256`). */
function encryptedPkcs1RsaKey(): EncryptedKey {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs1', format: 'pem', cipher: 'aes-256-cbc', passphrase: PASSPHRASE } });
  const parsed = ssh2.utils.parseKey(privateKey, PASSPHRASE);
  if (parsed instanceof Error) throw parsed;
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  return { private: privateKey, public: `${key.type} ${key.getPublicSSH().toString('base64')}`, passphrase: PASSPHRASE };
}

const IF_FILTER = `<interfaces-state xmlns="${IF}"><interface><name>Ethernet1</name><statistics/><oper-status/></interface></interfaces-state>`;

describe('netconf collector ↔ simulator', function () {
  this.timeout(20000);
  let server: NetconfServer;
  let sim: SimDevice;
  const clientKey = generateEd25519KeyPair();
  const lockedKey = encryptedOpenSshKey();
  const lockedRsaKey = encryptedPkcs1RsaKey();

  beforeEach(async () => {
    sim = new SimDevice({ name: 'nc-sim', interfaces: 4 });
    server = await startNetconfServer({
      device: sim,
      users: [
        { username: 'admin', password: 'secret' },
        { username: 'robot', publicKey: clientKey.public },
        { username: 'locked', publicKey: lockedKey.public },
        { username: 'locked-rsa', publicKey: lockedRsaKey.public },
      ],
      notificationIntervalMs: 100,
    });
  });
  afterEach(async () => {
    server.faults.stall(false);
    await server.close();
  });

  it('get: polls with a subtree filter, counters grow, reports connected and synced, closes on abort', async () => {
    const h = start(device(server), [profile({ filter: IF_FILTER, periodMs: 150 })]);
    const inOctets = '/interfaces-state/interface[name=Ethernet1]/statistics/in-octets';
    await until('three polls', () => h.points.filter((p) => p.path === inOctets).length >= 3, 5000);
    const values = h.points.filter((p) => p.path === inOctets).map((p) => p.value as number);
    assert.ok(values[2] > values[0], `counter grows: ${values}`);
    assert.ok(h.points.some((p) => p.path === '/interfaces-state/interface[name=Ethernet1]/oper-status' && p.value === 'up'));
    assert.ok(!h.points.some((p) => p.path.includes('Ethernet2')), 'content match selected only Ethernet1');
    assert.ok(h.points.every((p) => p.deviceId === 7));
    assert.equal(h.events[0].type, 'connected');
    assert.match((h.events[0] as { detail: string }).detail, /chunked/);
    assert.ok(h.events.some((e) => e.type === 'synced'));
    assert.equal(server.stats.closeSessions, 0);
    await stop(h);
    assert.equal(server.stats.closeSessions, 1, 'close-session sent before resolving');
  });

  it('base:1.0-only device: end-of-message framing is chosen and works', async () => {
    await server.close();
    server = await startNetconfServer({ device: sim, base11: false, users: [{ username: 'admin', password: 'secret' }] });
    const h = start(device(server), [profile({ filter: IF_FILTER, periodMs: 100 })]);
    await until('two in-octets points', () => h.points.filter((p) => p.path.endsWith('/in-octets')).length >= 2);
    assert.match((h.events[0] as { detail: string }).detail, /base:1.0 end-of-message/);
    await stop(h);
    assert.equal(server.stats.closeSessions, 1);
  });

  it('get: XPath filter with a well-known prefix', async () => {
    const h = start(device(server), [profile({ filterType: 'xpath', filter: "/if:interfaces-state/if:interface[if:name='Ethernet2']/if:oper-status" })]);
    await until('first points', () => h.points.length > 0);
    assert.deepEqual([...new Set(h.points.map((p) => p.path))], ['/interfaces-state/interface[name=Ethernet2]/oper-status']);
    await stop(h);
  });

  it('get: system and health subtrees', async () => {
    const h = start(device(server), [profile({ filter: `<system-health xmlns="urn:switch-telemetry:yang:sim-system-health"/><system-state xmlns="urn:ietf:params:xml:ns:yang:ietf-system"><platform/></system-state>` })]);
    await until('seven points', () => h.points.length >= 7);
    const byPath = new Map(h.points.map((p) => [p.path, p.value]));
    assert.equal(typeof byPath.get('/system-health/cpu-utilization'), 'number');
    assert.equal(byPath.get('/system-state/platform/os-name'), 'SimOS');
    await stop(h);
  });

  it('private-key authentication', async () => {
    const h = start(device(server, { username: 'robot', secrets: { privateKey: clientKey.private } }), [profile({ filter: IF_FILTER })]);
    await until('first points', () => h.points.length > 0);
    await stop(h);
  });

  describe('private key encrypted with a passphrase', () => {
    const keyed = (key: EncryptedKey, username: string, passphrase?: string) =>
      device(server, { username, secrets: { privateKey: key.private, ...(passphrase === undefined ? {} : { passphrase }) } });

    /** The failure names the problem and quotes neither the passphrase nor any of the key. */
    async function passphraseFailure(h: Harness, key: EncryptedKey, passphrase?: string): Promise<void> {
      const err = await rejectsWith(h, 'AUTH_FAILED');
      assert.equal(err.retryable, false);
      assert.match(err.message, /the private key is encrypted and the passphrase is missing or wrong/);
      if (passphrase) assert.ok(!err.message.includes(passphrase), 'never shows the passphrase');
      assert.ok(!err.message.includes(key.passphrase), 'never shows the right passphrase');
      for (const line of key.private.split('\n').filter((l) => l.length > 20 && !l.startsWith('-----'))) assert.ok(!err.message.includes(line), 'never shows the key');
      assert.equal(server.stats.sessionsOpened, 0, 'failed before any NETCONF session');
    }

    it('OpenSSH ed25519 key (bcrypt) with the right passphrase → collects', async () => {
      const h = start(keyed(lockedKey, 'locked', lockedKey.passphrase), [profile({ filter: IF_FILTER })]);
      await until('points over key authentication', () => h.points.length > 0, 5000);
      await stop(h);
    });

    it('PEM PKCS#1 RSA key with the right passphrase → collects', async () => {
      const h = start(keyed(lockedRsaKey, 'locked-rsa', lockedRsaKey.passphrase), [profile({ filter: IF_FILTER })]);
      await until('points over key authentication', () => h.points.length > 0, 5000);
      await stop(h);
    });

    it('wrong passphrase → AUTH_FAILED (non-retryable) naming the problem', async () => {
      await passphraseFailure(start(keyed(lockedKey, 'locked', 'wrong-passphrase-Xq9'), [profile({ filter: IF_FILTER })]), lockedKey, 'wrong-passphrase-Xq9');
      await passphraseFailure(start(keyed(lockedRsaKey, 'locked-rsa', 'wrong-passphrase-Xq9'), [profile({ filter: IF_FILTER })]), lockedRsaKey, 'wrong-passphrase-Xq9');
    });

    it('no passphrase → AUTH_FAILED (non-retryable) naming the problem', async () => {
      await passphraseFailure(start(keyed(lockedKey, 'locked'), [profile({ filter: IF_FILTER })]), lockedKey);
      await passphraseFailure(start(keyed(lockedRsaKey, 'locked-rsa', ''), [profile({ filter: IF_FILTER })]), lockedRsaKey);
    });

    it('encrypted PKCS#8 (unreadable by ssh2) → CONFIG_INVALID saying how to convert it', async () => {
      const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: PASSPHRASE } });
      const h = start(device(server, { username: 'locked-rsa', secrets: { privateKey, passphrase: PASSPHRASE } }), [profile({ filter: IF_FILTER })]);
      const err = await rejectsWith(h, 'CONFIG_INVALID');
      assert.match(err.message, /encrypted PKCS#8 .*ssh-keygen -p/);
      assert.ok(!err.message.includes(PASSPHRASE));
    });

    it('a passphrase next to an unencrypted key is ignored', async () => {
      const h = start(device(server, { username: 'robot', secrets: { privateKey: clientKey.private, passphrase: 'not-needed' } }), [profile({ filter: IF_FILTER })]);
      await until('first points', () => h.points.length > 0);
      await stop(h);
    });
  });

  it('bad credentials → AUTH_FAILED (non-retryable)', async () => {
    const err = await rejectsWith(start(device(server, { secrets: { password: 'wrong' } }), [profile({ filter: IF_FILTER })]), 'AUTH_FAILED');
    assert.equal(err.retryable, false);
    assert.doesNotMatch(err.message, /wrong/, 'never shows the password');
  });

  it('rejectCredentials fault → AUTH_FAILED', async () => {
    server.faults.rejectCredentials(true);
    await rejectsWith(start(device(server), [profile({ filter: IF_FILTER })]), 'AUTH_FAILED');
  });

  it('host key mismatch → HOST_KEY_MISMATCH showing both fingerprints', async () => {
    const pinned = 'SHA256:' + Buffer.alloc(32, 1).toString('base64').replace(/=+$/, '');
    const h = start(device(server, {}, { hostKeySha256: pinned }), [profile({ filter: IF_FILTER })]);
    const err = await rejectsWith(h, 'HOST_KEY_MISMATCH');
    assert.ok(err.message.includes(pinned) && err.message.includes(server.hostKeySha256), err.message);
    assert.deepEqual(h.saved, []);
  });

  it('unknown host key without approval → HOST_KEY_UNKNOWN with the presented fingerprint', async () => {
    const h = start(device(server, {}, { hostKeySha256: undefined, acceptNewHostKey: false }), [profile({ filter: IF_FILTER })]);
    const err = await rejectsWith(h, 'HOST_KEY_UNKNOWN');
    assert.ok(err.message.includes(server.hostKeySha256));
    assert.deepEqual(h.saved, []);
  });

  it('first use approved → stores the fingerprint and collects', async () => {
    const h = start(device(server, {}, { hostKeySha256: undefined, acceptNewHostKey: true }), [profile({ filter: IF_FILTER })]);
    await until('first points', () => h.points.length > 0);
    assert.deepEqual(h.saved, [server.hostKeySha256]);
    await stop(h);
  });

  it('rpc-error for a filter the device cannot evaluate → CONFIG_INVALID with error-tag and message', async () => {
    const err = await rejectsWith(start(device(server), [profile({ filterType: 'xpath', filter: '//interface | count(x)' })]), 'CONFIG_INVALID');
    assert.match(err.message, /invalid-value \(error, application\): unsupported XPath/);
  });

  it('rpc-error for an unsupported stream (RFC 5277) → CONFIG_INVALID', async () => {
    const err = await rejectsWith(start(device(server), [profile({ method: 'notifications', stream: 'NOPE', filter: '<health-sample xmlns="urn:switch-telemetry:yang:sim-system-health"/>' })]), 'CONFIG_INVALID');
    assert.match(err.message, /no such stream: NOPE/);
  });

  it('yang-push periodic: push-update at the period with eventTime timestamps', async () => {
    const h = start(device(server), [profile({ method: 'yang-push-periodic', periodMs: 200, filter: IF_FILTER })]);
    const p = '/interfaces-state/interface[name=Ethernet1]/statistics/out-octets';
    await until('six push-updates', () => h.points.filter((x) => x.path === p).length >= 6, 8000);
    const times = h.points.filter((x) => x.path === p).map((x) => x.timestamp);
    // The median gap, so one late timer tick on a busy machine does not decide the result.
    const gaps = times.slice(1, 6).map((t, i) => t - times[i]).sort((a, b) => a - b);
    assert.ok(gaps[2] >= 120 && gaps[2] <= 600, `period ~200 ms, got gaps ${gaps.join(', ')} ms`);
    await stop(h);
  });

  it('yang-push on-change: initial push-update, then push-change-update with only changed leaves', async () => {
    const h = start(device(server), [profile({ method: 'yang-push-on-change', dampeningMs: 200, filter: IF_FILTER })]);
    await until('initial update', () => h.points.some((p) => p.path.endsWith('/oper-status')), 5000);
    const initial = h.points.length;
    sim.interfaces[0].operUp = false;
    await until('change of oper-status', () => h.points.slice(initial).some((p) => p.path === '/interfaces-state/interface[name=Ethernet1]/oper-status' && p.value === 'down'), 5000);
    const later = h.points.slice(initial);
    assert.ok(!later.some((p) => p.path.endsWith('/discontinuity-time')), 'unchanged leaves are not re-sent');
    await stop(h);
  });

  it('yang-push: subscription-terminated and -suspended → re-established', async () => {
    const h = start(device(server), [profile({ method: 'yang-push-periodic', periodMs: 100, filter: IF_FILTER })]);
    await until('first points', () => h.points.length > 0);
    server.faults.terminateSubscriptions();
    await until('the first subscription lost', () => (h.counters.get('netconf_subscriptions_lost_total') ?? 0) === 1);
    let n = h.points.length;
    await until('updates after re-establish', () => h.points.length > n + 5, 5000);
    server.faults.suspendSubscriptions();
    await until('the second subscription lost', () => (h.counters.get('netconf_subscriptions_lost_total') ?? 0) === 2);
    n = h.points.length;
    await until('updates after suspension', () => h.points.length > n + 5, 5000);
    assert.ok(h.events.filter((e) => e.type === 'warning').length >= 2);
    await stop(h);
  });

  it('RFC 5277 notifications: events become points at eventTime', async () => {
    const h = start(device(server), [profile({ method: 'notifications', filter: '<health-sample xmlns="urn:switch-telemetry:yang:sim-system-health"/>' })]);
    await until('two cpu-utilization samples', () => h.points.filter((p) => p.path === '/health-sample/cpu-utilization').length >= 2);
    assert.ok(!h.points.some((p) => p.path.startsWith('/link-state-change')));
    await stop(h);
  });

  it('several profiles share one SSH connection, each on its own NETCONF session', async () => {
    const h = start(device(server), [
      profile({ filter: IF_FILTER }, 'poll'),
      profile({ method: 'yang-push-periodic', periodMs: 100, filter: '<system-health xmlns="urn:switch-telemetry:yang:sim-system-health"/>' }, 'push'),
    ]);
    await until('points of both subscriptions', () => h.points.some((p) => p.path.startsWith('/interfaces-state')) && h.points.some((p) => p.path.startsWith('/system-health')));
    assert.equal(h.events.filter((e) => e.type === 'synced').length, 1);
    assert.equal(server.stats.sessionsOpened, 2);
    await stop(h);
    assert.equal(server.stats.closeSessions, 2);
  });

  it('dropped connection → UNAVAILABLE (retryable)', async () => {
    const h = start(device(server), [profile({ filter: IF_FILTER })]);
    await until('first points', () => h.points.length > 0);
    server.faults.dropConnections();
    const err = await rejectsWith(h, 'UNAVAILABLE');
    assert.equal(err.retryable, true);
  });

  it('nothing listening → UNAVAILABLE', async () => {
    const port = server.port;
    await server.close();
    server = await startNetconfServer({ device: sim });
    await rejectsWith(start(device(server, { port: port === server.port ? port + 1 : port }), [profile({ filter: IF_FILTER })]), 'UNAVAILABLE');
  });

  it('stalled device → STALLED', async () => {
    const h = start(device(server), [profile({ filter: IF_FILTER, periodMs: 100 })]);
    await until('first points', () => h.points.length > 0);
    server.faults.stall(true);
    await rejectsWith(h, 'STALLED');
  });

  it('the host key file is generated once (mode 0600) and kept', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'nc-key-'));
    try {
      const file = path.join(dir, 'keys', 'sim.key');
      const a = await startNetconfServer({ device: sim, hostKeyFile: file });
      await a.close();
      assert.equal(statSync(file).mode & 0o777, 0o600);
      const b = await startNetconfServer({ device: sim, hostKeyFile: file });
      await b.close();
      assert.equal(a.hostKeySha256, b.hostKeySha256);
      assert.notEqual(a.hostKeySha256, server.hostKeySha256);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
