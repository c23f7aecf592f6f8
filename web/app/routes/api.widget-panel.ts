/**
 * GET /api/widget-panel?<the widget editor's form fields> → { from, to, now, matched, textSeries, states, lastValues }
 * or { error }: what the dashboard draws on the server for a widget (state panel of text
 * leaves, state timeline, table of last values; web/app/lib/widget-panels.server.ts) over
 * the last 15 min — the widget editor's preview of those kinds. Signed-in users only.
 */
import { data } from 'react-router';
import type { Route } from './+types/api.widget-panel';
import { requireApiUser } from '../lib/auth.server';
import { ctx } from '../lib/context.server';
import { resolveWidgetSeries } from '../lib/series.server';
import { WidgetForm, widgetFormInput } from '../lib/widget-form';
import { widgetPanels } from '../lib/widget-panels.server';

/** The preview's window, as the editor's chart preview. */
const PREVIEW_MS = 15 * 60_000;

export async function loader({ request }: Route.LoaderArgs) {
  await requireApiUser(request);
  const form = new FormData();
  for (const [k, v] of new URL(request.url).searchParams) form.append(k, v);
  // The title is not part of what is drawn.
  if (!form.get('title')) form.set('title', 'preview');
  const parsed = WidgetForm.safeParse(widgetFormInput(form));
  if (!parsed.success) return data({ error: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') }, 400);
  const f = parsed.data;
  const w = { device_id: f.deviceId, path: f.path, aggregate: f.aggregate, group_by: f.groupBy, rate: f.rate, top_n: f.topN ?? null, top_order: f.topOrder ?? 'top', chart: f.chart, unit: f.unit };
  const now = Date.now();
  const window = { from: now - PREVIEW_MS, to: now };
  try {
    const { series } = await resolveWidgetSeries(ctx().db, w.device_id, w.path);
    const { textSeries, states, lastValues } = await widgetPanels(w, series, window);
    return { ...window, now, matched: series.length, textSeries, states, lastValues };
  } catch (err) {
    return data({ error: (err as Error).message }, 422);
  }
}
