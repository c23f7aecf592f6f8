/**
 * RFC 6241 §6 subtree filtering applied by the collector to a reply it already
 * received: a server that ignores the filter (or filters loosely) returns more
 * than was asked for, and that extra data is skipped here and counted rather
 * than stored as series nobody chose (ADR 023). Pure code over parsed XML.
 */
import type { KeyLookup } from './points';
import { escapeXml, parseXml, type XmlNode } from './xml';

/** The filter's top nodes, parsed from a profile's subtree filter text. */
export function parseSubtreeFilterNodes(filter: string): XmlNode[] {
  return parseXml(`<filter>${filter}</filter>`).children;
}

const isContentMatch = (f: XmlNode) => f.children.length === 0 && f.text !== '';
/** A filter node without a namespace matches the name in any namespace. */
const sameNode = (d: XmlNode, f: XmlNode) => d.name === f.name && (f.ns === '' || f.ns === d.ns);

/**
 * The part of `data` the subtree filter selects (new nodes; `data` is untouched).
 * List keys (by `keys`) come along with any selected descendant of their entry, as servers send them.
 */
export function selectSubtree(data: readonly XmlNode[], filter: readonly XmlNode[], keys: KeyLookup): XmlNode[] {
  const out: XmlNode[] = [];
  for (const d of data) {
    for (const f of filter) {
      if (!sameNode(d, f)) continue;
      const m = matchNode(d, f, keys);
      if (m) {
        out.push(m);
        break;
      }
    }
  }
  return out;
}

function matchNode(d: XmlNode, f: XmlNode, keys: KeyLookup): XmlNode | undefined {
  if (f.children.length === 0) {
    if (f.text === '') return d; // selection node: everything below
    return d.children.length === 0 && d.text === f.text ? d : undefined; // content match on a leaf
  }
  if (d.children.length === 0) return undefined;
  const contentMatches = f.children.filter(isContentMatch);
  for (const cm of contentMatches) {
    if (!d.children.some((c) => sameNode(c, cm) && c.children.length === 0 && c.text === cm.text)) return undefined;
  }
  const others = f.children.filter((c) => !isContentMatch(c));
  if (others.length === 0) return d; // only content matches: the whole entry
  const keyNames = new Set(keys(d) ?? []);
  const kids: XmlNode[] = [];
  let selected = 0;
  for (const c of d.children) {
    const cf = others.find((o) => sameNode(c, o));
    const m = cf ? matchNode(c, cf, keys) : undefined;
    if (m) {
      kids.push(m);
      selected++;
    } else if (c.children.length === 0 && (keyNames.has(c.name) || contentMatches.some((cm) => sameNode(c, cm)))) kids.push(c);
  }
  if (selected === 0) return undefined;
  return { ...d, children: kids };
}

/** Leaves with a value (what treeToPoints turns into points, key leaves included). */
export function countLeaves(nodes: readonly XmlNode[]): number {
  let n = 0;
  const walk = (x: XmlNode) => {
    if (x.children.length === 0) {
      if (x.text !== '') n++;
      return;
    }
    for (const c of x.children) walk(c);
  };
  for (const x of nodes) walk(x);
  return n;
}

/**
 * The filter with the key leaves of known lists added as selection nodes wherever it selects
 * inside list entries without naming their keys: servers that follow the filter to the letter
 * (python `netconf` 2.1.0) otherwise return entries without keys, whose leaves cannot be told
 * apart. Returns the text unchanged when nothing is missing.
 */
export function withListKeys(filter: string, keys: KeyLookup): string {
  const nodes = parseSubtreeFilterNodes(filter);
  let added = false;
  const walk = (n: XmlNode) => {
    const others = n.children.filter((c) => !isContentMatch(c));
    const keyNames = others.length > 0 ? keys(n) : undefined;
    for (const k of keyNames ?? []) {
      if (n.children.some((c) => c.name === k)) continue;
      n.children.unshift({ name: k, ns: n.ns, attrs: {}, children: [], text: '', scope: n.scope });
      added = true;
    }
    for (const c of others) walk(c);
  };
  nodes.forEach(walk);
  return added ? nodes.map((n) => serialize(n, '', new Map())).join('') : filter;
}

/** XML text of a parsed node, declaring namespaces and prefixes where they change. */
function serialize(n: XmlNode, parentNs: string, parentScope: ReadonlyMap<string, string>): string {
  let attrs = n.ns !== parentNs ? ` xmlns="${escapeXml(n.ns)}"` : '';
  for (const [p, uri] of n.scope) if (p !== '' && p !== 'xml' && parentScope.get(p) !== uri) attrs += ` xmlns:${p}="${escapeXml(uri)}"`;
  for (const [k, v] of Object.entries(n.attrs)) attrs += ` ${k}="${escapeXml(v)}"`;
  const body = n.children.length > 0 ? n.children.map((c) => serialize(c, n.ns, n.scope)).join('') : escapeXml(n.text);
  return `<${n.name}${attrs}>${body}</${n.name}>`;
}
