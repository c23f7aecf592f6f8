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
  const mine = protocolLabel(deviceProtocol);
  return otherProtocolRefusal(deviceProtocol, profiles, 'a profile', 'profiles', `a ${mine} device can only use ${mine} profiles`);
}

/** Why devices of the other protocol are not attached to a profile of `profileProtocol`; undefined when every device fits. */
export function foreignDevicesRefusal(profileProtocol: Protocol, devices: Array<{ name: string; protocol: Protocol }>): string | undefined {
  const mine = protocolLabel(profileProtocol);
  return otherProtocolRefusal(profileProtocol, devices, 'a device', 'devices', `a ${mine} profile can only be attached to ${mine} devices`);
}

/** The one wording of both refusals: the items of the other protocol named, then the rule. */
function otherProtocolRefusal(protocol: Protocol, items: Array<{ name: string; protocol: Protocol }>, one: string, many: string, rule: string): string | undefined {
  const foreign = items.filter((i) => i.protocol !== protocol).map((i) => `${i.name} (${protocolLabel(i.protocol)})`);
  if (foreign.length === 0) return undefined;
  return `Not attached: ${foreign.join(', ')} ${foreign.length === 1 ? `is ${one}` : `are ${many}`} of the other protocol; ${rule}.`;
}
