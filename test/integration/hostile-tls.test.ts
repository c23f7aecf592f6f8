/**
 * Hostile TLS peers (issue 9): a device presenting an expired certificate, a
 * certificate for another name, or a self-signed one. The gNMI session fails
 * within a second with a non-retryable TLS_FAILED whose message says why, and
 * the collector code stays usable: a good device streams right afterwards.
 * (A wrong CA, the serverName override and mTLS refusals are in
 * gnmi-security.test.ts; they are not repeated here.)
 */
import assert from 'node:assert/strict';
import { gnmiProtocol } from '../../protocols/gnmi/index';
import { SessionError } from '../../core/session';
import { gnmiProfile, localGnmiDevice, recordingContext } from '../../simulator/gnmi/harness';
import { startGnmiTarget, type GnmiTarget } from '../../simulator/gnmi/target';
import { SimDevice } from '../../simulator/model';
import { generateBrokenPki, type BrokenPki, type ServerCert } from '../support/faults-pki';

const profile = gnmiProfile({
  subscriptions: [{ path: '/interfaces/interface[name=Ethernet1]/state/counters/in-octets', mode: 'sample', sampleIntervalMs: 50, heartbeatIntervalMs: 0, suppressRedundant: false }],
});

const PASSWORD = 'tls-canary-Pw9';

describe('hostile TLS peers: expired, wrong name, self-signed', function () {
  this.timeout(30_000);
  let pki: BrokenPki;
  const targets: GnmiTarget[] = [];
  const serve = async (tls: ServerCert) => {
    const t = await startGnmiTarget({ device: new SimDevice({ name: 'tls-hostile', interfaces: 1 }), port: 0, tls, auth: { username: 'admin', password: PASSWORD } });
    targets.push(t);
    return t;
  };
  const device = (port: number, caCert: string) => localGnmiDevice(port, { tls: 'tls', caCert }, { username: 'admin', secrets: { password: PASSWORD } });

  /** Run a session against the port; it must fail with TLS_FAILED within a second. */
  async function refused(port: number, caCert: string): Promise<{ err: SessionError; ms: number }> {
    const ctx = recordingContext(device(port, caCert), [profile]);
    const started = Date.now();
    const guard = setTimeout(() => ctx.controller.abort(), 5000);
    try {
      await gnmiProtocol.run(ctx);
    } catch (err) {
      assert.ok(err instanceof SessionError, `a SessionError, got ${err}`);
      assert.equal(ctx.points.length, 0, 'no points from an unverified peer');
      return { err, ms: Date.now() - started };
    } finally {
      clearTimeout(guard);
    }
    throw new assert.AssertionError({ message: 'the session ran; expected a TLS failure' });
  }

  /** The session streams (the collector code is still fine). */
  async function streams(port: number, caCert: string): Promise<void> {
    const ctx = recordingContext(device(port, caCert), [profile]);
    const running = gnmiProtocol.run(ctx);
    await Promise.race([ctx.waitFor(() => ctx.points.length >= 1, 5000, 'points'), running.then(() => undefined)]);
    ctx.controller.abort();
    await running;
    assert.ok(ctx.points.length >= 1);
  }

  before(async () => {
    pki = await generateBrokenPki();
  });
  after(async () => {
    await Promise.all(targets.map((t) => t.close()));
  });

  const cases: Array<{ name: string; cert: (p: BrokenPki) => ServerCert; says: RegExp }> = [
    { name: 'an expired certificate', cert: (p) => p.expired, says: /expired/i },
    { name: 'a certificate for another name', cert: (p) => p.wrongName, says: /altnames|hostname|name|IP/i },
    { name: 'a self-signed certificate', cert: (p) => p.selfSigned, says: /self[- ]signed|unable to verify|issuer/i },
  ];
  for (const c of cases) {
    it(`${c.name} → TLS_FAILED (non-retryable) within a second, saying why`, async () => {
      const bad = await serve(c.cert(pki));
      const { err, ms } = await refused(bad.port, pki.caCert);
      assert.equal(err.code, 'TLS_FAILED', err.message);
      assert.equal(err.retryable, false);
      assert.match(err.message, c.says);
      assert.ok(!err.message.includes(PASSWORD), 'the password is not in the message');
      if (process.env.TEST_VERBOSE) console.log(`      ${err.message}`);
      assert.ok(ms < 1000, `failed within a second (${ms} ms)`);
      // The collector code is unharmed: the same CA, a good certificate, streams.
      const good = await serve(pki.good);
      await streams(good.port, pki.caCert);
    });
  }

  it('the self-signed certificate is refused even when no CA is configured (system roots)', async () => {
    const bad = await serve(pki.selfSigned);
    const ctx = recordingContext(localGnmiDevice(bad.port, { tls: 'tls' }, { username: 'admin', secrets: { password: PASSWORD } }), [profile]);
    const started = Date.now();
    const err = await gnmiProtocol.run(ctx).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof SessionError, `a SessionError, got ${err}`);
    assert.equal(err.code, 'TLS_FAILED', err.message);
    assert.ok(Date.now() - started < 1000);
  });
});
