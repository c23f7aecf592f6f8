import assert from 'node:assert/strict';
import { gnmiProtocol } from '../../protocols/gnmi/index';
import { SessionError } from '../../core/session';
import { SimDevice } from '../../simulator/model';
import { generatePki, type TestPki } from '../../simulator/gnmi/certs';
import { startGnmiTarget, type GnmiTarget, type GnmiTargetOptions } from '../../simulator/gnmi/target';
import { gnmiProfile, localGnmiDevice, recordingContext } from '../../simulator/gnmi/harness';
import type { DeviceConfig } from '../../core/device';

const profile = gnmiProfile({ subscriptions: [{ path: '/interfaces/interface[name=Ethernet1]/state/counters/in-octets', mode: 'sample', sampleIntervalMs: 50, heartbeatIntervalMs: 0, suppressRedundant: false }] });

/** Run until the first points arrive, then abort; returns the connected detail. */
async function streamsPoints(device: DeviceConfig): Promise<string> {
  const ctx = recordingContext(device, [profile]);
  const running = gnmiProtocol.run(ctx);
  const failed = running.then(() => undefined, (e) => e);
  await Promise.race([ctx.waitFor(() => ctx.points.length >= 2, 5000, 'points'), failed.then((e) => { if (e) throw e; })]);
  ctx.controller.abort();
  await running;
  const connected = ctx.events.find((e) => e.type === 'connected');
  return connected && connected.type === 'connected' ? connected.detail ?? '' : '';
}

/** Run and expect a SessionError. */
async function failsWith(device: DeviceConfig): Promise<SessionError> {
  const ctx = recordingContext(device, [profile]);
  const timer = setTimeout(() => ctx.controller.abort(), 8000);
  try {
    await gnmiProtocol.run(ctx);
  } catch (err) {
    assert.ok(err instanceof SessionError, `expected a SessionError, got ${err}`);
    assert.equal(ctx.points.length, 0);
    return err;
  } finally {
    clearTimeout(timer);
  }
  throw new assert.AssertionError({ message: 'run() resolved; expected a failure' });
}

describe('gNMI security: TLS, mTLS, credentials', function () {
  this.timeout(20_000);
  let pki: TestPki;
  let otherPki: TestPki;
  const targets: GnmiTarget[] = [];
  const start = async (o: Partial<GnmiTargetOptions>) => {
    const t = await startGnmiTarget({ device: new SimDevice({ name: 'sec', interfaces: 2 }), port: 0, ...o });
    targets.push(t);
    return t;
  };

  before(async () => {
    [pki, otherPki] = await Promise.all([generatePki(), generatePki()]);
  });
  after(async () => {
    await Promise.all(targets.map((t) => t.close()));
  });

  const tls = () => ({ cert: pki.serverCert, key: pki.serverKey });
  const auth = { username: 'admin', password: 's3cret' };

  it('TLS verifying the configured CA streams, with credentials', async () => {
    const t = await start({ tls: tls(), auth });
    const detail = await streamsPoints(localGnmiDevice(t.port, { tls: 'tls', caCert: pki.caCert }, { username: 'admin', secrets: { password: 's3cret' } }));
    assert.match(detail, /over tls$/);
  });

  it('TLS verifies the server name against the certificate (serverName override)', async () => {
    const t = await start({ tls: tls() });
    await streamsPoints(localGnmiDevice(t.port, { tls: 'tls', caCert: pki.caCert, serverName: 'localhost' }));
    const err = await failsWith(localGnmiDevice(t.port, { tls: 'tls', caCert: pki.caCert, serverName: 'not-the-switch.example' }));
    assert.equal(err.code, 'TLS_FAILED');
  });

  it('a wrong CA is a non-retryable TLS failure', async () => {
    const t = await start({ tls: tls() });
    const err = await failsWith(localGnmiDevice(t.port, { tls: 'tls', caCert: otherPki.caCert }));
    assert.equal(err.code, 'TLS_FAILED');
    assert.equal(err.retryable, false);
  });

  it('skip-verify connects despite a wrong CA and says it is a lab mode', async () => {
    const t = await start({ tls: tls() });
    const detail = await streamsPoints(localGnmiDevice(t.port, { tls: 'skip-verify', caCert: otherPki.caCert }));
    assert.match(detail, /skip-verify \(lab mode\)/);
  });

  it('skip-verify refuses to send the password to the unverified peer unless the device allows it', async () => {
    const t = await start({ tls: tls(), auth });
    const creds = { username: 'admin', secrets: { password: 's3cret' } };
    const err = await failsWith(localGnmiDevice(t.port, { tls: 'skip-verify', caCert: otherPki.caCert }, creds));
    assert.equal(err.code, 'CONFIG_INVALID');
    assert.match(err.message, /unverified/);
    const detail = await streamsPoints(localGnmiDevice(t.port, { tls: 'skip-verify', caCert: otherPki.caCert, allowUnverifiedCredentials: true }, creds));
    assert.match(detail, /skip-verify \(lab mode\)/);
  });

  it('mTLS: the client certificate is presented and accepted', async () => {
    const t = await start({ tls: { ...tls(), clientCa: pki.caCert } });
    const detail = await streamsPoints(localGnmiDevice(t.port, { tls: 'mtls', caCert: pki.caCert, clientCert: pki.clientCert }, { secrets: { clientKey: pki.clientKey } }));
    assert.match(detail, /over mtls$/);
  });

  it('mTLS: a target requiring client certificates refuses a client without one', async () => {
    const t = await start({ tls: { ...tls(), clientCa: pki.caCert } });
    const err = await failsWith(localGnmiDevice(t.port, { tls: 'tls', caCert: pki.caCert }));
    assert.ok(['TLS_FAILED', 'UNAVAILABLE'].includes(err.code), err.message);
  });

  it('mTLS without a client key is a configuration error', async () => {
    const err = await failsWith(localGnmiDevice(1, { tls: 'mtls', caCert: pki.caCert, clientCert: pki.clientCert }));
    assert.equal(err.code, 'CONFIG_INVALID');
  });

  it('bad credentials are a non-retryable auth failure', async () => {
    const t = await start({ tls: tls(), auth });
    const err = await failsWith(localGnmiDevice(t.port, { tls: 'tls', caCert: pki.caCert }, { username: 'admin', secrets: { password: 'wrong' } }));
    assert.equal(err.code, 'AUTH_FAILED');
    assert.equal(err.retryable, false);
  });

  it('a target rejecting credentials on command fails the session with AUTH_FAILED', async () => {
    const t = await start({});
    t.faults.rejectCredentials(true);
    const err = await failsWith(localGnmiDevice(t.port));
    assert.equal(err.code, 'AUTH_FAILED');
    t.faults.rejectCredentials(false);
    await streamsPoints(localGnmiDevice(t.port));
  });

  it('refuses to send credentials over plaintext unless the device allows it', async () => {
    const t = await start({ auth });
    const creds = { username: 'admin', secrets: { password: 's3cret' } };
    const err = await failsWith(localGnmiDevice(t.port, { tls: 'insecure' }, creds));
    assert.equal(err.code, 'CONFIG_INVALID');
    assert.match(err.message, /plaintext/);
    const detail = await streamsPoints(localGnmiDevice(t.port, { tls: 'insecure', allowPlaintextCredentials: true }, creds));
    assert.match(detail, /insecure \(lab mode\)/);
  });
});
