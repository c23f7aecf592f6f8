/**
 * The devices view's filter, sort and page, as URL search parameters (bookmarkable,
 * works without JavaScript) and as `ctl` options. Pure: shared by the web app's
 * loaders and pages, the CSV export, bulk actions and `ctl`.
 */
import { z } from 'zod';
import type { SessionState } from './names';

/**
 * States a device can show in the list: the workflow's (core/names SESSION_STATES, written
 * out here so browser code does not load the Temporal modules), plus `not started`.
 */
export const LIST_STATES = ['connecting', 'streaming', 'backoff', 'paused', 'auth-failed', 'config-invalid', 'disabled', 'not started'] as const;
export type ListState = (typeof LIST_STATES)[number];
// Fails to compile when a session state is added to core/names and not here.
const _everySessionState: readonly ListState[] = [] as SessionState[];
void _everySessionState;

/** Actions a bulk operation can take (web and ctl). */
export const BULK_ACTIONS = ['pause', 'resume', 'reconfigure', 'enable', 'disable', 'attach-profile', 'detach-profile', 'delete'] as const;
export type BulkAction = (typeof BULK_ACTIONS)[number];

/** How pages and ctl name each bulk action. */
export const BULK_ACTION_LABELS: Record<BulkAction, string> = {
  pause: 'Pause',
  resume: 'Resume',
  reconfigure: 'Reconfigure',
  enable: 'Enable',
  disable: 'Disable',
  'attach-profile': 'Attach profile',
  'detach-profile': 'Detach profile',
  delete: 'Delete',
};

/** Columns the list sorts on. */
export const SORT_COLUMNS = ['name', 'protocol', 'address', 'site', 'state', 'enabled', 'points', 'seen'] as const;
export type SortColumn = (typeof SORT_COLUMNS)[number];

/** Columns whose first click sorts descending (busiest, most recently seen first). */
export const SORT_DESC_FIRST: readonly SortColumn[] = ['points', 'seen'];

/** Page sizes offered. */
export const PAGE_SIZES = [25, 50, 100, 200] as const;

const blankToUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : typeof v === 'string' ? v.trim() : v);

/** Which devices: every field optional, all AND-ed. */
export const DeviceFilter = z.object({
  /** Prefix of the name or of the address (case-insensitive). */
  q: z.preprocess(blankToUndefined, z.string().max(200).optional()),
  site: z.preprocess(blankToUndefined, z.string().max(200).optional()),
  protocol: z.preprocess(blankToUndefined, z.enum(['gnmi', 'netconf']).optional()),
  state: z.preprocess(blankToUndefined, z.enum(LIST_STATES).optional()),
  /** A subscription profile id attached to the device. */
  profile: z.preprocess(blankToUndefined, z.coerce.number().int().positive().max(2 ** 31 - 1).optional()),
  enabled: z.preprocess(blankToUndefined, z.enum(['yes', 'no']).optional()),
  /** `firing`: devices with a firing alert instance (docs/alerting.md says which rules map to a device). */
  alerts: z.preprocess(blankToUndefined, z.enum(['firing']).optional()),
});
export type DeviceFilter = z.infer<typeof DeviceFilter>;

/** Sort and page. */
export const DeviceListView = z.object({
  sort: z.preprocess(blankToUndefined, z.enum(SORT_COLUMNS).default('name')),
  dir: z.preprocess(blankToUndefined, z.enum(['asc', 'desc']).default('asc')),
  page: z.preprocess(blankToUndefined, z.coerce.number().int().min(1).max(1_000_000).default(1)),
  size: z.preprocess(
    blankToUndefined,
    z.coerce
      .number()
      .int()
      .refine((n) => (PAGE_SIZES as readonly number[]).includes(n))
      .default(50),
  ),
});
export type DeviceListView = z.infer<typeof DeviceListView>;

const FILTER_KEYS = ['q', 'site', 'protocol', 'state', 'profile', 'enabled', 'alerts'] as const;

/** Filter from URL parameters; an invalid value is dropped (a hand-edited URL still shows a list). */
export function filterFromParams(params: URLSearchParams): DeviceFilter {
  const out: DeviceFilter = {};
  for (const key of FILTER_KEYS) {
    const one = DeviceFilter.shape[key].safeParse(params.get(key) ?? undefined);
    if (one.success && one.data !== undefined) (out as Record<string, unknown>)[key] = one.data;
  }
  return out;
}

/** Sort and page from URL parameters, defaults for anything invalid. */
export function viewFromParams(params: URLSearchParams): DeviceListView {
  const pick = (k: 'sort' | 'dir' | 'page' | 'size') => {
    const r = DeviceListView.shape[k].safeParse(params.get(k) ?? undefined);
    return r.success ? r.data : DeviceListView.shape[k].parse(undefined);
  };
  return { sort: pick('sort') as SortColumn, dir: pick('dir') as 'asc' | 'desc', page: pick('page') as number, size: pick('size') as number };
}

/** URL parameters of a filter (and optionally a view), empty values left out. */
export function filterToParams(filter: DeviceFilter, view?: Partial<DeviceListView>): URLSearchParams {
  const p = new URLSearchParams();
  for (const key of FILTER_KEYS) if (filter[key] !== undefined) p.set(key, String(filter[key]));
  if (view) {
    if (view.sort && view.sort !== 'name') p.set('sort', view.sort);
    if (view.dir && view.dir !== 'asc') p.set('dir', view.dir);
    if (view.size && view.size !== 50) p.set('size', String(view.size));
    if (view.page && view.page !== 1) p.set('page', String(view.page));
  }
  return p;
}

/** One line saying what a filter selects, e.g. `site=lab-a state=streaming` ("every device" when empty). */
export function describeFilter(filter: DeviceFilter): string {
  const parts = FILTER_KEYS.filter((k) => filter[k] !== undefined).map((k) => `${k}=${filter[k]}`);
  return parts.length ? parts.join(' ') : 'every device';
}
