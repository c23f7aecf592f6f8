/**
 * The subscription-profile form: gNMI (paths with mode and interval) or
 * NETCONF (method, filter, period), validated by core/device.ts's
 * GnmiProfileSpec / NetconfProfileSpec. Subscriptions are edited as text, one
 * a line: `<path> [sample|on_change|target_defined] [interval, e.g. 10s]`.
 */
import { z } from 'zod';
import { GnmiProfileSpec, NetconfProfileSpec, type GnmiSubscriptionSpec } from '../../../core/device';
import { parsePath } from '../../../core/path';
import { checkSubtreeFilter } from '../../../protocols/netconf/rpc';
import { checkXPathSyntax } from '../../../protocols/netconf/xpath-syntax';
import { NETCONF_DAMPENING_METHODS, NETCONF_PERIOD_METHODS, NETCONF_STREAM_METHODS } from './profile-fields';
import { block, checkbox, formatDuration, parseDuration, text, type FieldErrors } from './forms';

/** Common fields of a profile. */
export const ProfileHead = z.object({
  name: z.string({ error: 'Required' }).min(1, 'Required').max(100).regex(/^[A-Za-z0-9][A-Za-z0-9._: -]*$/, 'Letters, digits, spaces and . _ : - only'),
  protocol: z.enum(['gnmi', 'netconf'], { error: 'Choose gNMI or NETCONF' }),
  description: z.string().max(500).optional(),
  deviceIds: z.array(z.number().int().positive()),
});

/** Parse the subscription lines; every bad line gets its own error, naming the line (`error` holds them one a line). */
export function parseSubscriptionLines(input: string): { subscriptions: Array<Partial<GnmiSubscriptionSpec>>; error?: string; lineErrors: string[] } {
  const subscriptions: Array<Partial<GnmiSubscriptionSpec>> = [];
  const lineErrors: string[] = [];
  const lines = input.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '' || line.startsWith('#')) continue;
    const [path, ...rest] = line.split(/\s+/);
    try {
      parsePath(path);
    } catch (err) {
      lineErrors.push(`Line ${i + 1}: ${(err as Error).message}`);
      continue;
    }
    const sub: Partial<GnmiSubscriptionSpec> = { path };
    const wrong = rest.find((word) => {
      if (word === 'sample' || word === 'on_change' || word === 'target_defined') sub.mode = word;
      else if (word === 'suppress-redundant') sub.suppressRedundant = true;
      else if (parseDuration(word) !== undefined) sub.sampleIntervalMs = parseDuration(word);
      else return true;
      return false;
    });
    if (wrong !== undefined) lineErrors.push(`Line ${i + 1}: "${wrong}" is not a mode (sample, on_change, target_defined) or an interval (e.g. 10s)`);
    else subscriptions.push(sub);
  }
  return lineErrors.length ? { subscriptions, error: lineErrors.join('\n'), lineErrors } : { subscriptions, lineErrors };
}

/** A filter's syntax problem (subtree: well-formed XML without a DOCTYPE; XPath: XPath 1.0), or undefined. */
export function filterProblem(filterType: string | undefined, filter: string): string | undefined {
  try {
    if (filterType === 'xpath') checkXPathSyntax(filter);
    else checkSubtreeFilter(filter);
    return undefined;
  } catch (err) {
    return filterType === 'xpath' ? `Not an XPath 1.0 expression: ${(err as Error).message}` : (err as Error).message.replace(/^subtree filter/, 'The subtree filter');
  }
}

/** Render subscriptions as the editable lines. */
export function formatSubscriptionLines(subs: GnmiSubscriptionSpec[]): string {
  return subs
    .map((s) => [s.path, s.mode, s.mode === 'sample' ? formatDuration(s.sampleIntervalMs) : '', s.suppressRedundant ? 'suppress-redundant' : ''].filter(Boolean).join(' '))
    .join('\n');
}

const dur = (form: FormData, name: string): number | string | undefined => {
  const t = text(form, name);
  if (t === undefined) return undefined;
  return parseDuration(t) ?? t;
};

/** Validated profile, or field errors keyed by form field name. */
export function parseProfileForm(form: FormData):
  | { ok: true; head: z.infer<typeof ProfileHead>; spec: GnmiProfileSpec | NetconfProfileSpec }
  | { ok: false; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const head = ProfileHead.safeParse({
    name: text(form, 'name') ?? '',
    protocol: text(form, 'protocol'),
    description: text(form, 'description'),
    deviceIds: form.getAll('deviceIds').map(Number).filter((n) => Number.isInteger(n) && n > 0),
  });
  if (!head.success) for (const i of head.error.issues) errors[i.path.join('.')] ??= i.message;
  const protocol = text(form, 'protocol') === 'netconf' ? 'netconf' : 'gnmi';
  let spec: GnmiProfileSpec | NetconfProfileSpec | undefined;
  const numberMsg = (v: unknown) => (typeof v === 'string' ? `"${v}" is not a duration (e.g. 10s)` : undefined);
  if (protocol === 'gnmi') {
    const lines = parseSubscriptionLines(String(form.get('gnmi.subscriptions') ?? ''));
    if (lines.error) errors['gnmi.subscriptions'] = lines.error;
    const mode = text(form, 'gnmi.mode');
    const input = {
      mode,
      // Only POLL uses the poll interval (the form shows it only then).
      pollIntervalMs: mode === 'poll' ? dur(form, 'gnmi.pollInterval') : undefined,
      updatesOnly: checkbox(form, 'gnmi.updatesOnly'),
      origin: text(form, 'gnmi.origin'),
      prefix: text(form, 'gnmi.prefix'),
      encoding: text(form, 'gnmi.encoding'),
      subscriptions: lines.subscriptions,
    };
    const parsed = GnmiProfileSpec.safeParse(input);
    if (parsed.success) spec = parsed.data;
    else
      for (const i of parsed.error.issues) {
        const key = i.path[0] === 'subscriptions' ? 'gnmi.subscriptions' : i.path[0] === 'pollIntervalMs' ? 'gnmi.pollInterval' : `gnmi.${String(i.path[0])}`;
        errors[key] ??= (i.path[0] === 'pollIntervalMs' && numberMsg(input.pollIntervalMs)) || (i.path[0] === 'subscriptions' && i.path.length === 1 ? 'Add at least one path' : i.message);
      }
  } else {
    // Only the fields of the chosen method are read (the form shows only these).
    const method = text(form, 'netconf.method') ?? 'get';
    const input = {
      method,
      filterType: text(form, 'netconf.filterType'),
      filter: block(form, 'netconf.filter'),
      select: text(form, 'netconf.select'),
      periodMs: NETCONF_PERIOD_METHODS.includes(method) ? dur(form, 'netconf.period') : undefined,
      dampeningMs: NETCONF_DAMPENING_METHODS.includes(method) ? (dur(form, 'netconf.dampening') ?? 0) : 0,
      stream: NETCONF_STREAM_METHODS.includes(method) ? text(form, 'netconf.stream') : undefined,
    };
    if (input.filter) {
      const problem = filterProblem(input.filterType, input.filter);
      if (problem) errors['netconf.filter'] = problem;
    }
    const parsed = NetconfProfileSpec.safeParse(input);
    if (parsed.success) spec = parsed.data;
    else
      for (const i of parsed.error.issues) {
        const field = String(i.path[0]);
        const key = field === 'periodMs' ? 'netconf.period' : field === 'dampeningMs' ? 'netconf.dampening' : `netconf.${field}`;
        errors[key] ??= (field === 'periodMs' && numberMsg(input.periodMs)) || (field === 'filter' && !input.filter ? 'Required' : i.message);
      }
  }
  if (!head.success || !spec || Object.keys(errors).length) return { ok: false, errors };
  return { ok: true, head: head.data, spec };
}
