/** Dashboard and widget forms (pure schemas). */
import { z } from 'zod';
import { compilePathPattern } from '../../../query/path-pattern';
import { METRICS, findMetric, isMetricName } from '../../../core/path-equivalence';
import { CHART_KINDS, UNITS, type ChartKind } from './chart-spec';
import { RANGES } from './widget-data';

/** A dashboard's own fields. */
export const DashboardForm = z.object({
  name: z.string({ error: 'Required' }).trim().min(1, 'Required').max(100),
  description: z.string().trim().max(500).optional(),
  timeRange: z.enum(Object.keys(RANGES) as [keyof typeof RANGES, ...Array<keyof typeof RANGES>], { error: 'Choose a range' }),
  live: z.boolean(),
});

/** Chart kinds a widget may have: the Vega charts, plus the server-rendered state timeline and table of last values. */
export const WIDGET_CHARTS = [...CHART_KINDS, 'state-timeline', 'table'] as const;
export type WidgetChart = (typeof WIDGET_CHARTS)[number];

/** Whether a widget's chart kind is drawn by Vega (LiveChart) rather than by the server. */
export const isVegaChart = (kind: string): kind is ChartKind => (CHART_KINDS as readonly string[]).includes(kind);

/** How the editor names each chart kind. */
export const WIDGET_CHART_LABELS: Record<WidgetChart, string> = {
  line: 'line',
  area: 'area',
  'stacked-area': 'stacked area',
  bar: 'bar',
  stat: 'single stat',
  'state-timeline': 'state timeline (states such as oper-status)',
  table: 'table of last values',
};

/** Aggregations across series (`none`: one line per series; the others are computed on the server, web/app/lib/widget-query.ts). */
export const WIDGET_AGGREGATES = ['none', 'sum', 'avg', 'max', 'min', 'count', 'last'] as const;
/** Groupings besides a list key of the path. */
export const WIDGET_GROUPINGS = ['series', 'device', 'all', 'site', 'protocol'] as const;
/** A list key of a path as a grouping: element[key]. */
const LIST_KEY = /^[A-Za-z][A-Za-z0-9_.:-]{0,63}\[[A-Za-z][A-Za-z0-9_.:-]{0,63}\]$/;

/** A widget. */
export const WidgetForm = z.object({
  title: z.string({ error: 'Required' }).trim().min(1, 'Required').max(100),
  deviceId: z.number().int().positive().nullable(),
  path: z
    .string({ error: 'Required' })
    .trim()
    .min(1, 'Required')
    .max(1024)
    .superRefine((p, ctx) => {
      // A metric with equivalents across models (`interfaces: in-octets`), or a path pattern.
      if (isMetricName(p)) {
        if (!findMetric(p)) ctx.addIssue({ code: 'custom', message: `Unknown metric; known: ${[...METRICS.keys()].join(', ')}` });
        return;
      }
      try {
        compilePathPattern(p);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message.replace(/^INVALID_PATH: /, '') });
      }
    }),
  aggregate: z.enum(WIDGET_AGGREGATES),
  /** series, device, all, site, protocol, or a list key of the path (`interface[name]`; the form's `key` choice plus its groupKey field). */
  groupBy: z.union([z.enum(WIDGET_GROUPINGS), z.string().regex(LIST_KEY, 'Give a list key of the path such as interface[name]')], { error: 'Choose a grouping' }),
  rate: z.boolean(),
  chart: z.enum(WIDGET_CHARTS),
  unit: z.enum(UNITS),
  width: z.union([z.literal(4), z.literal(6), z.literal(12)], { error: 'Choose a width' }),
  /** Only the N groups with the highest (top) or lowest (bottom) mean over the range; null: every group. */
  topN: z.number({ error: 'A whole number from 1 to 100' }).int('A whole number from 1 to 100').min(1, 'At least 1').max(100, 'At most 100').nullish(),
  topOrder: z.enum(['top', 'bottom']).optional(),
}).refine((w) => w.topN == null || w.groupBy !== 'all', { message: 'Top/bottom N ranks groups: choose a grouping other than “All together”', path: ['topN'] });
export type WidgetForm = z.infer<typeof WidgetForm>;

const str = (form: FormData, name: string) => {
  const v = form.get(name);
  return typeof v === 'string' ? v : undefined;
};

/** Form fields → WidgetForm input. */
export function widgetFormInput(form: FormData): unknown {
  const device = str(form, 'deviceId');
  return {
    title: str(form, 'title') ?? '',
    deviceId: device && device !== 'all' && device !== '' ? Number(device) : null,
    path: str(form, 'path') ?? '',
    aggregate: str(form, 'aggregate') ?? 'none',
    groupBy: str(form, 'groupBy') === 'key' ? (str(form, 'groupKey') ?? '').trim() : (str(form, 'groupBy') ?? 'series'),
    topN: (str(form, 'topN') ?? '').trim() === '' ? null : Number(str(form, 'topN')),
    topOrder: str(form, 'topOrder') === 'bottom' ? 'bottom' : 'top',
    rate: form.get('rate') !== null,
    chart: str(form, 'chart') ?? 'line',
    unit: str(form, 'unit') ?? '',
    width: Number(str(form, 'width') ?? 6),
  };
}
