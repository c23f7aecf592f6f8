/**
 * NETCONF messages (RFC 6241, RFC 5277): building requests as XML text and
 * reading hellos, replies, rpc-errors and notifications from parsed trees.
 * Pure code, shared by the collector and the simulator.
 */
import { child, childrenNamed, escapeXml, parseXml, type XmlNode } from './xml';

/** Namespaces used on the wire. */
export const NETCONF_NS = {
  base: 'urn:ietf:params:xml:ns:netconf:base:1.0',
  notification: 'urn:ietf:params:xml:ns:netconf:notification:1.0',
  subscribed: 'urn:ietf:params:xml:ns:yang:ietf-subscribed-notifications',
  yangPush: 'urn:ietf:params:xml:ns:yang:ietf-yang-push',
  datastores: 'urn:ietf:params:xml:ns:yang:ietf-datastores',
  /** RFC 8526 `<get-data>`; its reply's `<data>` is in this namespace, not base:1.0. */
  nmda: 'urn:ietf:params:xml:ns:yang:ietf-netconf-nmda',
  interfaces: 'urn:ietf:params:xml:ns:yang:ietf-interfaces',
} as const;

/** First revision of ietf-interfaces with the NMDA `/interfaces` tree (RFC 8343); earlier ones are RFC 7223. */
export const IETF_INTERFACES_NMDA_REVISION = '2018-02-20';

/** Capability URIs. */
export const CAP = {
  base10: 'urn:ietf:params:netconf:base:1.0',
  base11: 'urn:ietf:params:netconf:base:1.1',
  notification: 'urn:ietf:params:netconf:capability:notification:1.0',
  interleave: 'urn:ietf:params:netconf:capability:interleave:1.0',
  xpath: 'urn:ietf:params:netconf:capability:xpath:1.0',
} as const;

/** Prefixes that XPath filters may use without declaring them. */
export const WELL_KNOWN_PREFIXES: Readonly<Record<string, string>> = {
  if: 'urn:ietf:params:xml:ns:yang:ietf-interfaces',
  'ietf-interfaces': 'urn:ietf:params:xml:ns:yang:ietf-interfaces',
  ip: 'urn:ietf:params:xml:ns:yang:ietf-ip',
  sys: 'urn:ietf:params:xml:ns:yang:ietf-system',
  'ietf-system': 'urn:ietf:params:xml:ns:yang:ietf-system',
  'oc-if': 'http://openconfig.net/yang/interfaces',
  'openconfig-interfaces': 'http://openconfig.net/yang/interfaces',
  'oc-platform': 'http://openconfig.net/yang/platform',
  health: 'urn:switch-telemetry:yang:sim-system-health',
};

/** A device's rpc-error, surfaced to the device status. */
export interface RpcError {
  type: string;
  tag: string;
  severity: string;
  message: string;
  appTag?: string;
  path?: string;
}

/** Render an rpc-error for humans: `tag (severity): message`. */
export function describeRpcError(e: RpcError): string {
  return `${e.tag} (${e.severity}${e.type ? ', ' + e.type : ''})${e.message ? ': ' + e.message : ''}${e.path ? ' at ' + e.path : ''}`;
}

/** The client or server hello. */
export function helloXml(capabilities: readonly string[], sessionId?: number): string {
  const caps = capabilities.map((c) => `<capability>${escapeXml(c)}</capability>`).join('');
  const sid = sessionId === undefined ? '' : `<session-id>${sessionId}</session-id>`;
  return `<?xml version="1.0" encoding="UTF-8"?><hello xmlns="${NETCONF_NS.base}"><capabilities>${caps}</capabilities>${sid}</hello>`;
}

/** Capabilities and session id of a received hello. */
export interface Hello {
  capabilities: string[];
  sessionId?: number;
}

/** Read a hello; undefined when the message is not one. */
export function readHello(node: XmlNode): Hello | undefined {
  if (node.name !== 'hello' || node.ns !== NETCONF_NS.base) return undefined;
  const caps = childrenNamed(child(node, 'capabilities'), 'capability').map((c) => c.text);
  const sid = child(node, 'session-id')?.text;
  return { capabilities: caps, sessionId: sid && /^\d+$/.test(sid) ? Number(sid) : undefined };
}

/** True when a capability list contains this URI (ignoring `?params`). */
export function hasCapability(caps: readonly string[], uri: string): boolean {
  return caps.some((c) => c === uri || c.startsWith(uri + '?'));
}

/** True when a module namespace is advertised (RFC 6020 module capability). */
export function advertisesModule(caps: readonly string[], namespace: string): boolean {
  return caps.some((c) => c === namespace || c.startsWith(namespace + '?'));
}

/** The `revision=` of an advertised module (RFC 6020 module capability), or undefined. */
export function moduleRevision(caps: readonly string[], namespace: string): string | undefined {
  for (const c of caps) {
    if (c !== namespace && !c.startsWith(namespace + '?')) continue;
    const m = /[?&]revision=(\d{4}-\d{2}-\d{2})/.exec(c);
    return m ? m[1] : undefined;
  }
  return undefined;
}

/** Wrap an operation in an rpc element. */
export function rpcXml(messageId: string, operation: string): string {
  return `<rpc xmlns="${NETCONF_NS.base}" message-id="${escapeXml(messageId)}">${operation}</rpc>`;
}

/** A filter as the operator wrote it. */
export interface FilterSpec {
  type: 'subtree' | 'xpath';
  filter: string;
}

/** Thrown when a filter cannot be sent (not well-formed subtree XML). */
export class FilterError extends Error {}

/** Check that a subtree filter is well-formed XML content, so it cannot break out of its element. */
export function checkSubtreeFilter(filter: string): void {
  try {
    parseXml(`<filter>${filter}</filter>`);
  } catch (err) {
    throw new FilterError(`subtree filter is not well-formed XML: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Namespace declarations for the well-known prefixes an XPath expression uses. */
export function xpathNamespaceDecls(xpath: string): string {
  const used = new Set<string>();
  for (const m of xpath.matchAll(/([A-Za-z_][\w.-]*):(?!:)/g)) used.add(m[1]);
  return [...used]
    .filter((p) => WELL_KNOWN_PREFIXES[p])
    .map((p) => ` xmlns:${p}="${WELL_KNOWN_PREFIXES[p]}"`)
    .join('');
}

/** A `<filter>` element (RFC 6241 §6 and the :xpath capability). */
export function filterXml(spec: FilterSpec, elementName = 'filter'): string {
  if (spec.type === 'subtree') {
    checkSubtreeFilter(spec.filter);
    return `<${elementName} type="subtree">${spec.filter}</${elementName}>`;
  }
  return `<${elementName} type="xpath" select="${escapeXml(spec.filter)}"${xpathNamespaceDecls(spec.filter)}/>`;
}

/** `<get>` with a filter. */
export function getXml(spec: FilterSpec): string {
  return `<get>${filterXml(spec)}</get>`;
}

/** RFC 8526 `<get-data>` on a datastore (default `ds:operational`) with a subtree or XPath filter. */
export function getDataXml(spec: FilterSpec, datastore = 'operational'): string {
  const nmda = NETCONF_NS.nmda;
  let f: string;
  if (spec.type === 'subtree') {
    checkSubtreeFilter(spec.filter);
    f = `<subtree-filter>${spec.filter}</subtree-filter>`;
  } else {
    f = `<xpath-filter${xpathNamespaceDecls(spec.filter)}>${escapeXml(spec.filter)}</xpath-filter>`;
  }
  return `<get-data xmlns="${nmda}" xmlns:ds="${NETCONF_NS.datastores}"><datastore>ds:${escapeXml(datastore)}</datastore>${f}</get-data>`;
}

/** RFC 5277 create-subscription. */
export function createSubscriptionXml(stream: string, spec?: FilterSpec): string {
  const f = spec ? filterXml(spec) : '';
  return `<create-subscription xmlns="${NETCONF_NS.notification}"><stream>${escapeXml(stream)}</stream>${f}</create-subscription>`;
}

/** `<close-session/>`. */
export const CLOSE_SESSION = '<close-session/>';

/** A parsed rpc-reply. */
export interface RpcReply {
  messageId: string;
  ok: boolean;
  /** `<data>` of a get, get-config (base namespace) or get-data (ietf-netconf-nmda) reply. */
  data?: XmlNode;
  errors: RpcError[];
  node: XmlNode;
}

/** Read an rpc-reply; undefined when the message is not one. */
export function readRpcReply(node: XmlNode): RpcReply | undefined {
  if (node.name !== 'rpc-reply' || node.ns !== NETCONF_NS.base) return undefined;
  const errors = childrenNamed(node, 'rpc-error', NETCONF_NS.base).map(readRpcError);
  return {
    messageId: node.attrs['message-id'] ?? '',
    ok: child(node, 'ok', NETCONF_NS.base) !== undefined,
    data: child(node, 'data', NETCONF_NS.base) ?? child(node, 'data', NETCONF_NS.nmda),
    errors,
    node,
  };
}

function readRpcError(e: XmlNode): RpcError {
  const t = (n: string) => child(e, n)?.text ?? '';
  return {
    type: t('error-type'),
    tag: t('error-tag'),
    severity: t('error-severity') || 'error',
    message: t('error-message'),
    appTag: child(e, 'error-app-tag')?.text,
    path: child(e, 'error-path')?.text,
  };
}

/** An rpc-error element (simulator side). */
export function rpcErrorXml(e: Omit<RpcError, 'severity'> & { severity?: string }): string {
  return (
    `<rpc-error><error-type>${escapeXml(e.type)}</error-type><error-tag>${escapeXml(e.tag)}</error-tag>` +
    `<error-severity>${escapeXml(e.severity ?? 'error')}</error-severity>` +
    (e.appTag ? `<error-app-tag>${escapeXml(e.appTag)}</error-app-tag>` : '') +
    (e.path ? `<error-path>${escapeXml(e.path)}</error-path>` : '') +
    (e.message ? `<error-message xml:lang="en">${escapeXml(e.message)}</error-message>` : '') +
    `</rpc-error>`
  );
}

/** A parsed notification: event time and the one event element. */
export interface Notification {
  eventTime?: number;
  event?: XmlNode;
}

/** Read a notification; undefined when the message is not one. */
export function readNotification(node: XmlNode): Notification | undefined {
  if (node.name !== 'notification' || node.ns !== NETCONF_NS.notification) return undefined;
  const et = child(node, 'eventTime')?.text;
  return {
    eventTime: et ? parseDateTime(et) : undefined,
    event: node.children.find((c) => !(c.name === 'eventTime' && c.ns === NETCONF_NS.notification)),
  };
}

/** RFC 3339 date-time → epoch milliseconds with the sub-millisecond fraction kept; undefined if invalid. */
export function parseDateTime(text: string): number | undefined {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/i.exec(text.trim());
  if (!m) return undefined;
  const base = Date.parse(m[1] + (m[3].toUpperCase() === 'Z' ? 'Z' : m[3]));
  if (Number.isNaN(base)) return undefined;
  const frac = m[2] ? Number('0.' + m[2].slice(0, 9)) * 1000 : 0;
  return base + Math.round(frac * 1000) / 1000;
}

/** Format epoch milliseconds as RFC 3339 (eventTime). */
export function formatDateTime(ms: number): string {
  return new Date(ms).toISOString();
}
