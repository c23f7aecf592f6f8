/**
 * YANG-push (RFC 8639 subscribed notifications, RFC 8641 datastore push):
 * establish-subscription requests and the notifications a subscription produces.
 * Pure code, shared by the collector and the simulator.
 */
import { formatPath, type PathElem } from '../../core/path';
import type { TelemetryPoint } from '../../core/point';
import { treeToPoints, type KeyLookup } from './points';
import { NETCONF_NS, WELL_KNOWN_PREFIXES, checkSubtreeFilter, xpathNamespaceDecls, type FilterSpec } from './rpc';
import { child, escapeXml, type XmlNode } from './xml';

/** What kind of push subscription. */
export type PushTrigger = { kind: 'periodic'; periodMs: number } | { kind: 'on-change'; dampeningMs: number };

/** Milliseconds → centiseconds (RFC 8641 units); at least 1 for periodic. */
export function toCentiseconds(ms: number, min = 0): number {
  return Math.max(min, Math.round(ms / 10));
}

/** establish-subscription on the operational datastore. */
export function establishSubscriptionXml(filter: FilterSpec, trigger: PushTrigger): string {
  const sn = NETCONF_NS.subscribed;
  const yp = NETCONF_NS.yangPush;
  let f: string;
  if (filter.type === 'subtree') {
    checkSubtreeFilter(filter.filter);
    f = `<yp:datastore-subtree-filter>${filter.filter}</yp:datastore-subtree-filter>`;
  } else {
    f = `<yp:datastore-xpath-filter${xpathNamespaceDecls(filter.filter)}>${escapeXml(filter.filter)}</yp:datastore-xpath-filter>`;
  }
  const t =
    trigger.kind === 'periodic'
      ? `<yp:periodic><yp:period>${toCentiseconds(trigger.periodMs, 1)}</yp:period></yp:periodic>`
      : `<yp:on-change><yp:dampening-period>${toCentiseconds(trigger.dampeningMs)}</yp:dampening-period></yp:on-change>`;
  return (
    `<establish-subscription xmlns="${sn}" xmlns:yp="${yp}">` +
    `<yp:datastore xmlns:ds="${NETCONF_NS.datastores}">ds:operational</yp:datastore>${f}${t}</establish-subscription>`
  );
}

/** delete-subscription (best effort before re-establishing). */
export function deleteSubscriptionXml(id: string): string {
  return `<delete-subscription xmlns="${NETCONF_NS.subscribed}"><id>${escapeXml(id)}</id></delete-subscription>`;
}

/** The subscription id in an establish-subscription reply. */
export function readSubscriptionId(reply: XmlNode): string | undefined {
  return child(reply, 'id', NETCONF_NS.subscribed)?.text || undefined;
}

/** What a YANG-push notification means to the collector. */
export type PushEvent =
  | { type: 'update'; id: string; points: TelemetryPoint[] }
  | { type: 'terminated' | 'suspended' | 'resumed' | 'completed' | 'modified'; id: string; reason?: string }
  | { type: 'other' };

const STATE_EVENTS: Record<string, PushEvent['type']> = {
  'subscription-terminated': 'terminated',
  'subscription-suspended': 'suspended',
  'subscription-resumed': 'resumed',
  'subscription-completed': 'completed',
  'subscription-modified': 'modified',
};

/** Context for turning a push notification into points. */
export interface PushContext {
  deviceId: number;
  keys: KeyLookup;
  /** eventTime of the notification envelope, if any. */
  eventTime?: number;
  receivedAt: number;
  onUnkeyed?: (path: string) => void;
}

/** Read the event element of a notification as a YANG-push event. */
export function readPushEvent(event: XmlNode, ctx: PushContext): PushEvent {
  const id = child(event, 'id')?.text ?? '';
  if (event.ns === NETCONF_NS.subscribed && STATE_EVENTS[event.name]) {
    return { type: STATE_EVENTS[event.name] as 'terminated', id, reason: child(event, 'reason')?.text };
  }
  if (event.ns !== NETCONF_NS.yangPush) return { type: 'other' };
  // observation-time (newer YANG-push revisions) beats eventTime beats receive time.
  const observed = child(event, 'observation-time')?.text;
  const timestamp = (observed && parseTime(observed)) || ctx.eventTime || ctx.receivedAt;
  const base = { deviceId: ctx.deviceId, timestamp, keys: ctx.keys, onUnkeyed: ctx.onUnkeyed };
  if (event.name === 'push-update') {
    const contents = child(event, 'datastore-contents');
    return { type: 'update', id, points: contents ? treeToPoints(contents.children, base) : [] };
  }
  if (event.name === 'push-change-update') {
    const patch = child(child(event, 'datastore-changes'), 'yang-patch');
    const points: TelemetryPoint[] = [];
    for (const edit of patch?.children.filter((c) => c.name === 'edit') ?? []) {
      const op = child(edit, 'operation')?.text ?? '';
      const target = parseYangPatchTarget(child(edit, 'target')?.text ?? '/', ctx.keys);
      if (op === 'delete' || op === 'remove') {
        if (target.length > 0) points.push({ deviceId: ctx.deviceId, path: formatTarget(target), timestamp, value: null });
        continue;
      }
      const value = child(edit, 'value');
      if (!value) continue;
      // The value holds the target node itself, so its parent is the prefix.
      points.push(...treeToPoints(value.children, { ...base, prefix: target.slice(0, -1) }));
    }
    return { type: 'update', id, points };
  }
  return { type: 'other' };
}

function parseTime(text: string): number | undefined {
  const t = Date.parse(text);
  return Number.isNaN(t) ? undefined : t;
}

function formatTarget(elems: PathElem[]): string {
  return formatPath({ elems });
}

/**
 * A yang-patch target (RESTCONF data resource identifier, RFC 8040 §3.5.3):
 * `/ietf-interfaces:interfaces/interface=eth0/oper-status` → path elements.
 * Key values map to key names through the same key table as XML data.
 */
export function parseYangPatchTarget(target: string, keys: KeyLookup): PathElem[] {
  const elems: PathElem[] = [];
  let ns = '';
  for (const seg of splitSegments(target)) {
    if (seg === '') continue;
    const eq = seg.indexOf('=');
    const qname = eq >= 0 ? seg.slice(0, eq) : seg;
    const colon = qname.indexOf(':');
    const name = colon >= 0 ? qname.slice(colon + 1) : qname;
    if (colon >= 0) ns = moduleNamespace(qname.slice(0, colon));
    const elem: PathElem = { name };
    if (eq >= 0) {
      const values = seg
        .slice(eq + 1)
        .split(',')
        .map((v) => safeDecode(v));
      const names = keys({ name, ns }) ?? (values.length === 1 ? ['name'] : values.map((_, i) => `key${i + 1}`));
      elem.keys = {};
      values.forEach((v, i) => (elem.keys![names[i] ?? `key${i + 1}`] = v));
    }
    elems.push(elem);
  }
  return elems;
}

function splitSegments(target: string): string[] {
  return target.split('/');
}

function safeDecode(v: string): string {
  try {
    return decodeURIComponent(v);
  } catch {
    return v;
  }
}

function moduleNamespace(module: string): string {
  return WELL_KNOWN_PREFIXES[module] ?? module;
}
