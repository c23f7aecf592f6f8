/**
 * Both gNMI transports (GNMI_TRANSPORT: grpc-js, http2 — ADR 265) against the same peers, with the
 * same session errors expected: the session state machine depends on them. The whole gNMI suite
 * also runs with either (`GNMI_TRANSPORT=http2 npm test -- integration --grep gNMI`); these are
 * the cases that tell the transports apart, run with both in every CI run.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { gnmiProtocol } from '../../protocols/gnmi/index';
import { dialGnmiHttp2 } from '../../protocols/gnmi/h2-transport';
import { buildSubscriptionList, runSubscription } from '../../protocols/gnmi/subscribe';
import { SessionError, type GnmiCapabilitiesAnswer } from '../../core/session';
import type { DeviceConfig } from '../../core/device';
import { SimDevice } from '../../simulator/model';
import { generatePki, type TestPki } from '../../simulator/gnmi/certs';
import { startGnmiTarget, type GnmiTarget, type GnmiTargetOptions } from '../../simulator/gnmi/target';
import { gnmiProfile, localGnmiDevice, recordingContext, type RecordingContext } from '../../simulator/gnmi/harness';
import { startTcpProxy } from '../support/tcp-proxy';
import { freePort } from '../../scripts/infra/proc';

const profile = gnmiProfile({
  subscriptions: [{ path: '/interfaces/interface[name=Ethernet1]/state/counters/in-octets', mode: 'sample', sampleIntervalMs: 50, heartbeatIntervalMs: 0, suppressRedundant: false }],
});
const creds = { username: 'admin', secrets: { password: 's3cret' } };

/** Run until `points` points arrived, then abort; returns the context (events, counters). */
async function streams(device: DeviceConfig, points = 2, capabilities?: RecordingContext['gnmiCapabilities']): Promise<RecordingContext> {
  const ctx = recordingContext(device, [profile]);
  ctx.gnmiCapabilities = capabilities;
  const running = gnmiProtocol.run(ctx);
  const failed = running.then(
    () => undefined,
    (e) => e,
  );
  await Promise.race([
    ctx.waitFor(() => ctx.points.length >= points, 15_000, 'points'),
    failed.then((e) => {
      if (e) throw e;
    }),
  ]);
  ctx.controller.abort();
  await running;
  return ctx;
}

/** Run and expect a SessionError (a generous bound: a loaded machine). */
async function failsWith(device: DeviceConfig, ctx = recordingContext(device, [profile])): Promise<SessionError> {
  const timer = setTimeout(() => ctx.controller.abort(), 20_000);
  try {
    await gnmiProtocol.run(ctx);
  } catch (err) {
    assert.ok(err instanceof SessionError, `expected a SessionError, got ${err}`);
    return err;
  } finally {
    clearTimeout(timer);
  }
  throw new assert.AssertionError({ message: 'run() resolved (aborted after 20 s); expected a failure' });
}

/** A bare HTTP/2 peer answering every call with `answer` (what no gRPC library would send). */
async function rawPeer(answer: (stream: http2.ServerHttp2Stream) => void): Promise<{ port: number; close(): Promise<void> }> {
  const server = http2.createServer();
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (s) => {
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
    s.on('error', () => undefined);
  });
  server.on('stream', (stream) => {
    stream.on('error', () => undefined);
    answer(stream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sessions) s.destroy();
        server.close(() => resolve());
      }),
  };
}

for (const transport of ['grpc-js', 'http2'] as const) {
  describe(`gNMI transports: ${transport}`, function () {
    this.timeout(60_000);
    let pki: TestPki;
    let otherPki: TestPki;
    const targets: GnmiTarget[] = [];
    const start = async (o: Partial<GnmiTargetOptions> = {}) => {
      const t = await startGnmiTarget({ device: new SimDevice({ name: 'transport', interfaces: 2 }), port: 0, ...o });
      targets.push(t);
      return t;
    };
    const previous = process.env.GNMI_TRANSPORT;

    before(async () => {
      process.env.GNMI_TRANSPORT = transport;
      [pki, otherPki] = await Promise.all([generatePki(), generatePki()]);
    });
    after(async () => {
      if (previous === undefined) delete process.env.GNMI_TRANSPORT;
      else process.env.GNMI_TRANSPORT = previous;
      await Promise.all(targets.map((t) => t.close()));
    });

    it('streams over plaintext with credentials, TLS verifying the CA and the server name, and mTLS', async () => {
      const plain = await start({ auth: { username: 'admin', password: 's3cret' } });
      const connected = (ctx: RecordingContext) => ctx.events.flatMap((e) => (e.type === 'connected' ? [e.detail ?? ''] : []));
      assert.match(connected(await streams(localGnmiDevice(plain.port, { allowPlaintextCredentials: true }, creds)))[0], /over insecure \(lab mode\)$/);
      const tls = await start({ tls: { cert: pki.serverCert, key: pki.serverKey }, auth: { username: 'admin', password: 's3cret' } });
      assert.match(connected(await streams(localGnmiDevice(tls.port, { tls: 'tls', caCert: pki.caCert }, creds)))[0], /over tls$/);
      await streams(localGnmiDevice(tls.port, { tls: 'tls', caCert: pki.caCert, serverName: 'localhost' }, creds));
      const mtls = await start({ tls: { cert: pki.serverCert, key: pki.serverKey, clientCa: pki.caCert } });
      const device = localGnmiDevice(mtls.port, { tls: 'mtls', caCert: pki.caCert, clientCert: pki.clientCert }, { secrets: { clientKey: pki.clientKey } });
      assert.match(connected(await streams(device))[0], /over mtls$/);
    });

    it('a wrong CA or server name is TLS_FAILED, a wrong password AUTH_FAILED (both non-retryable), a closed port UNAVAILABLE', async () => {
      const t = await start({ tls: { cert: pki.serverCert, key: pki.serverKey }, auth: { username: 'admin', password: 's3cret' } });
      const wrongCa = await failsWith(localGnmiDevice(t.port, { tls: 'tls', caCert: otherPki.caCert }, creds));
      assert.equal(wrongCa.code, 'TLS_FAILED', wrongCa.message);
      assert.equal(wrongCa.retryable, false);
      const wrongName = await failsWith(localGnmiDevice(t.port, { tls: 'tls', caCert: pki.caCert, serverName: 'not-the-switch.example' }, creds));
      assert.equal(wrongName.code, 'TLS_FAILED', wrongName.message);
      const wrongPassword = await failsWith(localGnmiDevice(t.port, { tls: 'tls', caCert: pki.caCert }, { username: 'admin', secrets: { password: 'wrong' } }));
      assert.equal(wrongPassword.code, 'AUTH_FAILED', wrongPassword.message);
      assert.equal(wrongPassword.retryable, false);
      const refused = await failsWith(localGnmiDevice(await freePort()));
      assert.equal(refused.code, 'UNAVAILABLE', refused.message);
      assert.equal(refused.retryable, true);
      assert.match(refused.message, /ECONNREFUSED/);
    });

    it('Capabilities UNIMPLEMENTED or unanswered by the deadline: subscribes anyway and records why', async () => {
      const t = await start();
      t.faults.capabilities('unimplemented');
      const unimplemented = await streams(localGnmiDevice(t.port));
      assert.deepEqual(
        unimplemented.events.find((e) => e.type === 'negotiated'),
        { type: 'negotiated', encoding: 'JSON_IETF', capabilities: 'unimplemented' },
        JSON.stringify(unimplemented.events),
      );
      t.faults.capabilities('silent');
      const began = Date.now();
      const silent = await streams(localGnmiDevice(t.port, { capabilitiesTimeoutMs: 300, encoding: 'json' }));
      assert.ok(Date.now() - began >= 300, 'waited for the deadline');
      assert.ok(silent.events.some((e) => e.type === 'warning' && /Capabilities not answered within 300 ms/.test(e.message)));
    });

    it('told what the device answered before (a hand-over, ADR 298): subscribes without asking; an own dial asks and hands the answer on', async () => {
      const t = await start();
      const answers: GnmiCapabilitiesAnswer[] = [];
      const onAnswered = (a: GnmiCapabilitiesAnswer) => answers.push(a);
      await streams(localGnmiDevice(t.port), 2, { onAnswered });
      assert.equal(answers.length, 1);
      assert.equal(answers[0].gnmiVersion, '0.10.0');
      assert.deepEqual([...answers[0].encodings].sort(), ['JSON', 'JSON_IETF', 'PROTO']);
      // Capabilities never answered from now on: a dial that asked would wait out its 60 s deadline before subscribing.
      t.faults.capabilities('silent');
      const told = await streams(localGnmiDevice(t.port, { capabilitiesTimeoutMs: 60_000 }), 2, { known: answers[0], onAnswered });
      assert.equal(answers.length, 1, 'nothing asked, so nothing answered');
      const connected = told.events.findIndex((e) => e.type === 'connected');
      assert.ok(connected >= 0, JSON.stringify(told.events));
      assert.match(String((told.events[connected] as { detail?: string }).detail), /^gNMI 0\.10\.0 over .+; Capabilities as answered to its previous collector$/);
      assert.deepEqual(told.events.find((e) => e.type === 'negotiated'), { type: 'negotiated', encoding: 'PROTO', capabilities: 'answered' });
      assert.ok(!told.events.some((e) => e.type === 'warning'), JSON.stringify(told.events));
      // The device no longer takes the encoding it listed then: the next one listed is tried, as after a fresh answer.
      t.faults.limitEncodings(['JSON_IETF']);
      const changed = await streams(localGnmiDevice(t.port, { capabilitiesTimeoutMs: 60_000 }), 2, { known: answers[0] });
      assert.equal((changed.events.find((e) => e.type === 'negotiated') as { encoding: string }).encoding, 'JSON_IETF', JSON.stringify(changed.events));
    });

    it('an oversized message is PROTOCOL_ERROR with its counter, a malformed one PROTOCOL_ERROR, a dropped stream UNAVAILABLE', async () => {
      const t = await start();
      for (const [fault, code, counter] of [
        [() => t.faults.sendOversized(200 * 1024), 'PROTOCOL_ERROR', 'gnmi_oversized_messages_total'],
        [() => t.faults.sendMalformed(), 'PROTOCOL_ERROR', 'gnmi_malformed_messages_total'],
        [() => t.faults.dropStreams(), 'UNAVAILABLE', undefined],
      ] as const) {
        const ctx = recordingContext(localGnmiDevice(t.port, { maxMessageBytes: 64 * 1024 }), [profile]);
        const failed = failsWith(ctx.device, ctx);
        await ctx.waitFor(() => ctx.points.length >= 1, 15_000, 'first points');
        assert.equal(fault(), 1, 'one stream got the fault');
        const err = await failed;
        assert.equal(err.code, code, err.message);
        if (counter) assert.equal(ctx.counters.get(counter), 1, `${counter} in ${[...ctx.counters.keys()]}`);
      }
    });

    it('the target restarting on its port: UNAVAILABLE, then a new run streams again', async () => {
      const t = await startGnmiTarget({ device: new SimDevice({ name: 'restarting', interfaces: 2 }), port: 0 });
      const port = t.port;
      const ctx = recordingContext(localGnmiDevice(port), [profile]);
      const failed = failsWith(ctx.device, ctx);
      await ctx.waitFor(() => ctx.points.length >= 1, 15_000, 'first points');
      await t.close();
      const err = await failed;
      assert.equal(err.code, 'UNAVAILABLE', err.message);
      targets.push(await start({ port }));
      await streams(localGnmiDevice(port));
    });

    it('a compressed message is refused; a trailers-only status has its percent-encoded message decoded', async () => {
      const compressed = await rawPeer((stream) => {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
        stream.write(Buffer.from([1, 0, 0, 0, 2, 0x08, 0x01]));
      });
      try {
        const err = await failsWith(localGnmiDevice(compressed.port, { capabilitiesTimeoutMs: 5000 }));
        // A peer breaking the protocol is not a network failure; grpc-js's own error here carries no code or text.
        assert.equal(err.code, 'INTERNAL', err.message);
        if (transport === 'http2') assert.match(err.message, /compressed message/);
      } finally {
        await compressed.close();
      }
      const refusing = await rawPeer((stream) => {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '16', 'grpc-message': 'bad%20password%20for%20%E2%9C%93admin' }, { endStream: true });
      });
      try {
        const err = await failsWith(localGnmiDevice(refusing.port));
        assert.equal(err.code, 'AUTH_FAILED');
        assert.match(err.message, /bad password for ✓admin/);
      } finally {
        await refusing.close();
      }
    });

    it('a GOAWAY with an error ends the session, retryable (grpc-js: INTERNAL, http2: UNAVAILABLE)', async () => {
      const peer = await rawPeer((stream) => {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
        stream.session?.goaway(http2.constants.NGHTTP2_INTERNAL_ERROR);
        stream.session?.destroy();
      });
      try {
        const err = await failsWith(localGnmiDevice(peer.port));
        assert.equal(err.code, transport === 'http2' ? 'UNAVAILABLE' : 'INTERNAL', err.message);
        assert.equal(err.retryable, true);
      } finally {
        await peer.close();
      }
    });
  });
}

describe('gNMI transports: http2 keepalive', function () {
  this.timeout(60_000);
  it('a path that stops answering is found by an unanswered keepalive ping: UNAVAILABLE', async () => {
    const target = await startGnmiTarget({ device: new SimDevice({ name: 'keepalive', interfaces: 1 }), port: 0 });
    const proxy = await startTcpProxy({ targetPort: target.port });
    const client = dialGnmiHttp2(localGnmiDevice(proxy.port), { timeMs: 200, timeoutMs: 2000 });
    const controller = new AbortController();
    let received = 0;
    try {
      const list = buildSubscriptionList(profile.gnmi!, 'JSON_IETF');
      const run = runSubscription(client, list, { pollIntervalMs: 1000, signal: controller.signal }, { onNotification: () => void received++, onSync: () => undefined });
      const outcome = run.then(
        () => undefined,
        (e) => e as SessionError,
      );
      // While data flows (it proves the path, and a ping's ack may queue behind it) the stream stays up past several keepalive periods.
      const began = Date.now();
      while (received < 20) {
        assert.equal(await Promise.race([outcome, new Promise((r) => setTimeout(r, 50, 'running'))]), 'running', 'the stream failed while the path worked');
        assert.ok(Date.now() - began < 20_000, 'no 20 notifications in 20 s');
      }
      // Everything the target sends is now held back for an hour: only the keepalive can tell.
      proxy.shape({ latencyMs: 3_600_000 });
      const err = await outcome;
      assert.ok(err instanceof SessionError, `expected a SessionError, got ${err}`);
      assert.equal(err.code, 'UNAVAILABLE');
      assert.match(err.message, /keepalive ping not answered within 2000 ms/);
    } finally {
      controller.abort();
      client.close();
      await proxy.close();
      await target.close();
    }
  });
});
