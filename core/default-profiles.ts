/**
 * The default subscription profiles of the embedded setup (npm start registers them with the
 * simulated fleet; the device import offers them). Data only.
 */
import type { GnmiProfileSpec, NetconfProfileSpec } from './device';

/** The default gNMI profile: interface counters every second, status and health less often. */
export const DEFAULT_GNMI_PROFILE: { name: string; description: string; spec: GnmiProfileSpec } = {
  name: 'openconfig-interfaces-and-health',
  description: 'Interface counters every second; oper-status, CPU, memory and temperature',
  spec: {
    mode: 'stream',
    pollIntervalMs: 10_000,
    updatesOnly: false,
    subscriptions: [
      { path: '/interfaces/interface/state/counters', mode: 'sample', sampleIntervalMs: 1000, heartbeatIntervalMs: 0, suppressRedundant: false },
      { path: '/interfaces/interface/state/oper-status', mode: 'sample', sampleIntervalMs: 10_000, heartbeatIntervalMs: 0, suppressRedundant: false },
      { path: '/components/component/cpu/utilization/state/instant', mode: 'sample', sampleIntervalMs: 5000, heartbeatIntervalMs: 0, suppressRedundant: false },
      { path: '/components/component/state/temperature/instant', mode: 'sample', sampleIntervalMs: 5000, heartbeatIntervalMs: 0, suppressRedundant: false },
      { path: '/system/memory/state', mode: 'sample', sampleIntervalMs: 5000, heartbeatIntervalMs: 0, suppressRedundant: false },
    ],
  },
};

/**
 * The default NETCONF profile: ietf-interfaces statistics by periodic YANG-push, from the tree
 * the device's hello advertises (NMDA /interfaces or legacy /interfaces-state; ADR 022).
 */
export const DEFAULT_NETCONF_PROFILE: { name: string; description: string; spec: NetconfProfileSpec } = {
  name: 'ietf-interfaces-statistics',
  description: 'ietf-interfaces statistics every 5 s (YANG-push periodic; /interfaces or /interfaces-state as the device advertises)',
  spec: {
    method: 'yang-push-periodic',
    filterType: 'subtree',
    filter: '<interfaces-state xmlns="urn:ietf:params:xml:ns:yang:ietf-interfaces"/>',
    select: 'interfaces-auto',
    periodMs: 5000,
    dampeningMs: 0,
    stream: 'NETCONF',
    listKeys: {},
  },
};
