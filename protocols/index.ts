/**
 * The protocol registry: adding a protocol is adding a folder that exports a
 * ProtocolSession and one line here.
 */
import type { ProtocolSession } from '../core/session';

const loaders: Record<'gnmi' | 'netconf', () => Promise<ProtocolSession>> = {
  gnmi: async () => (await import('./gnmi/index')).gnmiProtocol,
  netconf: async () => (await import('./netconf/index')).netconfProtocol,
};

const loaded = new Map<string, ProtocolSession>();

/** The implementation of a protocol (loaded once). */
export async function getProtocol(name: 'gnmi' | 'netconf'): Promise<ProtocolSession> {
  let p = loaded.get(name);
  if (!p) {
    const load = loaders[name];
    if (!load) throw new Error(`unknown protocol ${name}`);
    p = await load();
    loaded.set(name, p);
  }
  return p;
}
