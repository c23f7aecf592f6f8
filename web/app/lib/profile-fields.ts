/**
 * What the profile form shows, shared by the form (client) and its parser (server):
 * the sentence saying what a profile is, and which NETCONF method uses which field.
 */

/** What a profile is, said on the profiles page and the profile form. */
export const PROFILE_EXPLAINED =
  'A subscription profile says what to collect from a device and how often: gNMI paths with their subscription mode and interval, or a NETCONF method with its filter and period. Attach a profile to many devices of its protocol; each device collects every profile attached to it.';

/** NETCONF methods that use a period, a dampening period, a notification stream (the form shows only these). */
export const NETCONF_PERIOD_METHODS = ['get', 'get-data', 'yang-push-periodic'];
export const NETCONF_DAMPENING_METHODS = ['yang-push-on-change'];
export const NETCONF_STREAM_METHODS = ['notifications'];
