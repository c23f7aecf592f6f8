/**
 * A chart's alert markers (issue 18): those that came with the page's data (ADR 185) and
 * those the live stream brings (ADR 226), as one list — each transition once, oldest first,
 * the newest MAX_CHART_MARKERS kept. Live markers of devices the chart does not show are left
 * out (a dashboard's stream follows every marked chart's devices).
 */
import type { ChartAlertMarker } from './chart-spec';

/** Most markers one chart draws (as storage/alerts.ts MAX_ALERT_MARKERS reads). */
export const MAX_CHART_MARKERS = 200;

/** A transition's identity: the same marker from the page and from the stream is drawn once. */
export function alertMarkerKey(m: ChartAlertMarker): string {
  return `${m.t}|${m.transition}|${m.rule}|${m.instance}`;
}

/** The page's markers and the stream's for `devices` (all of the stream's when undefined), merged. */
export function mergeAlertMarkers(page: ChartAlertMarker[], live: ChartAlertMarker[], devices?: string[]): ChartAlertMarker[] {
  const shown = devices ? new Set(devices) : undefined;
  const byKey = new Map<string, ChartAlertMarker>();
  for (const m of page) byKey.set(alertMarkerKey(m), m);
  for (const m of live) if (!shown || shown.has(m.instance)) byKey.set(alertMarkerKey(m), m);
  const all = [...byKey.values()].sort((a, b) => a.t - b.t || alertMarkerKey(a).localeCompare(alertMarkerKey(b)));
  return all.slice(Math.max(0, all.length - MAX_CHART_MARKERS));
}
