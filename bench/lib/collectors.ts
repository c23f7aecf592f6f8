/** Reading a running collector's state from its /metrics, shared by the scenarios that start collectors. */

/** Sessions the collector on `port` reports streaming (its `sessions{state="streaming"}` gauge). */
export async function streamingOn(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const m = /^sessions\{state="streaming"\} (\d+)/m.exec(text);
  return m ? Number(m[1]) : 0;
}
