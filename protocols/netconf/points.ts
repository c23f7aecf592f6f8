/**
 * XML data trees → TelemetryPoints. Leaves become canonical paths (core/path.ts,
 * the same function gNMI uses) with list keys taken from a built-in table for
 * common models or from the profile. Numeric leaves are numbers, others text.
 */
import { formatPath, type PathElem } from '../../core/path';
import type { TelemetryPoint } from '../../core/point';
import type { XmlNode } from './xml';

/** Namespaces of the models in the built-in key table. */
export const NS = {
  ietfInterfaces: 'urn:ietf:params:xml:ns:yang:ietf-interfaces',
  ietfIp: 'urn:ietf:params:xml:ns:yang:ietf-ip',
  ietfSystem: 'urn:ietf:params:xml:ns:yang:ietf-system',
  ocInterfaces: 'http://openconfig.net/yang/interfaces',
  ocPlatform: 'http://openconfig.net/yang/platform',
  ocNetworkInstance: 'http://openconfig.net/yang/network-instance',
  ocBgp: 'http://openconfig.net/yang/bgp',
} as const;

/** One entry of the key table: a list (by namespace and local name) and its key leaves. */
export interface ListKeyEntry {
  ns?: string;
  list: string;
  keys: string[];
}

/** List keys of common models; a list without a namespace matches any namespace. */
export const BUILTIN_LIST_KEYS: readonly ListKeyEntry[] = [
  // ietf-interfaces (RFC 8343), both NMDA and the deprecated -state tree
  { ns: NS.ietfInterfaces, list: 'interface', keys: ['name'] },
  // ietf-ip (RFC 8344)
  { ns: NS.ietfIp, list: 'address', keys: ['ip'] },
  { ns: NS.ietfIp, list: 'neighbor', keys: ['ip'] },
  // ietf-system (RFC 7317)
  { ns: NS.ietfSystem, list: 'server', keys: ['name'] },
  { ns: NS.ietfSystem, list: 'user', keys: ['name'] },
  { ns: NS.ietfSystem, list: 'authorized-key', keys: ['name'] },
  { ns: NS.ietfSystem, list: 'search', keys: ['name'] },
  // openconfig-interfaces and friends
  { ns: NS.ocInterfaces, list: 'interface', keys: ['name'] },
  { ns: NS.ocInterfaces, list: 'subinterface', keys: ['index'] },
  { list: 'address', keys: ['ip'] },
  { ns: NS.ocPlatform, list: 'component', keys: ['name'] },
  { ns: NS.ocNetworkInstance, list: 'network-instance', keys: ['name'] },
  { ns: NS.ocNetworkInstance, list: 'protocol', keys: ['identifier', 'name'] },
  { ns: NS.ocBgp, list: 'neighbor', keys: ['neighbor-address'] },
  { ns: NS.ocBgp, list: 'afi-safi', keys: ['afi-safi-name'] },
  // models whose namespace varies by vendor but whose key is conventional
  { list: 'interface', keys: ['name'] },
  { list: 'component', keys: ['name'] },
];

/** Finds the key leaves of a list node. */
export type KeyLookup = (node: Pick<XmlNode, 'name' | 'ns'>) => string[] | undefined;

/** Build the key lookup: profile entries (by local name) win over the built-in table. */
export function listKeyLookup(profileKeys: Record<string, string[]> = {}, table: readonly ListKeyEntry[] = BUILTIN_LIST_KEYS): KeyLookup {
  const exact = new Map<string, string[]>();
  const byName = new Map<string, string[]>();
  for (const e of table) {
    if (e.ns) exact.set(`${e.ns} ${e.list}`, e.keys);
    else if (!byName.has(e.list)) byName.set(e.list, e.keys);
  }
  const fromProfile = new Map(Object.entries(profileKeys));
  return (node) => fromProfile.get(node.name) ?? exact.get(`${node.ns} ${node.name}`) ?? byName.get(node.name);
}

const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$/;

/** Leaf text → point value: integers and decimals become numbers (exact text kept beyond 2^53), others stay text. */
export function leafValue(text: string): Pick<TelemetryPoint, 'value' | 'exact'> {
  if (INTEGER.test(text)) {
    const n = Number(text);
    if (Number.isSafeInteger(n)) return { value: n };
    return { value: n, exact: BigInt(text).toString() };
  }
  if (DECIMAL.test(text) && text.length <= 40) return { value: Number(text) };
  return { value: text };
}

/** Options of treeToPoints. */
export interface TreeToPointsOptions {
  deviceId: number;
  timestamp: number;
  keys: KeyLookup;
  /** Path of the parent of `nodes` (yang-patch targets). */
  prefix?: PathElem[];
  /** Called once per list entry whose keys are missing (counted by the caller). */
  onUnkeyed?: (path: string) => void;
}

/**
 * Turn data nodes into points. Key leaves go into the path, not out as points;
 * elements with neither children nor text (empty leaves, empty containers) are skipped.
 */
export function treeToPoints(nodes: readonly XmlNode[], opts: TreeToPointsOptions): TelemetryPoint[] {
  const out: TelemetryPoint[] = [];
  const walk = (node: XmlNode, parent: PathElem[], siblings: readonly XmlNode[]) => {
    if (node.children.length === 0) {
      if (node.text === '') return;
      out.push({ deviceId: opts.deviceId, path: formatPath({ elems: [...parent, { name: node.name }] }), timestamp: opts.timestamp, ...leafValue(node.text) });
      return;
    }
    let keyNames = opts.keys(node);
    if (!keyNames) {
      // An unknown list: repeated siblings with a `name` leaf are keyed by it.
      const repeated = siblings.some((s) => s !== node && s.name === node.name && s.ns === node.ns);
      if (repeated && node.children.some((c) => c.name === 'name' && c.children.length === 0)) keyNames = ['name'];
      else if (repeated) opts.onUnkeyed?.(formatPath({ elems: [...parent, { name: node.name }] }));
    }
    const elem: PathElem = { name: node.name };
    let keySet: Set<string> | undefined;
    if (keyNames && keyNames.length > 0) {
      const keys: Record<string, string> = {};
      for (const k of keyNames) {
        const leaf = node.children.find((c) => c.name === k && c.children.length === 0);
        if (leaf) keys[k] = leaf.text;
      }
      if (Object.keys(keys).length > 0) {
        elem.keys = keys;
        keySet = new Set(Object.keys(keys));
      } else {
        // A container whose name matches a list elsewhere (no key leaves here).
        keySet = undefined;
      }
    }
    const path = [...parent, elem];
    for (const c of node.children) {
      if (keySet && c.children.length === 0 && keySet.has(c.name)) continue;
      walk(c, path, node.children);
    }
  };
  const prefix = opts.prefix ?? [];
  for (const n of nodes) walk(n, prefix, nodes);
  return out;
}
