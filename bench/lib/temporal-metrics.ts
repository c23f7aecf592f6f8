/**
 * Requests the Temporal server's frontend received, by operation, from its Prometheus
 * endpoint (the bench system starts the dev server with --metrics-port). The dev server
 * runs every service in one process and the history service counts some operations again,
 * so only the frontend's lines count.
 */

/** Requests per operation (e.g. SignalWorkflowExecution) the frontend has received so far. */
export async function frontendRequests(metricsPort: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('service_requests{') || !line.includes('service_name="frontend"')) continue;
    const op = /operation="([^"]+)"/.exec(line)?.[1];
    if (op) out.set(op, (out.get(op) ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return out;
}

/** The requests of each operation received between two readings. */
export function requestsBetween(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [op, n] of after) if (n - (before.get(op) ?? 0) > 0) out[op] = n - (before.get(op) ?? 0);
  return out;
}
