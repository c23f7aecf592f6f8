/**
 * The simulated device as YANG data for NETCONF: ietf-interfaces (the legacy
 * interfaces-state tree, and on an NMDA device also the RFC 8343 `/interfaces`
 * tree with statistics under each interface), ietf-system system-state and a
 * small system-health subtree; a small running configuration for get-config;
 * RFC 6241 subtree filtering, a tiny XPath subset, XML output, and the
 * flattened leaf view that on-change subscriptions diff.
 */
import { escapeXml, type XmlNode } from '../../protocols/netconf/xml';
import type { SimDevice } from '../model';

/** Namespaces and module names of the served models. */
export const MODELS = {
  interfaces: { ns: 'urn:ietf:params:xml:ns:yang:ietf-interfaces', module: 'ietf-interfaces' },
  system: { ns: 'urn:ietf:params:xml:ns:yang:ietf-system', module: 'ietf-system' },
  health: { ns: 'urn:switch-telemetry:yang:sim-system-health', module: 'sim-system-health' },
  ianaIfType: { ns: 'urn:ietf:params:xml:ns:yang:iana-if-type', module: 'iana-if-type' },
} as const;

/** One data node; list entries mark their key leaves. */
export interface DataNode {
  name: string;
  ns: string;
  text?: string;
  children?: DataNode[];
  /** This leaf is a key of its parent list entry. */
  key?: boolean;
}

const leaf = (ns: string, name: string, value: unknown, key = false): DataNode => ({ name, ns, text: String(value), ...(key ? { key } : {}) });

/** Which ietf-interfaces trees a device serves: `nmda` adds RFC 8343's `/interfaces` (config and state) beside `/interfaces-state`. */
export interface DataOptions {
  nmda?: boolean;
}

/** The device's operational data right now (every tree it serves, config true and false). */
export function deviceData(device: SimDevice, bootTime: number, opts: DataOptions = {}): DataNode[] {
  device.advance();
  const I = MODELS.interfaces.ns;
  const state = (itf: SimDevice['interfaces'][number]): DataNode[] => [
    leaf(I, 'admin-status', itf.adminUp ? 'up' : 'down'),
    leaf(I, 'oper-status', itf.operUp ? 'up' : 'down'),
    leaf(I, 'speed', itf.speed),
    {
      name: 'statistics',
      ns: I,
      children: [
        leaf(I, 'discontinuity-time', new Date(bootTime).toISOString()),
        leaf(I, 'in-octets', itf.inOctets),
        leaf(I, 'in-unicast-pkts', itf.inUnicastPkts),
        leaf(I, 'in-discards', itf.inDiscards),
        leaf(I, 'in-errors', itf.inErrors),
        leaf(I, 'out-octets', itf.outOctets),
        leaf(I, 'out-unicast-pkts', itf.outUnicastPkts),
        leaf(I, 'out-errors', itf.outErrors),
      ],
    },
  ];
  const interfaces: DataNode = {
    name: 'interfaces-state',
    ns: I,
    children: device.interfaces.map((itf) => ({
      name: 'interface',
      ns: I,
      children: [leaf(I, 'name', itf.name, true), leaf(I, 'type', 'ianaift:ethernetCsmacd'), ...state(itf)],
    })),
  };
  // RFC 8343 (NMDA): one /interfaces list carrying configuration and state together.
  const nmdaInterfaces: DataNode = {
    name: 'interfaces',
    ns: I,
    children: device.interfaces.map((itf, i) => ({
      name: 'interface',
      ns: I,
      children: [...interfaceConfig(itf, i), ...state(itf)],
    })),
  };
  const S = MODELS.system.ns;
  const system: DataNode = {
    name: 'system-state',
    ns: S,
    children: [
      { name: 'platform', ns: S, children: [leaf(S, 'os-name', 'SimOS'), leaf(S, 'os-release', '1.0'), leaf(S, 'machine', 'x86_64')] },
      { name: 'clock', ns: S, children: [leaf(S, 'current-datetime', new Date().toISOString()), leaf(S, 'boot-datetime', new Date(bootTime).toISOString())] },
    ],
  };
  const H = MODELS.health.ns;
  const health: DataNode = {
    name: 'system-health',
    ns: H,
    children: [
      leaf(H, 'cpu-utilization', Math.round(device.cpuPercent * 10) / 10),
      leaf(H, 'memory-physical', Math.round(device.memoryTotal)),
      leaf(H, 'memory-used', Math.round(device.memoryUsed)),
      leaf(H, 'temperature', Math.round(device.temperatureC * 10) / 10),
    ],
  };
  return opts.nmda ? [nmdaInterfaces, interfaces, system, health] : [interfaces, system, health];
}

function interfaceConfig(itf: SimDevice['interfaces'][number], index: number): DataNode[] {
  const I = MODELS.interfaces.ns;
  return [
    leaf(I, 'name', itf.name, true),
    leaf(I, 'description', `simulated port ${index + 1}`),
    leaf(I, 'type', 'ianaift:ethernetCsmacd'),
    leaf(I, 'enabled', itf.adminUp ? 'true' : 'false'),
  ];
}

/** The running configuration (get-config, get-data on ds:running): interfaces and the host name. */
export function configData(device: SimDevice): DataNode[] {
  const I = MODELS.interfaces.ns;
  const S = MODELS.system.ns;
  return [
    { name: 'interfaces', ns: I, children: device.interfaces.map((itf, i) => ({ name: 'interface', ns: I, children: interfaceConfig(itf, i) })) },
    { name: 'system', ns: S, children: [leaf(S, 'hostname', device.name), leaf(S, 'contact', 'lab@example.net'), leaf(S, 'location', 'simulator')] },
  ];
}

/** Serialise nodes; a namespace is declared where it changes. */
export function toXml(nodes: readonly DataNode[], parentNs = ''): string {
  let out = '';
  for (const n of nodes) {
    let attrs = n.ns !== parentNs ? ` xmlns="${escapeXml(n.ns)}"` : '';
    if (n.text?.startsWith('ianaift:')) attrs += ` xmlns:ianaift="${MODELS.ianaIfType.ns}"`;
    if (n.children) out += `<${n.name}${attrs}>${toXml(n.children, n.ns)}</${n.name}>`;
    else out += `<${n.name}${attrs}>${escapeXml(n.text ?? '')}</${n.name}>`;
  }
  return out;
}

/** A filter the simulator cannot evaluate (answered with rpc-error invalid-value). */
export class UnsupportedFilterError extends Error {}

/** RFC 6241 §6 subtree filtering over data siblings. */
export function applySubtreeFilter(data: readonly DataNode[], filter: readonly XmlNode[]): DataNode[] {
  return [...filterSiblings(data, filter).values()];
}

/** Data node → its filtered copy, for the data siblings the filter selects (in data order). */
function filterSiblings(data: readonly DataNode[], filter: readonly XmlNode[]): Map<DataNode, DataNode> {
  const out = new Map<DataNode, DataNode>();
  for (const d of data) {
    for (const f of filter) {
      if (f.name !== d.name || (f.ns !== '' && f.ns !== d.ns)) continue;
      const m = matchNode(d, f);
      if (m) {
        out.set(d, m);
        break;
      }
    }
  }
  return out;
}

const isContentMatch = (f: XmlNode) => f.children.length === 0 && f.text !== '';

function matchNode(d: DataNode, f: XmlNode): DataNode | undefined {
  if (f.children.length === 0) {
    if (f.text === '') return d; // selection node
    return d.children === undefined && d.text === f.text ? d : undefined; // content match
  }
  if (!d.children) return undefined;
  const contentMatches = f.children.filter(isContentMatch);
  for (const cm of contentMatches) {
    if (!d.children.some((c) => c.name === cm.name && !c.children && c.text === cm.text)) return undefined;
  }
  const others = f.children.filter((c) => !isContentMatch(c));
  // Only content matches: the whole entry is selected.
  if (others.length === 0) return d;
  const selected = filterSiblings(d.children, others);
  if (selected.size === 0) return undefined;
  const matchedNames = new Set(contentMatches.map((c) => c.name));
  // Key leaves and content-match leaves come along with what was selected.
  const kids = d.children.flatMap((c) => (selected.has(c) ? [selected.get(c)!] : c.key || matchedNames.has(c.name) ? [c] : []));
  return { ...d, children: kids };
}

/**
 * The XPath subset the simulator understands: an absolute location path of
 * (optionally prefixed) names with `[name='value']` predicates, turned into the
 * equivalent subtree filter. Anything else is refused.
 */
export function xpathToFilter(xpath: string, scope: ReadonlyMap<string, string>): XmlNode[] {
  const expr = xpath.trim();
  if (expr === '/' || expr === '') return [];
  if (!expr.startsWith('/') || expr.startsWith('//')) throw new UnsupportedFilterError(`unsupported XPath: ${xpath}`);
  const step = /^\/([A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)((?:\[\s*(?:[A-Za-z_][\w.-]*:)?[A-Za-z_][\w.-]*\s*=\s*(?:'[^']*'|"[^"]*")\s*\])*)/;
  let rest = expr;
  const root: XmlNode = { name: 'filter', ns: '', attrs: {}, children: [], text: '', scope };
  let at = root;
  while (rest.length > 0) {
    const m = step.exec(rest);
    if (!m) throw new UnsupportedFilterError(`unsupported XPath: ${xpath}`);
    const prefix = m[1]?.slice(0, -1);
    const ns = prefix ? scope.get(prefix) : '';
    if (ns === undefined) throw new UnsupportedFilterError(`unknown prefix ${prefix} in XPath`);
    const node: XmlNode = { name: m[2], ns, attrs: {}, children: [], text: '', scope };
    for (const p of m[3].matchAll(/\[\s*(?:[A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)\s*=\s*(?:'([^']*)'|"([^"]*)")\s*\]/g)) {
      node.children.push({ name: p[1], ns: '', attrs: {}, children: [], text: p[2] ?? p[3], scope });
    }
    at.children.push(node);
    at = node;
    rest = rest.slice(m[0].length);
  }
  return root.children;
}

/** A leaf with its RESTCONF-style target (for yang-patch) and value. */
export interface FlatLeaf {
  target: string;
  name: string;
  ns: string;
  value: string;
}

/** Flatten data into leaves keyed by target, e.g. `/ietf-interfaces:interfaces-state/interface=Ethernet1/oper-status`. */
export function flattenLeaves(nodes: readonly DataNode[]): Map<string, FlatLeaf> {
  const out = new Map<string, FlatLeaf>();
  const moduleOf = (ns: string) => Object.values(MODELS).find((m) => m.ns === ns)?.module ?? ns;
  const walk = (n: DataNode, prefix: string, parentNs: string) => {
    let seg = n.ns !== parentNs ? `${moduleOf(n.ns)}:${n.name}` : n.name;
    if (!n.children) {
      if (!n.key) out.set(`${prefix}/${seg}`, { target: `${prefix}/${seg}`, name: n.name, ns: n.ns, value: n.text ?? '' });
      return;
    }
    const keys = n.children.filter((c) => c.key).map((c) => encodeURIComponent(c.text ?? ''));
    if (keys.length > 0) seg += '=' + keys.join(',');
    for (const c of n.children) walk(c, `${prefix}/${seg}`, n.ns);
  };
  for (const n of nodes) walk(n, '', '');
  return out;
}
