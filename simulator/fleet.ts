/**
 * A fleet of simulated switches in one process: gNMI targets and NETCONF
 * servers, a port each, plus a small HTTP control surface for listing devices
 * and injecting faults. The default demo, the load generator and the test peer.
 */
import http from 'node:http';
import path from 'node:path';
import { SimDevice } from './model';
import { startGnmiTarget } from './gnmi/target';
import type { GnmiGenerator } from './gnmi/templates';

/** One simulated device in the fleet. */
export interface FleetMember {
  name: string;
  protocol: 'gnmi' | 'netconf';
  host: string;
  port: number;
  device: SimDevice;
  /** Fault-injection methods of the protocol server. */
  faults: Record<string, unknown>;
  /** NETCONF only: the server's host-key fingerprint. */
  hostKeySha256?: string;
  close(): Promise<void>;
}

/** Fleet settings. */
export interface FleetOptions {
  host?: string;
  gnmiCount?: number;
  gnmiBasePort?: number;
  netconfCount?: number;
  netconfBasePort?: number;
  interfaces?: number;
  /** How gNMI targets encode their streams (default realistic; `templates` for capacity benchmarks). */
  gnmiGenerator?: GnmiGenerator;
  /** Where NETCONF host keys are kept (generated on first run). */
  keyDir?: string;
  /** Port of the HTTP control surface; undefined = none, 0 = ephemeral. */
  controlPort?: number;
  /** Credentials every simulated device accepts. */
  username?: string;
  password?: string;
  namePrefix?: string;
}

/** A running fleet. */
export interface Fleet {
  members: FleetMember[];
  controlPort?: number;
  close(): Promise<void>;
}

/** Default credentials of simulated devices (lab only). */
export const SIM_USERNAME = 'admin';
export const SIM_PASSWORD = 'admin';

/** Start a fleet; ports are base + index (0 as base = ephemeral ports). */
export async function startFleet(opts: FleetOptions = {}): Promise<Fleet> {
  const host = opts.host ?? '127.0.0.1';
  const prefix = opts.namePrefix ?? 'sim';
  const members: FleetMember[] = [];
  const username = opts.username ?? SIM_USERNAME;
  const password = opts.password ?? SIM_PASSWORD;
  try {
    for (let i = 0; i < (opts.gnmiCount ?? 3); i++) {
      const name = `${prefix}-gnmi-${i + 1}`;
      const device = new SimDevice({ name, interfaces: opts.interfaces ?? 8 });
      const port = opts.gnmiBasePort ? opts.gnmiBasePort + i : 0;
      const target = await startGnmiTarget({ device, host, port, auth: { username, password }, generator: opts.gnmiGenerator });
      members.push({ name, protocol: 'gnmi', host, port: target.port, device, faults: target.faults as unknown as Record<string, unknown>, close: target.close });
    }
    const netconfCount = opts.netconfCount ?? 0;
    if (netconfCount > 0) {
      const { startNetconfServer } = await import('./netconf/server');
      for (let i = 0; i < netconfCount; i++) {
        const name = `${prefix}-netconf-${i + 1}`;
        const device = new SimDevice({ name, interfaces: opts.interfaces ?? 8 });
        const port = opts.netconfBasePort ? opts.netconfBasePort + i : 0;
        const server = await startNetconfServer({
          device,
          host,
          port,
          hostKeyFile: opts.keyDir ? path.join(opts.keyDir, `${name}.key`) : undefined,
          users: [{ username, password }],
          // Odd-numbered servers are NMDA devices, even-numbered ones pre-NMDA (ietf-interfaces 2014-05-08).
          nmda: i % 2 === 0,
        });
        members.push({
          name,
          protocol: 'netconf',
          host,
          port: server.port,
          device,
          faults: server.faults as unknown as Record<string, unknown>,
          hostKeySha256: server.hostKeySha256,
          close: server.close,
        });
      }
    }
  } catch (err) {
    await Promise.allSettled(members.map((m) => m.close()));
    throw err;
  }
  let control: http.Server | undefined;
  if (opts.controlPort !== undefined) {
    control = http.createServer((req, res) => handleControl(members, req, res));
    await new Promise<void>((resolve, reject) => {
      control!.once('error', reject);
      control!.listen(opts.controlPort, host, () => resolve());
    });
  }
  return {
    members,
    controlPort: control ? (control.address() as { port: number }).port : undefined,
    async close() {
      control?.close();
      await Promise.allSettled(members.map((m) => m.close()));
    },
  };
}

/** JSON view of a member (no internals). */
export function describeMember(m: FleetMember) {
  return { name: m.name, protocol: m.protocol, host: m.host, port: m.port, hostKeySha256: m.hostKeySha256, faults: Object.keys(faultMethods(m)) };
}

function faultMethods(m: FleetMember): Record<string, (...args: unknown[]) => unknown> {
  const out: Record<string, (...args: unknown[]) => unknown> = {};
  let proto: object | null = m.faults;
  while (proto && proto !== Object.prototype) {
    for (const key of Object.getOwnPropertyNames(proto)) {
      const v = (m.faults as Record<string, unknown>)[key];
      if (key !== 'constructor' && typeof v === 'function') out[key] = (v as (...a: unknown[]) => unknown).bind(m.faults);
    }
    proto = Object.getPrototypeOf(proto);
  }
  return out;
}

/**
 * Why a control request must be refused, or undefined. A web page on any site
 * could otherwise post to this port on the operator's machine (a "simple"
 * cross-site request needs no CORS preflight): requests from a browser page of
 * another origin (Origin / Sec-Fetch-Site) are refused, and a POST must declare
 * a JSON body, which a cross-site form cannot send without a preflight that this
 * server never grants.
 */
export function controlRequestRefusal(req: Pick<http.IncomingMessage, 'method' | 'headers'>): { status: number; error: string } | undefined {
  const site = req.headers['sec-fetch-site'];
  if (site && site !== 'same-origin' && site !== 'none') return { status: 403, error: 'cross-site request refused' };
  const origin = req.headers.origin;
  if (origin !== undefined) {
    let same = false;
    try {
      same = new URL(origin).host === req.headers.host;
    } catch {
      // "null" or garbage: not the same origin
    }
    if (!same) return { status: 403, error: 'cross-site request refused' };
  }
  if (req.method === 'POST') {
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (type !== 'application/json') return { status: 415, error: 'send the body as application/json' };
  }
  return undefined;
}

/**
 * GET  /devices                          → the fleet
 * POST /devices/<name>/faults/<method>   → call a fault method; JSON body `{"args": [...]}`
 *                                           (Content-Type: application/json; no cross-site requests)
 */
function handleControl(members: FleetMember[], req: http.IncomingMessage, res: http.ServerResponse) {
  const reply = (status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const refusal = controlRequestRefusal(req);
  if (refusal) {
    req.resume(); // discard any body
    return reply(refusal.status, { error: refusal.error });
  }
  const url = new URL(req.url ?? '/', 'http://x');
  if (req.method === 'GET' && url.pathname === '/devices') return reply(200, members.map(describeMember));
  const m = /^\/devices\/([^/]+)\/faults\/([A-Za-z]+)$/.exec(url.pathname);
  if (req.method === 'POST' && m) {
    const member = members.find((x) => x.name === decodeURIComponent(m[1]));
    if (!member) return reply(404, { error: `no simulated device ${m[1]}` });
    const method = faultMethods(member)[m[2]];
    if (!method) return reply(404, { error: `unknown fault ${m[2]}; try one of ${Object.keys(faultMethods(member)).join(', ')}` });
    let body = '';
    req.on('data', (c) => {
      body += c;
      if (body.length > 65536) req.destroy();
    });
    req.on('end', () => {
      try {
        const args = body ? (JSON.parse(body).args ?? []) : [];
        Promise.resolve(method(...args)).then(
          (result) => reply(200, { ok: true, result: result ?? null }),
          (err: Error) => reply(500, { error: err.message }),
        );
      } catch (err) {
        reply(400, { error: `bad JSON body: ${(err as Error).message}` });
      }
    });
    return;
  }
  reply(404, { error: 'not found' });
}
