/** The dashboards-and-widgets repository, and the seeded "Fleet overview". */
import type { Knex } from 'knex';

/** A widget row as pages use it. */
export interface WidgetRow {
  id: number;
  dashboard_id: number;
  title: string;
  device_id: number | null;
  path: string;
  aggregate: 'none' | 'sum' | 'avg' | 'max' | 'min' | 'count' | 'last';
  /** series, device, all, site, protocol, or a list key of the path such as `interface[name]`. */
  group_by: string;
  rate: boolean;
  /** Vega charts, or the server-rendered state timeline and table of last values. */
  chart: 'line' | 'area' | 'stacked-area' | 'bar' | 'stat' | 'state-timeline' | 'table';
  unit: string;
  width: number;
  position: number;
  /** Only the N groups with the highest (top) or lowest (bottom) mean over the range; null: every group. */
  top_n: number | null;
  top_order: 'top' | 'bottom';
}

/** What a widget shows (the web app's validated widget form is one). */
export interface WidgetSpec {
  title: string;
  deviceId: number | null;
  path: string;
  aggregate: WidgetRow['aggregate'];
  groupBy: WidgetRow['group_by'];
  rate: boolean;
  chart: WidgetRow['chart'];
  unit: string;
  width: number;
  /** Top/bottom N of the groups (fleet query model); absent: every group. */
  topN?: number | null;
  topOrder?: WidgetRow['top_order'];
}

/** A dashboard row. */
export interface DashboardRow {
  id: number;
  name: string;
  description: string | null;
  time_range: string;
  live: boolean;
}

/** A dashboard, or undefined. */
export async function getDashboard(db: Knex, id: number): Promise<DashboardRow | undefined> {
  if (!Number.isInteger(id) || id <= 0 || id >= 2 ** 31) return undefined;
  return db('dashboards').where({ id }).first('id', 'name', 'description', 'time_range', 'live');
}

/** A dashboard in the list, with its widget count. */
export interface DashboardListItem {
  id: number;
  name: string;
  description: string | null;
  time_range: string;
  widgets: number;
}

/** Every dashboard by name, with how many widgets each has. */
export async function listDashboards(db: Knex): Promise<DashboardListItem[]> {
  return db('dashboards as d')
    .leftJoin('widgets as w', 'w.dashboard_id', 'd.id')
    .groupBy('d.id')
    .orderBy('d.name')
    .select('d.id', 'd.name', 'd.description', 'd.time_range', db.raw('count(w.id)::int AS widgets'));
}

/** What a dashboard form sets. */
export interface DashboardSpec {
  name: string;
  description?: string | null;
  timeRange: string;
  live: boolean;
}

/** Whether another dashboard (other than `exceptId`) has this name. */
export async function dashboardNameTaken(db: Knex, name: string, exceptId?: number): Promise<boolean> {
  const q = db('dashboards').where({ name });
  if (exceptId !== undefined) q.whereNot({ id: exceptId });
  return Boolean(await q.first('id'));
}

/** Create a dashboard; returns its id. */
export async function createDashboard(db: Knex, d: DashboardSpec, createdBy: number): Promise<number> {
  const [row] = await db('dashboards')
    .insert({ name: d.name, description: d.description ?? null, time_range: d.timeRange, live: d.live, created_by: createdBy })
    .returning('id');
  return row.id;
}

/** Change a dashboard's name and defaults. */
export async function updateDashboard(db: Knex, id: number, d: DashboardSpec): Promise<void> {
  await db('dashboards')
    .where({ id })
    .update({ name: d.name, description: d.description ?? null, time_range: d.timeRange, live: d.live, updated_at: db.fn.now() });
}

/** Delete a dashboard (its widgets go with it). */
export async function deleteDashboard(db: Knex, id: number): Promise<void> {
  await db('dashboards').where({ id }).delete();
}

/** A widget of a dashboard, or undefined. */
export async function getWidget(db: Knex, dashboardId: number, id: number): Promise<WidgetRow | undefined> {
  if (!Number.isInteger(id) || id <= 0 || id >= 2 ** 31) return undefined;
  return db('widgets').where({ id, dashboard_id: dashboardId }).first();
}

/** Change what a widget shows. */
export async function updateWidget(db: Knex, id: number, w: WidgetSpec): Promise<void> {
  await db('widgets').where({ id }).update(widgetColumns(w));
}

/** Delete a widget; with `dashboardId`, only when it belongs to that dashboard. */
export async function deleteWidget(db: Knex, id: number, dashboardId?: number): Promise<void> {
  await db('widgets')
    .where(dashboardId === undefined ? { id } : { id, dashboard_id: dashboardId })
    .delete();
}

/** Widgets of a dashboard in grid order. */
export async function listWidgets(db: Knex, dashboardId: number): Promise<WidgetRow[]> {
  return db('widgets').where({ dashboard_id: dashboardId }).orderBy(['position', 'id']);
}

/** Widget columns from a widget spec. */
export function widgetColumns(w: WidgetSpec) {
  return {
    title: w.title,
    device_id: w.deviceId,
    path: w.path,
    aggregate: w.aggregate,
    group_by: w.groupBy,
    rate: w.rate,
    chart: w.chart,
    unit: w.unit,
    width: w.width,
    top_n: w.topN ?? null,
    top_order: w.topOrder ?? 'top',
  };
}

/** Append a widget at the end of a dashboard. */
export async function addWidget(db: Knex, dashboardId: number, w: WidgetSpec): Promise<number> {
  const max = await db('widgets').where({ dashboard_id: dashboardId }).max<{ m: number | null }[]>({ m: 'position' }).first();
  const [row] = await db('widgets')
    .insert({ dashboard_id: dashboardId, position: (max?.m ?? -1) + 1, ...widgetColumns(w) })
    .returning('id');
  return row.id;
}

/** Move a widget one place up or down. */
export async function moveWidget(db: Knex, dashboardId: number, widgetId: number, by: -1 | 1): Promise<void> {
  await db.transaction(async (trx) => {
    const widgets = (await trx('widgets').where({ dashboard_id: dashboardId }).orderBy(['position', 'id']).select('id')) as Array<{ id: number }>;
    const i = widgets.findIndex((w) => w.id === widgetId);
    const j = i + by;
    if (i < 0 || j < 0 || j >= widgets.length) return;
    [widgets[i], widgets[j]] = [widgets[j], widgets[i]];
    for (let k = 0; k < widgets.length; k++) await trx('widgets').where({ id: widgets[k].id }).update({ position: k });
  });
}

/** Name of the dashboard seeded for the simulated fleet. */
export const FLEET_OVERVIEW = 'Fleet overview';

/**
 * Widgets of the fleet overview: every device, by pattern, so devices added later appear too.
 * Interface widgets name metrics (core/path-equivalence.ts), so NETCONF devices
 * (ietf-interfaces) count beside OpenConfig ones.
 */
export const FLEET_OVERVIEW_WIDGETS: WidgetSpec[] = [
  { title: 'Inbound traffic, whole fleet', deviceId: null, path: 'interfaces: in-octets', aggregate: 'sum', groupBy: 'all', rate: true, chart: 'stat', unit: 'bits/s', width: 4 },
  { title: 'Outbound traffic, whole fleet', deviceId: null, path: 'interfaces: out-octets', aggregate: 'sum', groupBy: 'all', rate: true, chart: 'stat', unit: 'bits/s', width: 4 },
  { title: 'Hottest chassis', deviceId: null, path: '/components/component[name=*]/state/temperature/instant', aggregate: 'max', groupBy: 'all', rate: false, chart: 'stat', unit: '°C', width: 4 },
  // Computed on the server over every interface (issue 17): a breakdown per site and the ten busiest interfaces.
  { title: 'Inbound traffic by site', deviceId: null, path: 'interfaces: in-octets', aggregate: 'sum', groupBy: 'site', rate: true, chart: 'line', unit: 'bits/s', width: 6 },
  { title: 'Busiest interfaces (inbound, top 10)', deviceId: null, path: 'interfaces: in-octets', aggregate: 'sum', groupBy: 'series', rate: true, chart: 'table', unit: 'bits/s', width: 6, topN: 10, topOrder: 'top' },
  { title: 'Inbound traffic by device', deviceId: null, path: 'interfaces: in-octets', aggregate: 'sum', groupBy: 'device', rate: true, chart: 'line', unit: 'bits/s', width: 12 },
  { title: 'CPU by device', deviceId: null, path: '/components/component[name=*]/cpu/utilization/state/instant', aggregate: 'max', groupBy: 'device', rate: false, chart: 'line', unit: '%', width: 6 },
  { title: 'Temperature by device', deviceId: null, path: '/components/component[name=*]/state/temperature/instant', aggregate: 'max', groupBy: 'device', rate: false, chart: 'line', unit: '°C', width: 6 },
  { title: 'Inbound errors by device', deviceId: null, path: 'interfaces: in-errors', aggregate: 'sum', groupBy: 'device', rate: true, chart: 'bar', unit: '/s', width: 12 },
];

/** The OpenConfig paths earlier seeds gave the interface widgets, by the metric that replaces them. */
const SEEDED_OPENCONFIG_PATHS: Record<string, string> = {
  'interfaces: in-octets': '/interfaces/interface[name=*]/state/counters/in-octets',
  'interfaces: out-octets': '/interfaces/interface[name=*]/state/counters/out-octets',
  'interfaces: in-errors': '/interfaces/interface[name=*]/state/counters/in-errors',
};

/** Widgets of the fleet overview added after its first seed: an earlier Fleet overview nobody changed gains them (at its end). */
const ADDED_LATER = ['Inbound traffic by site', 'Busiest interfaces (inbound, top 10)'];

/** Create the fleet overview dashboard unless one with its name exists; returns its id. */
export async function ensureFleetOverview(db: Knex): Promise<number> {
  const existing = await db('dashboards').where({ name: FLEET_OVERVIEW }).first('id');
  if (existing) {
    // Seeded before metrics existed: its interface widgets covered OpenConfig devices only.
    for (const w of FLEET_OVERVIEW_WIDGETS) {
      const before = SEEDED_OPENCONFIG_PATHS[w.path];
      if (before) await db('widgets').where({ dashboard_id: existing.id, title: w.title, path: before }).update({ path: w.path });
    }
    // Only while it holds exactly the earlier seed's widgets: a dashboard someone edited (or these widgets deleted) stays as it is.
    const titles = ((await db('widgets').where({ dashboard_id: existing.id }).select('title')) as Array<{ title: string }>).map((r) => r.title).sort();
    const earlier = FLEET_OVERVIEW_WIDGETS.filter((x) => !ADDED_LATER.includes(x.title)).map((x) => x.title).sort();
    if (titles.join('\n') === earlier.join('\n')) {
      for (const w of FLEET_OVERVIEW_WIDGETS.filter((x) => ADDED_LATER.includes(x.title))) await addWidget(db, existing.id, w);
    }
    return existing.id;
  }
  return db.transaction(async (trx) => {
    const [row] = await trx('dashboards')
      .insert({ name: FLEET_OVERVIEW, description: 'Every device of the fleet: traffic, CPU, temperature, errors', time_range: '15m', live: true })
      .onConflict('name')
      .ignore()
      .returning('id');
    if (!row) return (await trx('dashboards').where({ name: FLEET_OVERVIEW }).first('id')).id;
    await trx('widgets').insert(FLEET_OVERVIEW_WIDGETS.map((w, position) => ({ dashboard_id: row.id, position, ...widgetColumns(w) })));
    return row.id;
  });
}
