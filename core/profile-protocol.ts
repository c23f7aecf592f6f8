/**
 * A device collects only with subscription profiles of its own protocol; a profile of the
 * other protocol would be skipped by its session without a word. Wherever a profile meets a
 * device — the device form, the profile form, a bulk attach — the pairing is refused with one
 * message naming what was refused (issue 21).
 */

type Protocol = 'gnmi' | 'netconf';

/** The protocol as operators read it. */
export function protocolLabel(protocol: Protocol): string {
  return protocol === 'gnmi' ? 'gNMI' : 'NETCONF';
}

/** Why profiles of the other protocol are not attached to a device of `deviceProtocol`; undefined when every profile fits. */
export function foreignProfilesRefusal(deviceProtocol: Protocol, profiles: Array<{ name: string; protocol: Protocol }>): string | undefined {
  const foreign = profiles.filter((p) => p.protocol !== deviceProtocol).map((p) => `${p.name} (${protocolLabel(p.protocol)})`);
  if (foreign.length === 0) return undefined;
  const mine = protocolLabel(deviceProtocol);
  return `Not attached: ${foreign.join(', ')} ${foreign.length === 1 ? 'is a profile' : 'are profiles'} of the other protocol; a ${mine} device can only use ${mine} profiles.`;
}

/** Why devices of the other protocol are not attached to a profile of `profileProtocol`; undefined when every device fits. */
export function foreignDevicesRefusal(profileProtocol: Protocol, devices: Array<{ name: string; protocol: Protocol }>): string | undefined {
  const foreign = devices.filter((d) => d.protocol !== profileProtocol).map((d) => `${d.name} (${protocolLabel(d.protocol)})`);
  if (foreign.length === 0) return undefined;
  const mine = protocolLabel(profileProtocol);
  return `Not attached: ${foreign.join(', ')} ${foreign.length === 1 ? 'is a device' : 'are devices'} of the other protocol; a ${mine} profile can only be attached to ${mine} devices.`;
}
