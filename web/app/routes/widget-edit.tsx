/**
 * The widget editor (admins): device, path pattern with autocomplete from the
 * series dictionary (a <datalist>, so it works without JavaScript; with it,
 * the suggestions follow the chosen device), aggregation, rate, chart type, unit.
 */
import { Form, Link, data, redirect, useActionData, useLoaderData, useSearchParams } from 'react-router';
import { useEffect, useRef, useState } from 'react';
import type { Route } from './+types/widget-edit';
import { requireAdmin, requireAdminAction } from '../lib/auth.server';
import { ctx } from '../lib/context.server';
import { getDevice, listDeviceItems } from '../../../storage/devices';
import { addWidget, deleteWidget, getDashboard, getWidget, updateWidget, type WidgetRow } from '../../../storage/dashboards';
import { fieldErrors, submittedValues } from '../lib/forms';
import { pathSuggestions, resolveWidgetSeries } from '../lib/series.server';
import { WIDGET_CHARTS, WIDGET_CHART_LABELS, WIDGET_GROUPINGS, WidgetForm, isVegaChart, widgetFormInput, type WidgetChart } from '../lib/widget-form';
import { UNITS } from '../lib/chart-spec';
import { unitScale, type Aggregate, type GroupBy, type WidgetSeries } from '../lib/widget-data';
import { LiveChart } from '../components/LiveChart';
import { StatePanel, type StateSeries } from '../components/StatePanel';
import { LastValuesTable } from '../components/LastValuesTable';
import type { LastValue } from '../lib/last-values';

/** What the editor's live preview shows: the API's match and the form's chart options. */
interface PreviewState {
  match: { count: number; truncated: boolean; text: number; series: WidgetSeries[] } | { error: string };
  path: string;
  rate: boolean;
  aggregate: Aggregate;
  groupBy: GroupBy;
  chart: WidgetChart;
  unit: string;
  from: number;
  to: number;
  /** Set when the form aggregates, groups or ranks: the preview is computed on the server like the widget. */
  query?: WidgetQuery;
}

/** What the server draws for the kinds it draws (GET /api/widget-panel, as the dashboard), and the form it was asked for. */
type PanelState = { chart: WidgetChart; unit: string; rate: boolean } & (
  | { error: string }
  | { from: number; to: number; now: number; textSeries: number; states: StateSeries[]; lastValues: Array<LastValue & { id: number; label: string }> }
);
import { isCounterPath } from '../lib/path-pattern';
import { isServerAggregated, listKeysOf, widgetQuery, type WidgetQuery } from '../lib/widget-query';
import { SelectField, TextField, CheckField } from '../components/Field';
import { ConfirmStep, isConfirmed } from '../components/ConfirmStep';

export function meta() {
  return [{ title: 'Widget · switch-telemetry' }];
}

async function load(params: Route.LoaderArgs['params']) {
  const { db } = ctx();
  const dashboard = await getDashboard(db, Number(params.dashboardId));
  if (!dashboard) throw data('No such dashboard', { status: 404 });
  let widget: WidgetRow | undefined;
  if ('widgetId' in params && params.widgetId !== undefined) {
    widget = await getWidget(db, dashboard.id, Number(params.widgetId));
    if (!widget) throw data('No such widget', { status: 404 });
  }
  return { dashboard, widget };
}

export async function loader({ request, params }: Route.LoaderArgs) {
  await requireAdmin(request);
  const { db } = ctx();
  const { dashboard, widget } = await load(params);
  const devices = (await listDeviceItems(db)).map(({ id, name }) => ({ id, name }));
  const values: Record<string, string> = widget
    ? {
        title: widget.title,
        deviceId: widget.device_id ? String(widget.device_id) : 'all',
        path: widget.path,
        aggregate: widget.aggregate,
        groupBy: (WIDGET_GROUPINGS as readonly string[]).includes(widget.group_by) ? widget.group_by : 'key',
        groupKey: (WIDGET_GROUPINGS as readonly string[]).includes(widget.group_by) ? '' : widget.group_by,
        topN: widget.top_n === null ? '' : String(widget.top_n),
        topOrder: widget.top_order,
        rate: widget.rate ? 'on' : '',
        chart: widget.chart,
        unit: widget.unit,
        width: String(widget.width),
      }
    : { deviceId: 'all', aggregate: 'none', groupBy: 'series', groupKey: '', topN: '', topOrder: 'top', chart: 'line', unit: '', width: '6' };
  const suggestions = await pathSuggestions(db, { deviceId: widget?.device_id ?? null });
  const matches = widget ? await resolveWidgetSeries(db, widget.device_id, widget.path).then((r) => r.series.length).catch(() => 0) : null;
  return { dashboard: { id: dashboard.id, name: dashboard.name }, widgetId: widget?.id ?? null, devices, values, suggestions, matches };
}

export async function action({ request, params }: Route.ActionArgs) {
  await requireAdminAction(request);
  const { db } = ctx();
  const { dashboard, widget } = await load(params);
  const form = await request.formData();
  if (widget && form.get('intent') === 'delete') {
    if (!isConfirmed(form)) return redirect(`/dashboards/${dashboard.id}/widgets/${widget.id}?confirm=delete`);
    await deleteWidget(db, widget.id);
    return redirect(`/dashboards/${dashboard.id}`);
  }
  const parsed = WidgetForm.safeParse(widgetFormInput(form));
  if (!parsed.success) return data({ values: submittedValues(form), errors: fieldErrors(parsed.error) }, 400);
  if (parsed.data.deviceId !== null && !(await getDevice(db, parsed.data.deviceId))) {
    return data({ values: submittedValues(form), errors: { deviceId: 'No such device' } }, 400);
  }
  if (widget) await updateWidget(db, widget.id, parsed.data);
  else await addWidget(db, dashboard.id, parsed.data);
  return redirect(`/dashboards/${dashboard.id}`);
}

export default function WidgetEdit() {
  const loaded = useLoaderData<typeof loader>();
  const failed = useActionData<typeof action>();
  const values = failed?.values ?? loaded.values;
  const errors = failed?.errors ?? {};
  const [suggestions, setSuggestions] = useState(loaded.suggestions);
  const [params] = useSearchParams();
  // Counters default to a per-second rate as the path is typed, until the admin sets the box themselves.
  const [rate, setRate] = useState(loaded.widgetId || failed ? values.rate === 'on' : isCounterPath(values.path ?? ''));
  const [rateTouched, setRateTouched] = useState(Boolean(loaded.widgetId || failed));
  // Live preview: as the form changes (debounced), the match count and a chart of the last 15 min.
  const formRef = useRef<HTMLFormElement>(null);
  const [preview, setPreview] = useState<PreviewState | null>(null);
  const debounce = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const fetched = useRef('');
  // The state panel / table preview (server-drawn kinds, text leaves): the last match, and the last form asked.
  const [panel, setPanel] = useState<PanelState | null>(null);
  const lastMatch = useRef<PreviewState['match'] | null>(null);
  const panelAsked = useRef('');
  const updatePanel = async (fd: FormData, match: PreviewState['match'], opts: { chart: WidgetChart; unit: string; rate: boolean }) => {
    const wanted = !('error' in match) && (match.count > 0 || match.text > 0) && (!isVegaChart(opts.chart) || match.text > 0);
    const qs = new URLSearchParams([...fd.entries()].filter((e): e is [string, string] => typeof e[1] === 'string')).toString();
    panelAsked.current = wanted ? qs : '';
    if (!wanted) return setPanel(null);
    const res = await fetch(`/api/widget-panel?${qs}`);
    const body = (await res.json().catch(() => ({ error: `HTTP ${res.status}` }))) as Omit<PanelState, 'chart' | 'unit' | 'rate'>;
    if (panelAsked.current === qs) setPanel({ ...body, ...opts } as PanelState);
  };
  const updatePreview = () => {
    clearTimeout(debounce.current);
    debounce.current = setTimeout(async () => {
      const f = formRef.current;
      if (!f) return;
      const fd = new FormData(f);
      const device = String(fd.get('deviceId') ?? 'all');
      const path = String(fd.get('path') ?? '').trim();
      const fields = WidgetForm.safeParse(widgetFormInput(fd));
      const asWidget = fields.success
        ? { device_id: fields.data.deviceId, path: fields.data.path, aggregate: fields.data.aggregate, group_by: fields.data.groupBy, rate: fields.data.rate, top_n: fields.data.topN ?? null, top_order: fields.data.topOrder ?? 'top' }
        : undefined;
      const query = asWidget && isServerAggregated(asWidget) ? widgetQuery(asWidget) : undefined;
      const opts = { rate: fd.get('rate') === 'on', aggregate: String(fd.get('aggregate')) as Aggregate, groupBy: String(fd.get('groupBy')) as GroupBy, chart: String(fd.get('chart')) as WidgetChart, unit: String(fd.get('unit') ?? ''), query };
      const key = `${device}|${path}`;
      if (key === fetched.current) {
        setPreview((p) => (p ? { ...p, ...opts } : p));
        if (lastMatch.current) await updatePanel(fd, lastMatch.current, opts);
        return;
      }
      fetched.current = key;
      lastMatch.current = null;
      const res = await fetch(`/api/paths?device=${device === 'all' ? '' : encodeURIComponent(device)}&match=${encodeURIComponent(path)}`);
      if (!res.ok || fetched.current !== key) return;
      const { match } = (await res.json()) as { match: PreviewState['match'] };
      lastMatch.current = match;
      const now = Date.now();
      setPreview({ match, path, ...opts, from: now - 15 * 60_000, to: now });
      await updatePanel(fd, match, opts);
    }, 400);
  };
  useEffect(() => {
    updatePreview();
    return () => clearTimeout(debounce.current);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);
  const onDevice = async (e: React.ChangeEvent<HTMLSelectElement>) => {
    const device = e.target.value === 'all' ? '' : e.target.value;
    const res = await fetch(`/api/paths?device=${encodeURIComponent(device)}`);
    if (res.ok) setSuggestions(((await res.json()) as { paths: string[] }).paths);
  };
  return (
    <section>
      <h1>
        {loaded.widgetId ? 'Edit widget' : 'Add a widget'} <span className="muted">· {loaded.dashboard.name}</span>
      </h1>
      {loaded.widgetId && params.get('confirm') === 'delete' ? (
        <ConfirmStep
          intent="delete"
          text={`Delete the widget ${loaded.values.title} from ${loaded.dashboard.name}? Only the chart goes; the data stay.`}
          label="Delete widget"
          cancelTo={`/dashboards/${loaded.dashboard.id}/widgets/${loaded.widgetId}`}
        />
      ) : null}
      <Form method="post" className="form narrow" noValidate ref={formRef} onChange={updatePreview}>
        <TextField name="title" label="Title" defaultValue={values.title} errors={errors} />
        <SelectField
          name="deviceId"
          label="Device"
          defaultValue={values.deviceId}
          errors={errors}
          onChange={onDevice}
          options={[['all', 'All devices'], ...loaded.devices.map((d): [string, string] => [String(d.id), d.name])]}
        />
        <TextField
          name="path"
          label="Path"
          list="path-suggestions"
          className="mono"
          autoComplete="off"
          defaultValue={values.path}
          errors={errors}
          onChange={(e) => {
            if (!rateTouched) setRate(isCounterPath(e.target.value));
          }}
          hint={
            <>
              Wildcards: <code>[name=*]</code> any key, <code>*</code> any element, <code>...</code> any depth.
              {loaded.matches !== null ? ` Matches ${loaded.matches} series now.` : ''}
            </>
          }
        />
        <datalist id="path-suggestions">
          {suggestions.map((p) => (
            <option key={p} value={p} />
          ))}
        </datalist>
        <CheckField
          name="rate"
          label="Rate per second (for counters)"
          checked={rate}
          onChange={(e) => {
            setRate(e.target.checked);
            setRateTouched(true);
          }}
          hint={isCounterPath(values.path ?? '') && !rate ? 'This path is a counter: without a rate the chart shows its running total.' : undefined}
        />
        <SelectField
          name="aggregate"
          label="Aggregation"
          defaultValue={values.aggregate}
          errors={errors}
          options={[
            ['none', 'None: one line per series'],
            ['sum', 'Sum'],
            ['avg', 'Average'],
            ['max', 'Maximum'],
            ['min', 'Minimum'],
            ['count', 'Count of series reporting'],
            ['last', 'Last value reported'],
          ]}
          hint="Sums, averages and the rest are computed on the server over every matching series."
        />
        <SelectField
          name="groupBy"
          label="Group"
          defaultValue={values.groupBy}
          errors={errors}
          options={[
            ['series', 'Each series'],
            ['device', 'Per device'],
            ['site', 'Per site'],
            ['protocol', 'Per protocol'],
            ['key', 'Per list key (below)'],
            ['all', 'All together'],
          ]}
        />
        <TextField
          name="groupKey"
          label="List key"
          list="group-key-suggestions"
          className="mono"
          autoComplete="off"
          defaultValue={values.groupKey}
          errors={errors}
          hint={<>With “Per list key”: e.g. <code>interface[name]</code>, one line per interface name across devices.</>}
        />
        <datalist id="group-key-suggestions">
          {listKeysOf(suggestions).map((k) => (
            <option key={k} value={k} />
          ))}
        </datalist>
        <TextField name="topN" label="Only the top or bottom N groups" inputMode="numeric" defaultValue={values.topN} errors={errors} hint="Empty: every group. Ranked by their mean over the range." />
        <SelectField
          name="topOrder"
          label="Rank"
          defaultValue={values.topOrder}
          errors={errors}
          options={[
            ['top', 'Top (highest)'],
            ['bottom', 'Bottom (lowest)'],
          ]}
        />
        <SelectField name="chart" label="Chart" defaultValue={values.chart} errors={errors} options={WIDGET_CHARTS.map((k): [string, string] => [k, WIDGET_CHART_LABELS[k]])} />
        <SelectField name="unit" label="Unit" defaultValue={values.unit} errors={errors} options={UNITS.map((u): [string, string] => [u, u || 'none'])} />
        <SelectField
          name="width"
          label="Width"
          defaultValue={values.width}
          errors={errors}
          options={[
            ['4', 'One third'],
            ['6', 'Half'],
            ['12', 'Full width'],
          ]}
        />
        <div className="actions">
          <button type="submit">{loaded.widgetId ? 'Save widget' : 'Add widget'}</button>
          <Link to={`/dashboards/${loaded.dashboard.id}`}>Cancel</Link>
        </div>
      </Form>
      {preview ? (
        <section className="widget-preview" data-testid="widget-preview">
          <h2>Preview · last 15 min</h2>
          <p className="muted small" data-testid="widget-match-count">
            {'error' in preview.match
              ? `Path: ${preview.match.error}`
              : preview.match.count > 0
                ? `Matches ${preview.match.count}${preview.match.truncated ? '+' : ''} series.`
                : preview.match.text > 0
                  ? `Matches ${preview.match.text} text leaves: the widget shows them as a state timeline and table.`
                  : preview.path
                    ? `No series match ${preview.path} yet.`
                    : 'Type a path to see what it matches.'}
          </p>
          {!isVegaChart(preview.chart) ? (
            <p className="muted small" data-testid="widget-preview-server">
              {preview.chart === 'table'
                ? 'A table of each series’ last value with its time and age (stale values greyed), drawn by the server as on the dashboard.'
                : 'A state timeline (bands of equal value per series, with the current states), drawn by the server as on the dashboard.'}
            </p>
          ) : null}
          {panel && panel.chart === preview.chart && panel.unit === preview.unit && panel.rate === preview.rate ? (
            'error' in panel ? (
              <p className="error-text" data-testid="widget-preview-error">
                {panel.error}
              </p>
            ) : panel.textSeries > 0 ? (
              <StatePanel series={panel.states} from={panel.from} to={panel.to} now={panel.now} testId="widget-preview-states" show={preview.chart === 'state-timeline' ? 'timeline' : preview.chart === 'table' ? 'table' : 'both'} />
            ) : preview.chart === 'state-timeline' ? (
              <StatePanel series={panel.states} from={panel.from} to={panel.to} now={panel.now} testId="widget-preview-states" show="timeline" />
            ) : preview.chart === 'table' ? (
              <LastValuesTable rows={panel.lastValues} unit={preview.unit} rate={preview.rate} now={panel.now} testId="widget-preview-table" />
            ) : null
          ) : !isVegaChart(preview.chart) ? null : 'series' in preview.match && preview.match.series.length > 0 ? (
            <LiveChart
              key={`${preview.path}|${preview.from}|${JSON.stringify(preview.query ?? null)}`}
              query={preview.query}
              series={preview.match.series}
              rate={preview.rate}
              scale={unitScale(preview.unit, preview.path)}
              aggregate={preview.aggregate}
              groupBy={preview.groupBy}
              kind={preview.chart}
              unit={preview.unit}
              height={preview.chart === 'stat' ? 110 : 200}
              from={preview.from}
              to={preview.to}
              live={false}
              testId="widget-preview-chart"
              label="Widget preview"
            />
          ) : null}
        </section>
      ) : null}
      {loaded.widgetId ? (
        <Link to="?confirm=delete" className="button danger" data-testid="delete-widget">
          Delete widget
        </Link>
      ) : null}
    </section>
  );
}
