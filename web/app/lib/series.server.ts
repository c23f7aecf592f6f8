/**
 * The series dictionary as widgets see it: resolve a widget's device and path
 * pattern (query/path-pattern.ts grammar) to series, and suggest patterns for
 * the path picker. Metrics with equivalents across models (core/path-equivalence.ts)
 * resolve to every model's series. The statements are storage/series-reads.ts's.
 */
import type { Knex } from 'knex';
import { compilePathPattern } from '../../../query/path-pattern';
import { METRICS, findMetric, isMetricName, metricOfPattern, modelPaths } from '../../../core/path-equivalence';
import { MAX_SERIES } from '../../../query/router';
import { countMatchingSeries, devicesPerModel, matchingSeriesRows, numericPaths } from '../../../storage/series-reads';
import { generalise, seriesLabel } from './path-pattern';
import type { WidgetSeries } from './widget-data';

/** The regular expressions of a widget path's models (one for a plain pattern, one per model for a metric). */
function modelRegexes(pattern: string) {
  if (isMetricName(pattern) && !findMetric(pattern)) throw new Error(`Unknown metric ${pattern}; known: ${[...METRICS.keys()].join(', ')}`);
  return modelPaths(pattern).map((m) => ({ model: m.model, pattern: m.pattern, regex: compilePathPattern(m.pattern).regex }));
}

/**
 * Series of one device (or every device when deviceId is null) whose path matches the
 * pattern. A metric (`interfaces: in-octets`, core/path-equivalence.ts) matches every
 * model's path; each device contributes the series of its first model only.
 */
export async function resolveWidgetSeries(
  db: Knex,
  deviceId: number | null,
  pattern: string,
  limit = 200,
  /** Numbers (charts) or text leaves (state panels). */
  kind: 'number' | 'text' = 'number',
): Promise<{ series: Array<WidgetSeries & { path: string; deviceId: number; model: string }>; truncated: boolean }> {
  const models = modelRegexes(pattern);
  const rows = await matchingSeriesRows(db, deviceId, models.map((m) => m.regex), kind, Math.min(limit, MAX_SERIES) + 1);
  const multiDevice = deviceId === null && new Set(rows.map((r) => r.device_id)).size > 1;
  const series = rows.slice(0, limit).map((r) => {
    const label = seriesLabel(r.path, models[r.model].pattern);
    return { id: Number(r.id), path: r.path, deviceId: r.device_id, deviceName: r.device_name, model: models[r.model].model, label: multiDevice ? `${r.device_name} ${label}` : label };
  });
  return { series, truncated: rows.length > limit };
}

/** Which devices a fleet widget covers, by model: `{ devices: 4, byModel: { OpenConfig: 3, 'ietf-interfaces': 1 } }`. */
export async function widgetCoverage(db: Knex, pattern: string, kind: 'number' | 'text' = 'number'): Promise<{ devices: number; byModel: Record<string, number>; fleet: number }> {
  const models = modelRegexes(pattern);
  const { byModel: rows, fleet } = await devicesPerModel(db, models.map((m) => m.regex), kind);
  const byModel: Record<string, number> = {};
  let devices = 0;
  for (const r of rows.sort((a, b) => a.model - b.model)) {
    byModel[models[r.model].model || 'matching'] = r.n;
    devices += r.n;
  }
  return { devices, byModel, fleet };
}

/** How many text series (oper-status and other string leaves) of a device, or of every device, match the pattern. */
export async function countTextSeries(db: Knex, deviceId: number | null, pattern: string): Promise<number> {
  return countMatchingSeries(db, deviceId, modelRegexes(pattern).map((m) => m.regex), 'text');
}

/** Patterns for the path picker: every stored numeric path with its keys generalised, plus concrete paths of one device. */
export async function pathSuggestions(db: Knex, opts: { deviceId?: number | null; prefix?: string; limit?: number } = {}): Promise<string[]> {
  const limit = opts.limit ?? 200;
  const paths = await numericPaths(db, opts);
  const general = [...new Set(paths.map(generalise))];
  // Metrics first: the fleet-wide form of a leaf some model of ours has (core/path-equivalence.ts).
  const metrics = [...new Set(general.map((p) => metricOfPattern(p)?.name).filter((m): m is string => m !== undefined))].sort();
  const out = [...metrics, ...general, ...(opts.deviceId ? paths.filter((p) => !general.includes(p)) : [])];
  return out.slice(0, limit);
}
