/**
 * Equivalent leaves of the models the product collects, so a "whole fleet" widget covers
 * gNMI (OpenConfig) and NETCONF (ietf-interfaces) devices alike. A widget names a metric
 * (`interfaces: in-octets`) instead of one model's path; the web app resolves it to every
 * model's pattern and takes, per device, the first model (in table order) the device has
 * series of — never two models of one device, so nothing is counted twice. Counter
 * semantics match (64-bit octet and packet counters in both), so rates combine directly.
 * Data and pure functions only (ADR 096).
 */

/** One model's path pattern of a metric. */
export interface ModelPath {
  /** Short model name shown to operators ("OpenConfig", "ietf-interfaces"). */
  model: string;
  /** Path pattern (query/path-pattern.ts grammar). */
  pattern: string;
}

/** A metric: one leaf as every model we collect names it, preferred model first. */
export interface Metric {
  /** `interfaces: in-octets` */
  name: string;
  kind: 'number' | 'text';
  paths: ModelPath[];
}

/** Interface counters: OpenConfig `state/counters/<leaf>` and ietf-interfaces `statistics/<leaf>` use the same leaf names. */
const COUNTERS = ['in-octets', 'out-octets', 'in-unicast-pkts', 'out-unicast-pkts', 'in-errors', 'out-errors', 'in-discards', 'out-discards'] as const;

const interfaceMetric = (leaf: string, kind: Metric['kind'], oc: string, ietf: string): Metric => ({
  name: `interfaces: ${leaf}`,
  kind,
  paths: [
    { model: 'OpenConfig', pattern: `/interfaces/interface[name=*]/${oc}` },
    // RFC 8343 (NMDA): state beside configuration under /interfaces.
    { model: 'ietf-interfaces', pattern: `/interfaces/interface[name=*]/${ietf}` },
    // RFC 7223's deprecated /interfaces-state tree (pre-NMDA devices).
    { model: 'ietf-interfaces (legacy)', pattern: `/interfaces-state/interface[name=*]/${ietf}` },
  ],
});

/** Every metric with equivalents, by name. */
export const METRICS: ReadonlyMap<string, Metric> = new Map(
  [
    ...COUNTERS.map((c) => interfaceMetric(c, 'number', `state/counters/${c}`, `statistics/${c}`)),
    interfaceMetric('oper-status', 'text', 'state/oper-status', 'oper-status'),
  ].map((m) => [m.name, m]),
);

/** Whether a widget path names a metric (`model: leaf`) rather than a path pattern (which starts with `/` or an origin). */
export function isMetricName(path: string): boolean {
  return /^[a-z][a-z0-9-]*\s*:\s*[a-z][a-z0-9-]*$/i.test(path.trim());
}

/** The metric a widget path names (spaces around the colon tolerated), or undefined. */
export function findMetric(path: string): Metric | undefined {
  if (!isMetricName(path)) return undefined;
  const [group, leaf] = path.split(':').map((s) => s.trim().toLowerCase());
  return METRICS.get(`${group}: ${leaf}`);
}

/** The patterns a widget path stands for: a metric's models, or the path itself as one unnamed model. */
export function modelPaths(path: string): ModelPath[] {
  return findMetric(path)?.paths ?? [{ model: '', pattern: path }];
}

/** The metric whose model paths include this pattern (to suggest the fleet-wide form of a one-model path). */
export function metricOfPattern(pattern: string): Metric | undefined {
  for (const m of METRICS.values()) if (m.paths.some((p) => p.pattern === pattern)) return m;
  return undefined;
}
