/**
 * GET /api/live?series=1,2,3&since=ms — server-sent events carrying new samples
 * of the given series (a dashboard opens one stream for all of its widgets).
 * Each event's id is a resume point: a reconnect sends it as Last-Event-ID and
 * receives everything it missed (possibly a few points again, which the client
 * drops by time). A client that cannot keep up is cut off once its backlog
 * passes a bound, never buffered forever; it catches up on reconnect.
 * Signed-in users only. `since` and Last-Event-ID reach back at most
 * WEB_LIVE_REPLAY_MS (older history comes from /api/series); streams are capped
 * per user and per process (429 with the reason; the browser backs off).
 * With `alerts=["leaf-1",…]&alertsFrom=ms` the stream also carries those devices'
 * alert markers, sent whole when it opens and whenever one of them changes (ADR 226).
 */
import { data } from 'react-router';
import { z } from 'zod';
import type { Route } from './+types/api.live';
import { requireApiUser } from '../lib/auth.server';
import { ctx } from '../lib/context.server';
import type { LivePoint } from '../lib/live-hub.server';
import { MAX_STREAM_SERIES } from '../lib/widget-data';
import { subscribeDashboardAggregates, type AggregateChanges, type AggregateTrace } from '../lib/live-aggregates.server';
import { subscribeAlertMarkers } from '../lib/live-alert-markers.server';

/** Bounds of one stream (tests lower them). */
export const liveLimits = {
  /** Bytes a client may fall behind before it is disconnected. */
  maxBacklogBytes: 4 * 1024 * 1024,
  /** Series one stream may carry (a dashboard's widgets share this budget). */
  maxSeries: MAX_STREAM_SERIES,
  keepaliveMs: 15_000,
};

/** Bytes queued before the stream reports back-pressure. */
const QUEUE_HIGH_WATER = 64 * 1024;

/** Devices one stream may follow the alert markers of (a dashboard's charts each show at most 10 devices' markers). */
const MAX_MARKED_DEVICES = 100;

const Query = z
  .object({
    series: z
      .string()
      .regex(/^\d+(,\d+)*$/, 'a comma-separated list of series ids')
      .transform((s) => [...new Set(s.split(',').map(Number))])
      .refine((ids) => ids.length <= liveLimits.maxSeries, `at most ${liveLimits.maxSeries} series`)
      .optional(),
    since: z.coerce.number().nonnegative().optional(),
    /** Also this dashboard's aggregated widgets, computed here (issue 17): events `{ aggregates: [{ w, remove, insert }] }`. */
    dashboard: z.coerce
      .number()
      .int()
      .positive()
      .max(2 ** 31 - 1)
      .optional(),
    /** The dashboard's window (ms): the aggregates' step is the history's for it. */
    window: z.coerce
      .number()
      .int()
      .min(60_000)
      .max(7 * 24 * 3_600_000)
      .default(3_600_000),
    /** Also these devices' alert markers (a JSON list of names), from `alertsFrom` (ms): events `{ markers: [...] }` (ADR 226). */
    alerts: z
      .string()
      .transform((s, c) => {
        try {
          const names = JSON.parse(s) as unknown;
          if (Array.isArray(names) && names.length <= MAX_MARKED_DEVICES && names.every((n) => typeof n === 'string')) return names as string[];
        } catch {
          // reported below
        }
        c.addIssue({ code: 'custom', message: `a JSON list of at most ${MAX_MARKED_DEVICES} device names` });
        return z.NEVER;
      })
      .optional(),
    alertsFrom: z.coerce.number().nonnegative().optional(),
    /** Diagnosis (`bench live-aggregate`): each aggregate carries `trace`, where its time went (AggregateTrace) and when it was written. */
    trace: z.literal('1').optional(),
  })
  .refine((q) => q.series !== undefined || q.dashboard !== undefined || q.alerts !== undefined, { message: 'give series, a dashboard, alerts, or some of them', path: ['series'] });

export async function loader({ request }: Route.LoaderArgs) {
  const user = await requireApiUser(request);
  const parsed = Query.safeParse(Object.fromEntries(new URL(request.url).searchParams));
  if (!parsed.success) return data({ error: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') }, 400);
  const { hub, config, db, pool } = ctx();
  const lastEventId = Number(request.headers.get('last-event-id'));
  const asked = Number.isFinite(lastEventId) && lastEventId > 0 ? lastEventId : (parsed.data.since ?? Date.now());
  // Replay at most the window; anything older is history, for /api/series.
  const since = Math.max(asked, Date.now() - config.WEB_LIVE_REPLAY_MS);
  const admission = hub.admit(user.id);
  if (!admission.ok) return data({ error: admission.message }, { status: 429, headers: { 'Retry-After': '30' } });
  const encoder = new TextEncoder();
  const maxBacklog = liveLimits.maxBacklogBytes;
  let unsubscribe: (() => void) | undefined;
  let stopAggregates: (() => void) | undefined;
  let stopMarkers: (() => void) | undefined;
  let keepalive: NodeJS.Timeout | undefined;
  const cleanup = () => {
    admission.release();
    unsubscribe?.();
    stopAggregates?.();
    stopMarkers?.();
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
        }, liveLimits.keepaliveMs);
        const fits = () => QUEUE_HIGH_WATER - (controller.desiredSize ?? 0) <= maxBacklog;
        if (parsed.data.dashboard !== undefined) {
          // Aggregate events carry no id: after a reconnect they start again a little before the history's end.
          const traced = parsed.data.trace !== undefined;
          const send = (w: number, changes: AggregateChanges, trace: AggregateTrace) => {
            if (!open) return false;
            if (!fits()) {
              close();
              return false;
            }
            const aggregate = traced ? { w, ...changes, trace: { ...trace, sentAt: Date.now() } } : { w, ...changes };
            controller.enqueue(encoder.encode(`data: ${JSON.stringify({ aggregates: [aggregate] })}\n\n`));
            return true;
          };
          stopAggregates = (await subscribeDashboardAggregates(hub, db, pool, { dashboardId: parsed.data.dashboard, windowMs: parsed.data.window, deliver: send })).stop;
          if (!open) stopAggregates();
        }
        if (parsed.data.alerts?.length) {
          // Markers carry no id: a reconnect sends the current list again.
          const from = parsed.data.alertsFrom ?? Date.now() - parsed.data.window;
          stopMarkers = (
            await subscribeAlertMarkers(hub, db, {
              devices: parsed.data.alerts,
              from,
              deliver: (markers) => {
                if (!open) return false;
                controller.enqueue(encoder.encode(`data: ${JSON.stringify({ markers })}\n\n`));
                return true;
              },
            })
          ).stop;
          if (!open) stopMarkers();
        }
        if (!parsed.data.series) return;
        unsubscribe = await hub.subscribe({
          seriesIds: parsed.data.series,
          since,
          deliver(points: LivePoint[], resumeFrom: number) {
            if (!open) return false;
            if (!fits()) {
              close(); // too slow: it reconnects with Last-Event-ID and catches up
              return false;
            }
            controller.enqueue(encoder.encode(`id: ${resumeFrom}\ndata: ${JSON.stringify({ points })}\n\n`));
            return true;
          },
        });
        if (!open) cleanup();
      },
      cancel() {
        cleanup();
      },
    },
    { highWaterMark: QUEUE_HIGH_WATER, size: (chunk) => chunk.byteLength },
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
