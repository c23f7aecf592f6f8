/**
 * Safe XML parsing for NETCONF messages: untrusted bytes in, a small namespaced
 * element tree out. A DOCTYPE is refused before the parser sees the text, no
 * entity beyond the five XML built-ins (and character references) is expanded,
 * and nesting depth is capped. Also the one XML writer helper (escaping).
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';

/** One element: local name, resolved namespace URI, attributes, children, text. */
export interface XmlNode {
  name: string;
  ns: string;
  /** Attributes by qualified name as written (xmlns declarations excluded). */
  attrs: Record<string, string>;
  children: XmlNode[];
  /** Text content, trimmed; '' for elements with only children. */
  text: string;
  /** Prefix → namespace URI in scope at this element (identityref values, XPath). */
  scope: ReadonlyMap<string, string>;
}

/** Why a message was refused. */
export type XmlErrorCode = 'DOCTYPE' | 'ENTITY' | 'DEPTH' | 'MALFORMED';

/** A refused or malformed XML document. */
export class XmlSafetyError extends Error {
  constructor(readonly code: XmlErrorCode, details: string) {
    super(`${code}: ${details}`);
    this.name = 'XmlSafetyError';
  }
}

/** Default nesting cap; YANG data rarely passes 20 levels. */
export const DEFAULT_MAX_DEPTH = 64;

const BUILTIN_ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
const REFERENCE = /&([^;&\s]{0,32});/g;

/** Replace the five built-in entities and character references; anything else is refused. */
export function decodeEntities(raw: string): string {
  if (raw.indexOf('&') < 0) return raw;
  const out = raw.replace(REFERENCE, (_m, name: string) => {
    const builtin = BUILTIN_ENTITIES[name];
    if (builtin !== undefined) return builtin;
    const m = /^#(?:x([0-9a-fA-F]{1,6})|([0-9]{1,7}))$/.exec(name);
    if (m) {
      const cp = m[1] !== undefined ? parseInt(m[1], 16) : parseInt(m[2], 10);
      const legal = cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
      if (!legal) throw new XmlSafetyError('ENTITY', `illegal character reference &${name};`);
      return String.fromCodePoint(cp);
    }
    throw new XmlSafetyError('ENTITY', `undeclared entity &${name.slice(0, 32)};`);
  });
  if (/&(?![^;&\s]{0,32};)/.test(raw)) throw new XmlSafetyError('ENTITY', 'bare & in text');
  return out;
}

/** Escape text for element content or a double-quoted attribute. */
export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&${c === '<' ? 'lt' : c === '>' ? 'gt' : c === '&' ? 'amp' : c === '"' ? 'quot' : 'apos'};`);
}

function makeParser(maxDepth: number): XMLParser {
  return new XMLParser({
    preserveOrder: true,
    ignoreAttributes: false,
    attributeNamePrefix: '',
    parseTagValue: false,
    parseAttributeValue: false,
    trimValues: true,
    // Entities are decoded by decodeEntities() below, which knows only the built-ins.
    processEntities: false,
    cdataPropName: '__cdata',
    htmlEntities: false,
    ignoreDeclaration: true,
    ignorePiTags: true,
    maxNestedTags: maxDepth,
  });
}

const parsers = new Map<number, XMLParser>();

type Ordered = Record<string, unknown> & { ':@'?: Record<string, string> };

/**
 * Parse one XML document into its root element. Throws XmlSafetyError for a
 * DOCTYPE / ENTITY declaration, an unknown entity, nesting deeper than maxDepth,
 * or text that is not well-formed.
 */
export function parseXml(text: string, opts: { maxDepth?: number } = {}): XmlNode {
  const maxDepth = opts.maxDepth ?? DEFAULT_MAX_DEPTH;
  // Refused before parsing: no DTD means no entity can be declared, so none can expand.
  if (/<!DOCTYPE|<!ENTITY|<!ELEMENT|<!ATTLIST/i.test(text)) throw new XmlSafetyError('DOCTYPE', 'document type declarations are not accepted');
  const valid = XMLValidator.validate(text, { allowBooleanAttributes: false });
  if (valid !== true) throw new XmlSafetyError('MALFORMED', `${valid.err.msg} (line ${valid.err.line}, col ${valid.err.col})`);
  let parser = parsers.get(maxDepth);
  if (!parser) parsers.set(maxDepth, (parser = makeParser(maxDepth)));
  let ordered: Ordered[];
  try {
    ordered = parser.parse(text) as Ordered[];
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    if (/nested/i.test(msg)) throw new XmlSafetyError('DEPTH', `nesting deeper than ${maxDepth}`);
    throw new XmlSafetyError('MALFORMED', msg);
  }
  const roots = ordered.filter((o) => elementName(o) !== undefined);
  if (roots.length !== 1) throw new XmlSafetyError('MALFORMED', `expected one root element, found ${roots.length}`);
  return convert(roots[0], new Map([['xml', 'http://www.w3.org/XML/1998/namespace']]), '', 1, maxDepth);
}

function elementName(o: Ordered): string | undefined {
  for (const k of Object.keys(o)) if (k !== ':@' && k !== '#text' && k !== '#comment' && k !== '__cdata') return k;
  return undefined;
}

function convert(o: Ordered, parentScope: ReadonlyMap<string, string>, parentDefault: string, depth: number, maxDepth: number): XmlNode {
  if (depth > maxDepth) throw new XmlSafetyError('DEPTH', `nesting deeper than ${maxDepth}`);
  const qname = elementName(o)!;
  const rawAttrs = o[':@'] ?? {};
  let scope = parentScope;
  let defaultNs = parentDefault;
  const attrs: Record<string, string> = {};
  for (const [k, v] of Object.entries(rawAttrs)) {
    const value = decodeEntities(String(v));
    if (k === 'xmlns') defaultNs = value;
    else if (k.startsWith('xmlns:')) {
      if (scope === parentScope) scope = new Map(parentScope);
      (scope as Map<string, string>).set(k.slice(6), value);
    } else attrs[k] = value;
  }
  const colon = qname.indexOf(':');
  const prefix = colon >= 0 ? qname.slice(0, colon) : '';
  const name = colon >= 0 ? qname.slice(colon + 1) : qname;
  let ns = defaultNs;
  if (prefix) {
    const bound = scope.get(prefix);
    if (bound === undefined) throw new XmlSafetyError('MALFORMED', `unbound namespace prefix '${prefix}'`);
    ns = bound;
  }
  const node: XmlNode = { name, ns, attrs, children: [], text: '', scope: defaultNs ? withDefault(scope, defaultNs) : scope };
  let text = '';
  for (const child of (o[qname] as Ordered[]) ?? []) {
    if ('#text' in child) text += decodeEntities(String(child['#text']));
    else if ('__cdata' in child) for (const t of child.__cdata as Ordered[]) text += String(t['#text'] ?? '');
    else if (elementName(child) !== undefined) node.children.push(convert(child, scope, defaultNs, depth + 1, maxDepth));
  }
  node.text = node.children.length > 0 ? '' : text.trim();
  return node;
}

function withDefault(scope: ReadonlyMap<string, string>, defaultNs: string): ReadonlyMap<string, string> {
  if (scope.get('') === defaultNs) return scope;
  const m = new Map(scope);
  m.set('', defaultNs);
  return m;
}

/** First child with this local name (and namespace, when given). */
export function child(node: XmlNode | undefined, name: string, ns?: string): XmlNode | undefined {
  return node?.children.find((c) => c.name === name && (ns === undefined || c.ns === ns));
}

/** Every child with this local name. */
export function childrenNamed(node: XmlNode | undefined, name: string, ns?: string): XmlNode[] {
  return node ? node.children.filter((c) => c.name === name && (ns === undefined || c.ns === ns)) : [];
}
