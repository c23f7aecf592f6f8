/**
 * Helpers around widget path patterns for the UI. Matching itself is
 * query/path-pattern.ts (the query router's grammar); this module only makes
 * patterns from paths and labels from matched paths. Pure: tested in test/unit.
 */

/** The path with every key value replaced by `*`: a pattern for "this leaf on every interface". */
export function generalise(path: string): string {
  return path.replace(/\[([^=\]]+)=(?:\\.|[^\]\\])*\]/g, '[$1=*]');
}

/** A short label for a matched series: its key values and, unless the pattern fixes it, the leaf name — "Ethernet1", "CPU0 instant". */
export function seriesLabel(path: string, pattern?: string): string {
  const keys = [...path.matchAll(/\[[^=\]]+=((?:\\.|[^\]\\])*)\]/g)].map((m) => m[1].replace(/\\(.)/g, '$1'));
  const leaf = path.slice(path.lastIndexOf('/') + 1);
  const patternLeaf = pattern ? pattern.slice(pattern.lastIndexOf('/') + 1) : undefined;
  if (keys.length && patternLeaf === leaf) return keys.join(' ');
  return [...keys, leaf].join(' ');
}

/**
 * Whether a path is a cumulative counter (interface counters and statistics, packets, octets,
 * errors, discards): charted per second by default, and labelled when charted raw.
 */
export function isCounterPath(path: string): boolean {
  const leaf = path.slice(path.lastIndexOf('/') + 1);
  return /\/(counters|statistics)\//.test(path) || /(octets|pkts|packets|errors|discards|drops)$/.test(leaf);
}
