/**
 * GET /api/live?series=1,2,3&since=ms — server-sent events carrying new samples
 * of the given series. A reconnect sends Last-Event-ID (the newest time it saw)
 * and receives exactly what it missed. A client that cannot keep up is cut off
 * (bounded buffer) and catches up on reconnect.
 */
import { data } from 'react-router';
import { z } from 'zod';
import type { Route } from './+types/api.live';
import { ctx } from '../lib/context.server';
import type { LivePoint } from '../lib/live-hub.server';

const Query = z.object({
  series: z
    .string()
    .regex(/^\d+(,\d+){0,199}$/, 'a comma-separated list of up to 200 series ids')
    .transform((s) => [...new Set(s.split(',').map(Number))]),
  since: z.coerce.number().nonnegative().optional(),
});

/** Bytes a client may fall behind before it is disconnected. */
const MAX_BACKLOG_BYTES = 4 * 1024 * 1024;

export async function loader({ request }: Route.LoaderArgs) {
  const parsed = Query.safeParse(Object.fromEntries(new URL(request.url).searchParams));
  if (!parsed.success) return data({ error: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') }, 400);
  const lastEventId = Number(request.headers.get('last-event-id'));
  const since = Number.isFinite(lastEventId) && lastEventId > 0 ? lastEventId : (parsed.data.since ?? Date.now());
  const { hub } = ctx();
  const encoder = new TextEncoder();
  let unsubscribe: (() => void) | undefined;
  let keepalive: NodeJS.Timeout | undefined;
  const cleanup = () => {
    unsubscribe?.();
    if (keepalive) clearInterval(keepalive);
  };
  const stream = new ReadableStream<Uint8Array>(
    {
      async start(controller) {
        let open = true;
        const close = () => {
          if (!open) return;
          open = false;
          cleanup();
          try {
            controller.close();
          } catch {
            // already closed
          }
        };
        request.signal.addEventListener('abort', close);
        controller.enqueue(encoder.encode(`retry: 2000\n: connected\n\n`));
        keepalive = setInterval(() => {
          if (open) controller.enqueue(encoder.encode(`: keepalive\n\n`));
        }, 15_000);
        unsubscribe = await hub.subscribe({
          seriesIds: parsed.data.series,
          since,
          deliver(points: LivePoint[]) {
            if (!open) return false;
            if ((controller.desiredSize ?? 0) < -MAX_BACKLOG_BYTES) {
              close(); // too slow: it reconnects with Last-Event-ID and catches up
              return false;
            }
            const newest = points.reduce((m, p) => Math.max(m, p.t), 0);
            controller.enqueue(encoder.encode(`id: ${newest}\ndata: ${JSON.stringify({ points })}\n\n`));
            return true;
          },
        });
        if (!open) cleanup();
      },
      cancel() {
        cleanup();
      },
    },
    { highWaterMark: 64 * 1024, size: (chunk) => chunk.byteLength },
  );
  return new Response(stream, {
    headers: {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    },
  });
}
