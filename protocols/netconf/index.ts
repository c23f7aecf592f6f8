/**
 * NETCONF over SSH (RFC 6241/6242) with RFC 5277 notifications and RFC 8639/8641
 * YANG-push. The registry (protocols/index.ts) loads `netconfProtocol`.
 */
import { createNetconfProtocol } from './session';

/** The NETCONF protocol session with production timings. */
export const netconfProtocol = createNetconfProtocol();

export { createNetconfProtocol, type NetconfProtocolOptions } from './session';
export { sshFingerprint } from './ssh';
