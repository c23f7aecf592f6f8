/**
 * The gNMI client of one device: channel with size limit and security, the
 * credentials metadata, Capabilities, and the encoding choice.
 */
import * as grpc from '@grpc/grpc-js';
import { gnmiTransportSetting } from '../../core/config';
import type { DeviceConfig, GnmiEncoding } from '../../core/device';
import { SessionError } from '../../core/session';
import { toGnmiSessionError } from './errors';
import { dialGnmiHttp2 } from './h2-transport';
import { gnmiProto, type WireCapabilityResponse, type WireEncoding, type WireSubscribeRequest, type WireSubscribeResponse } from './proto';
import type { GnmiClient } from './transport';
import { credentialsMetadata, transportSecurity } from './tls';

export type { GnmiClient, GnmiSubscribeCall, GnmiUnaryDone } from './transport';

/** Which gRPC client carries a device's calls (GNMI_TRANSPORT; ADR 265). */
export type GnmiTransport = 'grpc-js' | 'http2';

/** Create the client of a device (no I/O until the first call) on the configured transport. */
export function dialGnmi(device: DeviceConfig, transport: GnmiTransport = gnmiTransportSetting()): GnmiClient {
  return transport === 'http2' ? dialGnmiHttp2(device) : dialGnmiGrpcJs(device);
}

/** The grpc-js client: one channel per device. */
function dialGnmiGrpcJs(device: DeviceConfig): GnmiClient {
  const security = transportSecurity(device);
  const metadata = credentialsMetadata(device);
  const { CollectorClient: Client } = gnmiProto();
  const raw = new Client(`${device.host}:${device.port}`, security.credentials, gnmiChannelOptions(device, security.options)) as grpc.Client & Record<string, Function>;
  return {
    security: security.label,
    capabilities: (timeoutMs, done) => raw.Capabilities({}, metadata, { deadline: new Date(Date.now() + timeoutMs) }, done) as grpc.ClientUnaryCall,
    subscribe: () => raw.Subscribe(metadata) as grpc.ClientDuplexStream<WireSubscribeRequest, WireSubscribeResponse>,
    close: () => raw.close(),
  };
}

/**
 * The options of a device's channel. One channel per device lives for the whole session, so
 * what grpc-js keeps per channel is kept per session (issue 16): channelz is off — nothing here
 * reads it, and its trace entries and call counters then stay empty (grpc-js 1.14 still builds
 * the trackers; under 1 KiB of heap per session, measured in docs/performance.md).
 * Each channel has a subchannel pool of its own (ADR 246): in grpc-js's process-wide pool every
 * channel's close walks every other channel's entry, so a collector ending thousands of streams
 * at once (a hand-over) stalled its event loop for seconds (5,000 closes: 5.4 s, here 0.15 s).
 */
export function gnmiChannelOptions(device: DeviceConfig, securityOptions: grpc.ChannelOptions = {}): grpc.ChannelOptions {
  return {
    ...securityOptions,
    'grpc.max_receive_message_length': device.gnmi.maxMessageBytes,
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_timeout_ms': 10_000,
    'grpc.initial_reconnect_backoff_ms': 500,
    'grpc.max_reconnect_backoff_ms': 5_000,
    'grpc.enable_channelz': 0,
    'grpc.use_local_subchannel_pool': 1,
  };
}

/** How a Capabilities call ended: answered, or not (the session subscribes anyway; ADR 014). */
export type CapabilitiesOutcome = { answered: true; response: WireCapabilityResponse } | { answered: false; reason: 'unimplemented' | 'timeout'; detail: string };

/** What the session records about Capabilities (heartbeat, status query, device page). */
export type CapabilitiesState = 'answered' | 'unimplemented' | 'timeout';

/** The recorded state of an outcome. */
export function capabilitiesState(c: CapabilitiesOutcome): CapabilitiesState {
  return c.answered ? 'answered' : c.reason;
}

/**
 * Call Capabilities within `timeoutMs`. UNIMPLEMENTED and an unanswered deadline are
 * outcomes, not failures: partial targets (the OpenConfig fake, older firmware) lack the
 * RPC. Every other error is typed as before (credentials, TLS, unreachable).
 */
export function probeCapabilities(client: GnmiClient, timeoutMs: number, signal: AbortSignal): Promise<CapabilitiesOutcome> {
  return new Promise((resolve, reject) => {
    const call = client.capabilities(timeoutMs, (err, res) => {
      signal.removeEventListener('abort', onAbort);
      // Only what the session reads is kept for its life: a device may list hundreds of models.
      if (!err) return resolve({ answered: true, response: { supported_encodings: res?.supported_encodings, gNMI_version: res?.gNMI_version } });
      if (err.code === grpc.status.UNIMPLEMENTED) {
        return resolve({ answered: false, reason: 'unimplemented', detail: `Capabilities: UNIMPLEMENTED ${err.details ?? ''}`.trim() });
      }
      if (err.code === grpc.status.DEADLINE_EXCEEDED) {
        return resolve({ answered: false, reason: 'timeout', detail: `Capabilities not answered within ${timeoutMs} ms` });
      }
      reject(toGnmiSessionError(err, 'Capabilities'));
    });
    const onAbort = () => call.cancel();
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

const WIRE_ENCODING: Record<GnmiEncoding, WireEncoding> = {
  proto: 'PROTO',
  json_ietf: 'JSON_IETF',
  json: 'JSON',
  ascii: 'ASCII',
  bytes: 'BYTES',
};

/** Preference when nothing is configured: typed values first, then JSON flavours. */
const PREFERENCE: WireEncoding[] = ['PROTO', 'JSON_IETF', 'JSON'];

/**
 * Pick the encoding: the override when given (a warning when the device does not
 * list it), else the first of PROTO, JSON_IETF, JSON the device supports.
 */
export function chooseEncoding(supported: WireEncoding[] | undefined, override: GnmiEncoding | undefined): { encoding: WireEncoding; warning?: string } {
  const list = supported ?? [];
  if (override) {
    const enc = WIRE_ENCODING[override];
    if (list.length > 0 && !list.includes(enc)) {
      return { encoding: enc, warning: `encoding ${override} is not listed in the device's Capabilities (${list.join(', ')})` };
    }
    return { encoding: enc };
  }
  // A target that lists nothing gets the gNMI default, JSON.
  if (list.length === 0) return { encoding: 'JSON' };
  const pick = PREFERENCE.find((e) => list.includes(e));
  if (!pick) {
    throw new SessionError('CONFIG_INVALID', `device supports none of PROTO, JSON_IETF, JSON (it lists ${list.join(', ')})`);
  }
  return { encoding: pick };
}

/** Order tried after the first encoding is refused (issue 13; ADR 014). */
export const FALLBACK_ORDER: WireEncoding[] = ['JSON_IETF', 'JSON', 'PROTO'];

/**
 * Encodings to try, in order. With Capabilities answered: chooseEncoding's pick, then
 * the rest of JSON_IETF, JSON, PROTO the device lists. Without an answer: the
 * profile's or device's named encoding, else JSON_IETF, then the rest of that order.
 */
export function encodingCandidates(caps: CapabilitiesOutcome, override: GnmiEncoding | undefined): { candidates: WireEncoding[]; warning?: string } {
  if (caps.answered) {
    const { encoding, warning } = chooseEncoding(caps.response.supported_encodings, override);
    const listed = caps.response.supported_encodings ?? [];
    const rest = FALLBACK_ORDER.filter((e) => e !== encoding && (listed.length === 0 || listed.includes(e)));
    return { candidates: [encoding, ...rest], warning };
  }
  const first = override ? WIRE_ENCODING[override] : 'JSON_IETF';
  return { candidates: [first, ...FALLBACK_ORDER.filter((e) => e !== first)] };
}
