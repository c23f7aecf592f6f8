/** Reading a running collector's state from its /metrics, shared by the scenarios that start collectors. */

/** Sessions the collector on `port` reports streaming (its `sessions{state="streaming"}` gauge). */
export async function streamingOn(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const m = /^sessions\{state="streaming"\} (\d+)/m.exec(text);
  return m ? Number(m[1]) : 0;
}

/** The name of collector `i` of a fleet: `collector-a`, `collector-b`, …. */
export function collectorName(i: number): string {
  return `collector-${String.fromCharCode(97 + i)}`;
}

/** Names for `count` collectors started together: one is `collector`, more are `collector-a`, `collector-b`, …. */
export function collectorNames(count: number): string[] {
  return count === 1 ? ['collector'] : Array.from({ length: count }, (_, i) => collectorName(i));
}
