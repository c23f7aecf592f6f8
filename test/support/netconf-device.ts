/**
 * A NETCONF DeviceConfig for a simulated server on loopback (the NETCONF counterpart of
 * simulator/gnmi/harness.ts's localGnmiDevice): the server's port and host key, settings
 * through the real schema, and whatever else a test overrides (credentials, id, name).
 */
import { NetconfDeviceSettings, type DeviceConfig } from '../../core/device';

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
