import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { chooseEncoding, encodingCandidates, gnmiChannelOptions, probeCapabilities, type CapabilitiesOutcome, type GnmiClient } from '../../protocols/gnmi/client';
import { toGnmiSessionError, counterFor } from '../../protocols/gnmi/errors';
import { buildSubscriptionList, isEncodingRejection } from '../../protocols/gnmi/subscribe';
import { credentialsMetadata, transportSecurity } from '../../protocols/gnmi/tls';
import { GnmiDeviceSettings, GnmiProfileSpec } from '../../core/device';
import { parsePath } from '../../core/path';
import { SessionError } from '../../core/session';
import { pathSelects } from '../../simulator/gnmi/match';
import { localGnmiDevice } from '../../simulator/gnmi/harness';

const grpcError = (code: number, details: string) => Object.assign(new Error(`${code} ${details}`), { code, details });

describe('gNMI encoding choice', () => {
  const cases: Array<[string, Parameters<typeof chooseEncoding>[0], Parameters<typeof chooseEncoding>[1], string, boolean?]> = [
    ['PROTO preferred when offered', ['JSON', 'JSON_IETF', 'PROTO'], undefined, 'PROTO'],
    ['JSON_IETF before JSON', ['JSON', 'JSON_IETF', 'ASCII'], undefined, 'JSON_IETF'],
    ['JSON when it is all there is', ['JSON'], undefined, 'JSON'],
    ['nothing listed: the gNMI default, JSON', [], undefined, 'JSON'],
    ['override wins', ['PROTO', 'JSON'], 'json', 'JSON'],
    ['override not listed: used, with a warning', ['PROTO'], 'json_ietf', 'JSON_IETF', true],
  ];
  for (const [name, supported, override, want, warns] of cases) {
    it(name, () => {
      const got = chooseEncoding(supported, override);
      assert.equal(got.encoding, want);
      assert.equal(!!got.warning, !!warns);
    });
  }
  it('no usable encoding is a configuration error', () => {
    assert.throws(
      () => chooseEncoding(['ASCII', 'BYTES'], undefined),
      (e: SessionError) => e.code === 'CONFIG_INVALID',
    );
  });
});

describe('gNMI encodings to try, with or without Capabilities (ADR 014)', () => {
  const answered = (supported_encodings: Array<'JSON' | 'JSON_IETF' | 'PROTO' | 'ASCII'>): CapabilitiesOutcome => ({
    answered: true,
    response: { supported_encodings } as never,
  });
  const unanswered: CapabilitiesOutcome = { answered: false, reason: 'unimplemented', detail: 'Capabilities: UNIMPLEMENTED' };
  const cases: Array<[string, CapabilitiesOutcome, Parameters<typeof encodingCandidates>[1], string[]]> = [
    ['no Capabilities, nothing named: JSON_IETF, then JSON, then PROTO', unanswered, undefined, ['JSON_IETF', 'JSON', 'PROTO']],
    ['no Capabilities, PROTO named: PROTO first, then the usual order', unanswered, 'proto', ['PROTO', 'JSON_IETF', 'JSON']],
    ['no Capabilities (timeout), JSON named', { answered: false, reason: 'timeout', detail: 'x' }, 'json', ['JSON', 'JSON_IETF', 'PROTO']],
    ['Capabilities answered: its pick, then only what it lists', answered(['JSON', 'PROTO']), undefined, ['PROTO', 'JSON']],
    ['Capabilities answered with an empty list: JSON, then the rest', answered([]), undefined, ['JSON', 'JSON_IETF', 'PROTO']],
  ];
  for (const [name, caps, override, want] of cases) {
    it(name, () => assert.deepEqual(encodingCandidates(caps, override).candidates, want));
  }
  it('what counts as a refused encoding (before any response)', () => {
    assert.equal(isEncodingRejection(grpcError(status.UNIMPLEMENTED, 'encoding JSON_IETF is not supported')), true);
    assert.equal(isEncodingRejection(grpcError(status.UNIMPLEMENTED, 'unsupported')), true, 'UNIMPLEMENTED is what the spec prescribes');
    assert.equal(isEncodingRejection(grpcError(status.INVALID_ARGUMENT, 'unsupported encoding: JSON')), true);
    assert.equal(isEncodingRejection(grpcError(status.INVALID_ARGUMENT, 'bad path /a[')), false);
    assert.equal(isEncodingRejection(grpcError(status.NOT_FOUND, 'encoding')), false);
    assert.equal(isEncodingRejection(new Error('encoding')), false);
  });
});

describe('gNMI SubscriptionList from a profile', () => {
  it('maps modes, intervals (ms → ns), flags, prefix, origin and target', () => {
    const profile = GnmiProfileSpec.parse({
      mode: 'stream',
      updatesOnly: true,
      origin: 'openconfig',
      prefix: '/interfaces/interface[name=Ethernet1]',
      subscriptions: [
        { path: '/state/counters', mode: 'sample', sampleIntervalMs: 1500 },
        { path: '/state/oper-status', mode: 'on_change', heartbeatIntervalMs: 60_000, suppressRedundant: true },
        { path: '/state', mode: 'target_defined' },
      ],
    });
    const list = buildSubscriptionList(profile, 'JSON_IETF', 'leaf1');
    assert.equal(list.mode, 'STREAM');
    assert.equal(list.encoding, 'JSON_IETF');
    assert.equal(list.updates_only, true);
    assert.deepEqual(list.prefix, { origin: 'openconfig', target: 'leaf1', elem: [{ name: 'interfaces' }, { name: 'interface', key: { name: 'Ethernet1' } }] });
    assert.deepEqual(
      list.subscription!.map((s) => [s.mode, s.sample_interval, s.heartbeat_interval, s.suppress_redundant]),
      [
        ['SAMPLE', '1500000000', '0', false],
        ['ON_CHANGE', '10000000000', '60000000000', true],
        ['TARGET_DEFINED', '10000000000', '0', false],
      ],
    );
    assert.deepEqual(list.subscription![0].path, { elem: [{ name: 'state' }, { name: 'counters' }] });
  });

  it('ONCE and POLL list modes; no prefix when nothing needs one', () => {
    const once = buildSubscriptionList(GnmiProfileSpec.parse({ mode: 'once', subscriptions: [{ path: '/a' }] }), 'PROTO');
    assert.equal(once.mode, 'ONCE');
    assert.equal(once.prefix, undefined);
    assert.equal(buildSubscriptionList(GnmiProfileSpec.parse({ mode: 'poll', subscriptions: [{ path: '/a' }] }), 'PROTO').mode, 'POLL');
  });

  it('an origin on the path is kept on the path when the profile sets none', () => {
    const list = buildSubscriptionList(GnmiProfileSpec.parse({ subscriptions: [{ path: 'eos_native:/Kernel' }] }), 'JSON');
    assert.deepEqual(list.subscription![0].path, { origin: 'eos_native', elem: [{ name: 'Kernel' }] });
  });

  it('a malformed path or clashing origin is a configuration error', () => {
    for (const spec of [{ subscriptions: [{ path: '/a[name' }] }, { origin: 'x', subscriptions: [{ path: 'y:/a' }] }, { prefix: 'nope', subscriptions: [{ path: '/a' }] }]) {
      assert.throws(
        () => buildSubscriptionList(GnmiProfileSpec.parse(spec), 'JSON'),
        (e: SessionError) => e.code === 'CONFIG_INVALID',
        JSON.stringify(spec),
      );
    }
  });
});

describe('gNMI failure classes', () => {
  const cases: Array<[string, Error, string, boolean]> = [
    ['UNAUTHENTICATED', grpcError(status.UNAUTHENTICATED, 'bad password'), 'AUTH_FAILED', false],
    ['PERMISSION_DENIED', grpcError(status.PERMISSION_DENIED, 'no'), 'AUTH_FAILED', false],
    ['INVALID_ARGUMENT', grpcError(status.INVALID_ARGUMENT, 'bad path'), 'CONFIG_INVALID', false],
    ['NOT_FOUND', grpcError(status.NOT_FOUND, 'no such path'), 'CONFIG_INVALID', false],
    ['UNAVAILABLE', grpcError(status.UNAVAILABLE, 'Connection dropped'), 'UNAVAILABLE', true],
    ['UNAVAILABLE with a TLS error', grpcError(status.UNAVAILABLE, 'No connection established. Last error: Error: self-signed certificate in certificate chain'), 'TLS_FAILED', false],
    ['DEADLINE_EXCEEDED', grpcError(status.DEADLINE_EXCEEDED, 'deadline'), 'UNAVAILABLE', true],
    ['oversized', grpcError(status.RESOURCE_EXHAUSTED, 'Received message larger than max (200 vs 100)'), 'PROTOCOL_ERROR', true],
    ['malformed', grpcError(status.INTERNAL, 'Response message parsing error: index out of range'), 'PROTOCOL_ERROR', true],
    ['plain error', new Error('boom'), 'INTERNAL', true],
  ];
  for (const [name, err, code, retryable] of cases) {
    it(`${name} → ${code}`, () => {
      const e = toGnmiSessionError(err, 'Subscribe');
      assert.equal(e.code, code);
      assert.equal(e.retryable, retryable);
    });
  }
  it('names the counter of a protocol error', () => {
    assert.equal(counterFor(toGnmiSessionError(cases[7][1], 'x')), 'gnmi_oversized_messages_total');
    assert.equal(counterFor(toGnmiSessionError(cases[8][1], 'x')), 'gnmi_malformed_messages_total');
    assert.equal(counterFor(toGnmiSessionError(cases[0][1], 'x')), undefined);
  });
});

describe('gNMI transport security settings', () => {
  it('labels lab modes as such', () => {
    assert.equal(transportSecurity(localGnmiDevice(1, { tls: 'insecure' })).label, 'insecure (lab mode)');
    assert.equal(transportSecurity(localGnmiDevice(1, { tls: 'skip-verify' })).label, 'skip-verify (lab mode)');
    assert.equal(transportSecurity(localGnmiDevice(1, { tls: 'tls' })).label, 'tls');
  });
  it('TLS with a 4 MiB message limit is what a device gets by default', () => {
    const d = GnmiDeviceSettings.parse({});
    assert.equal(d.tls, 'tls');
    assert.equal(d.maxMessageBytes, 4 * 1024 * 1024);
  });
  it('sends username and password as metadata, never over plaintext unless allowed', () => {
    const creds = { username: 'admin', secrets: { password: 'pw' } };
    const md = credentialsMetadata(localGnmiDevice(1, { tls: 'tls' }, creds));
    assert.deepEqual([md.get('username'), md.get('password')], [['admin'], ['pw']]);
    assert.throws(
      () => credentialsMetadata(localGnmiDevice(1, { tls: 'insecure' }, creds)),
      (e: SessionError) => e.code === 'CONFIG_INVALID',
    );
    assert.equal(credentialsMetadata(localGnmiDevice(1, { tls: 'insecure', allowPlaintextCredentials: true }, creds)).get('username')[0], 'admin');
    assert.deepEqual(credentialsMetadata(localGnmiDevice(1, { tls: 'insecure' })).getMap(), {});
  });
  it('never sends username and password to an unverified peer (skip-verify) unless allowed', () => {
    const creds = { username: 'admin', secrets: { password: 'pw' } };
    assert.throws(
      () => credentialsMetadata(localGnmiDevice(1, { tls: 'skip-verify' }, creds)),
      (e: SessionError) => e.code === 'CONFIG_INVALID' && /unverified/.test(e.message),
    );
    // The plaintext acknowledgement does not cover an unverified peer: each mode has its own.
    assert.throws(() => credentialsMetadata(localGnmiDevice(1, { tls: 'skip-verify', allowPlaintextCredentials: true }, creds)), SessionError);
    assert.equal(credentialsMetadata(localGnmiDevice(1, { tls: 'skip-verify', allowUnverifiedCredentials: true }, creds)).get('password')[0], 'pw');
    assert.deepEqual(credentialsMetadata(localGnmiDevice(1, { tls: 'skip-verify' })).getMap(), {}, 'no username: nothing to protect');
  });
});

describe('gNMI per-session memory (issue 16)', () => {
  it('the channel keeps the device message limit and security options, with channelz off', () => {
    const device = localGnmiDevice(57400, { maxMessageBytes: 1 << 20 });
    const options = gnmiChannelOptions(device, { 'grpc.ssl_target_name_override': 'switch-1' });
    assert.equal(options['grpc.max_receive_message_length'], 1 << 20);
    assert.equal(options['grpc.ssl_target_name_override'], 'switch-1');
    assert.equal(options['grpc.enable_channelz'], 0);
    assert.equal(options['grpc.keepalive_time_ms'], 30_000);
    // A subchannel pool per channel (ADR 246): in the process-wide one each close walks every session's entry.
    assert.equal(options['grpc.use_local_subchannel_pool'], 1);
  });

  it('an answered Capabilities keeps the encodings and version, not the model list', async () => {
    const models = Array.from({ length: 300 }, (_, i) => ({ name: `openconfig-model-${i}`, organization: 'OpenConfig working group', version: '1.0.0' }));
    const client = {
      capabilities: (_timeoutMs: number, cb: (err: null, res: unknown) => void) => {
        setImmediate(() => cb(null, { supported_models: models, supported_encodings: ['JSON', 'PROTO'], gNMI_version: '0.10.0' }));
        return { cancel: () => undefined };
      },
    } as unknown as GnmiClient;
    const outcome = await probeCapabilities(client, 1000, new AbortController().signal);
    assert.ok(outcome.answered);
    assert.deepEqual(outcome.response, { supported_encodings: ['JSON', 'PROTO'], gNMI_version: '0.10.0' });
    assert.deepEqual(encodingCandidates(outcome, undefined).candidates, ['PROTO', 'JSON']);
  });
});

describe('simulator path matching (gNMI wildcard semantics)', () => {
  const leaf = parsePath('/interfaces/interface[name=Ethernet1]/state/counters/in-octets').elems;
  const cases: Array<[string, boolean]> = [
    ['/interfaces', true],
    ['/interfaces/interface', true],
    ['/interfaces/interface[name=*]/state', true],
    ['/interfaces/interface[name=Ethernet1]/state/counters/in-octets', true],
    ['/interfaces/interface[name=Ethernet2]', false],
    ['/interfaces/*/state', true],
    ['/interfaces/.../in-octets', true],
    ['/.../counters', true],
    ['/interfaces/interface/config', false],
    ['/interfaces/interface[name=Ethernet1]/state/counters/in-octets/deeper', false],
    ['/', true],
  ];
  for (const [sub, want] of cases) {
    it(`${sub} ${want ? 'selects' : 'does not select'} the leaf`, () => {
      assert.equal(pathSelects(parsePath(sub).elems, leaf), want);
    });
  }
});
