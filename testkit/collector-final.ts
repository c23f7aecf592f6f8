/**
 * What a collector's own last log line says once its /metrics is gone: the counters of its `collector stopped` line, or
 * of its `forced exit` line when its shutdown passed the bound (dropped there includes the points received and never
 * committed; the line also says how its make-before-break hand-overs ended). Text or JSON logs. Used by the fault tests
 * and by the failover bench.
 */
export interface CollectorFinalCounters {
  received: number;
  dropped: number;
  /**
   * Only in a `forced exit` line: streams ended because the new collector streamed the device (`up`), at the bound, or
   * at once with no collector told to take them (`nowhere`, ADR 295; absent from lines of collectors before it).
   */
  handovers?: { up: number; bound: number; nowhere?: number };
}

export function finalCounters(output: string): CollectorFinalCounters | undefined {
  const line = output.split('\n').findLast((l) => l.includes('collector stopped') || l.includes('forced exit'));
  const num = (key: string) => Number(line?.match(new RegExp(`\\b${key}["=:]+(\\d+)`))?.[1] ?? NaN);
  const [received, dropped] = [num('received'), num('dropped')];
  if (!Number.isFinite(received) || !Number.isFinite(dropped)) return undefined;
  const handovers = handoversIn(line!);
  return handovers ? { received, dropped, handovers } : { received, dropped };
}

/** `handovers={"up":…,"bound":…,"nowhere":…}` (text) or `"handovers":{…}` (JSON), when up and bound are there. */
function handoversIn(line: string): CollectorFinalCounters['handovers'] {
  const object = line.match(/\bhandovers["=:]+(\{[^}]*\})/)?.[1];
  if (!object) return undefined;
  try {
    const { up, bound, nowhere } = JSON.parse(object) as { up?: unknown; bound?: unknown; nowhere?: unknown };
    if (typeof up !== 'number' || typeof bound !== 'number') return undefined;
    return typeof nowhere === 'number' ? { up, bound, nowhere } : { up, bound };
  } catch {
    return undefined;
  }
}
