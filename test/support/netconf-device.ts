/**
 * A NETCONF DeviceConfig for a simulated server on loopback (the NETCONF counterpart of
 * simulator/gnmi/harness.ts's localGnmiDevice): the server's port and host key, settings
 * through the real schema, and whatever else a test overrides (credentials, id, name).
 */
import { NetconfDeviceSettings, type DeviceConfig, type SubscriptionProfile } from '../../core/device';
import type { TelemetryPoint } from '../../core/point';
import type { ProtocolSession, SessionEvent } from '../../core/session';

/** Device `over` a loopback NETCONF server answering admin/secret, its host key pinned. */
export function localNetconfDevice(
  server: { port: number; hostKeySha256?: string },
  settings: Partial<NetconfDeviceSettings> = {},
  over: Partial<DeviceConfig> = {},
): DeviceConfig {
  return {
    id: 1,
    name: 'netconf-sim',
    protocol: 'netconf',
    host: '127.0.0.1',
    port: server.port,
    username: 'admin',
    secrets: { password: 'secret' },
    gnmi: {} as DeviceConfig['gnmi'],
    netconf: NetconfDeviceSettings.parse({ hostKeySha256: server.hostKeySha256, ...settings }),
    ...over,
  };
}

/** A test's protocol session and everything it reported; `abort` ends it, `done` settles once it ended. */
export interface RecordedSession {
  points: TelemetryPoint[];
  events: SessionEvent[];
  counters: Map<string, number>;
  abort: AbortController;
  done: Promise<void>;
}

/** Run `protocol` for one device and profile, keeping its points, events and counters (quiet log). */
export function recordSession(protocol: ProtocolSession, device: DeviceConfig, profile: SubscriptionProfile): RecordedSession {
  const r: RecordedSession = { points: [], events: [], counters: new Map(), abort: new AbortController(), done: Promise.resolve() };
  r.done = protocol.run({
    device,
    profiles: [profile],
    sink: { push: (p) => void r.points.push(...p) },
    signal: r.abort.signal,
    onEvent: (e) => r.events.push(e),
    count: (name, by = 1) => r.counters.set(name, (r.counters.get(name) ?? 0) + by),
    log: { info() {}, warn() {}, error() {}, debug() {} },
  });
  r.done.catch(() => {});
  return r;
}
