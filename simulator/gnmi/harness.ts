/**
 * Helpers to drive the gNMI collector against simulated targets without the
 * rest of the system: a device config for a local target and a session context
 * that records points, events and counters. Used by tests, the bench and demos.
 */
import { GnmiDeviceSettings, GnmiProfileSpec, NetconfDeviceSettings, type DeviceConfig, type SubscriptionProfile } from '../../core/device';
import type { TelemetryPoint } from '../../core/point';
import type { SessionContext, SessionEvent } from '../../core/session';

/** A gNMI DeviceConfig for a target on loopback; settings pass through the real schema. */
export function localGnmiDevice(
  port: number,
  settings: Partial<GnmiDeviceSettings> = {},
  extra: Partial<Pick<DeviceConfig, 'username' | 'secrets' | 'host' | 'id'>> = {},
): DeviceConfig {
  return {
    id: extra.id ?? 1,
    name: `sim-${port}`,
    protocol: 'gnmi',
    host: extra.host ?? '127.0.0.1',
    port,
    username: extra.username,
    secrets: extra.secrets ?? {},
    gnmi: GnmiDeviceSettings.parse({ tls: 'insecure', ...settings }),
    netconf: NetconfDeviceSettings.parse({}),
  };
}

/** A subscription profile (validated with the real schema). */
export function gnmiProfile(spec: Partial<GnmiProfileSpec> & Pick<GnmiProfileSpec, 'subscriptions'>, id = 1): SubscriptionProfile {
  return { id, name: `profile-${id}`, protocol: 'gnmi', gnmi: GnmiProfileSpec.parse(spec) };
}

/** A session context that records everything, plus waiting helpers. */
export interface RecordingContext extends SessionContext {
  controller: AbortController;
  points: TelemetryPoint[];
  events: SessionEvent[];
  counters: Map<string, number>;
  /** Resolve once `pred` holds over the recorded points (polls), or reject after `timeoutMs`. */
  waitFor(pred: () => boolean, timeoutMs?: number, what?: string): Promise<void>;
}

/** Build a recording context; `push` may be replaced to simulate a slow sink. */
export function recordingContext(
  device: DeviceConfig,
  profiles: SubscriptionProfile[],
  push?: (points: TelemetryPoint[]) => void | Promise<void>,
): RecordingContext {
  const controller = new AbortController();
  const points: TelemetryPoint[] = [];
  const events: SessionEvent[] = [];
  const counters = new Map<string, number>();
  const quiet = () => undefined;
  return {
    controller,
    points,
    events,
    counters,
    device,
    profiles,
    signal: controller.signal,
    sink: {
      push(batch) {
        points.push(...batch);
        return push?.(batch);
      },
    },
    onEvent: (e) => events.push(e),
    count(name, by = 1, labels) {
      const key = labels ? `${name}${JSON.stringify(labels)}` : name;
      counters.set(key, (counters.get(key) ?? 0) + by);
    },
    log: { info: quiet, warn: quiet, error: quiet, debug: quiet },
    waitFor(pred, timeoutMs = 5000, what = 'condition') {
      return new Promise((resolve, reject) => {
        const started = Date.now();
        const check = () => {
          if (pred()) return resolve();
          if (Date.now() - started > timeoutMs) return reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
          setTimeout(check, 10);
        };
        check();
      });
    },
  };
}
