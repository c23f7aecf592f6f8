/**
 * Create (/profiles/new) or view and edit (/profiles/:id) a subscription
 * profile and the devices it is attached to. Saving reconfigures every device
 * whose collection changed. Viewers see the profile read-only.
 */
import { useEffect, useState } from 'react';
import { Form, Link, data, redirect, useActionData, useLoaderData } from 'react-router';
import type { Route } from './+types/profile-edit';
import { requireAdminAction, requireUser } from '../lib/auth.server';
import { ctx } from '../lib/context.server';
import { formatDuration, submittedValues, type FieldErrors } from '../lib/forms';
import { formatSubscriptionLines, parseProfileForm } from '../lib/profile-form';
import { NETCONF_DAMPENING_METHODS, NETCONF_PERIOD_METHODS, NETCONF_STREAM_METHODS, PROFILE_EXPLAINED } from '../lib/profile-fields';
import { gnmiEncodingOptions } from '../lib/device-form';
import { reconfigureSession } from '../lib/sessions.server';
import { listDeviceItems, parseProfileRow } from '../../../storage/devices';
import { deleteProfile, getProfile, profileDeviceIds, profileNameTaken, saveProfile } from '../../../storage/profiles';
import { foreignDevicesRefusal } from '../../../core/profile-protocol';
import { CheckField, ProtocolField, SelectField, TextArea, TextField } from '../components/Field';

export function meta({ data }: Route.MetaArgs) {
  return [{ title: `${data?.profile ? data.profile.name : 'New profile'} · switch-telemetry` }];
}

type Values = Record<string, string>;

async function loadProfile(params: Route.LoaderArgs['params']) {
  if (!('profileId' in params) || params.profileId === undefined) return undefined;
  const id = Number(params.profileId);
  const row = await getProfile(ctx().db, id);
  if (!row) throw data('No such profile', { status: 404 });
  return row;
}

function profileValues(row: NonNullable<Awaited<ReturnType<typeof loadProfile>>>, deviceIds: number[]): Values {
  const v: Values = { name: row.name, protocol: row.protocol, description: row.description ?? '', deviceIds: deviceIds.join(',') };
  try {
    const p = parseProfileRow(row);
    if (p.gnmi) {
      Object.assign(v, {
        'gnmi.mode': p.gnmi.mode,
        'gnmi.pollInterval': formatDuration(p.gnmi.pollIntervalMs),
        'gnmi.updatesOnly': p.gnmi.updatesOnly ? 'on' : '',
        'gnmi.origin': p.gnmi.origin ?? '',
        'gnmi.prefix': p.gnmi.prefix ?? '',
        'gnmi.encoding': p.gnmi.encoding ?? '',
        'gnmi.subscriptions': formatSubscriptionLines(p.gnmi.subscriptions),
      });
    } else if (p.netconf) {
      Object.assign(v, {
        'netconf.method': p.netconf.method,
        'netconf.filterType': p.netconf.filterType,
        'netconf.filter': p.netconf.filter,
        'netconf.select': p.netconf.select ?? 'as-written',
        'netconf.period': formatDuration(p.netconf.periodMs),
        'netconf.dampening': formatDuration(p.netconf.dampeningMs),
        'netconf.stream': p.netconf.stream,
      });
    }
  } catch {
    // An invalid stored profile is shown with what can be read; saving fixes it.
  }
  return v;
}

export async function loader({ request, params }: Route.LoaderArgs) {
  const user = await requireUser(request);
  const { db } = ctx();
  const row = await loadProfile(params);
  if (!row && user.role !== 'admin') throw data('Only admins can change this.', { status: 403 });
  const devices = (await listDeviceItems(db)).map(({ id, name, protocol }) => ({ id, name, protocol }));
  const attached = row ? await profileDeviceIds(db, row.id) : [];
  const values: Values = row
    ? profileValues(row, attached)
    : { protocol: 'gnmi', 'gnmi.mode': 'stream', 'gnmi.pollInterval': '10s', 'gnmi.subscriptions': '/interfaces/interface/state/counters sample 10s', 'netconf.method': 'get', 'netconf.period': '10s', 'netconf.stream': 'NETCONF' };
  return { canEdit: user.role === 'admin', profile: row ? { id: row.id, name: row.name } : null, devices, values };
}

export async function action({ request, params }: Route.ActionArgs) {
  const user = await requireAdminAction(request);
  const { db } = ctx();
  const row = await loadProfile(params);
  const form = await request.formData();
  // Without JavaScript, "Show the fields" re-renders the form for the chosen protocol, mode and method (nothing saved).
  if (form.get('intent') === 'fields') return data({ values: submittedValues(form), errors: {} as FieldErrors });
  if (row && form.get('intent') === 'delete') {
    const attached = await profileDeviceIds(db, row.id);
    await deleteProfile(db, row.id);
    await reconfigureDevices(attached, `profile ${row.name} deleted by ${user.email}`);
    return redirect('/profiles');
  }
  const parsed = parseProfileForm(form);
  const values = submittedValues(form);
  if (!parsed.ok) return data({ values, errors: parsed.errors }, 400);
  if (await profileNameTaken(db, parsed.head.name, row?.id)) return data({ values, errors: { name: 'Another profile has this name' } as FieldErrors }, 400);
  const { head, spec } = parsed;
  // Only devices of the profile's protocol can use it: others ticked (e.g. the protocol changed without JavaScript) are refused, naming them.
  const ticked = await listDeviceItems(db, { ids: head.deviceIds });
  const refused = foreignDevicesRefusal(head.protocol, ticked);
  if (refused) return data({ values, errors: { deviceIds: refused } as FieldErrors }, 400);
  const sameProtocol = ticked.map((d) => d.id);
  const before = row ? await profileDeviceIds(db, row.id) : [];
  const id = await saveProfile(db, { id: row?.id, name: head.name, protocol: head.protocol, description: head.description ?? null, spec }, sameProtocol);
  await reconfigureDevices([...new Set([...before, ...sameProtocol])], `profile ${head.name} changed by ${user.email}`);
  return redirect(`/profiles/${id}`);
}

async function reconfigureDevices(ids: number[], reason: string) {
  if (ids.length === 0) return;
  const devices = await listDeviceItems(ctx().db, { ids });
  await Promise.all(devices.map((d) => reconfigureSession(d, reason).catch(() => undefined)));
}

export default function ProfileEdit() {
  const loaded = useLoaderData<typeof loader>();
  const failed = useActionData<typeof action>();
  const values: Values = failed?.values ?? loaded.values;
  const errors: FieldErrors = failed?.errors ?? {};
  const { profile, devices, canEdit } = loaded;
  const attached = new Set((values.deviceIds ?? '').split(',').filter(Boolean).map(Number));
  // Only the fields of the chosen protocol (and gNMI mode / NETCONF method) are rendered, on the server too (ADR 094).
  const [protocol, setProtocol] = useState(values.protocol === 'netconf' ? 'netconf' : 'gnmi');
  const [mode, setMode] = useState(values['gnmi.mode'] ?? 'stream');
  const [method, setMethod] = useState(values['netconf.method'] ?? 'get');
  const [hydrated, setHydrated] = useState(false);
  useEffect(() => setHydrated(true), []);
  useEffect(() => {
    setProtocol(values.protocol === 'netconf' ? 'netconf' : 'gnmi');
    setMode(values['gnmi.mode'] ?? 'stream');
    setMethod(values['netconf.method'] ?? 'get');
  }, [values]);
  const { 'gnmi.subscriptions': subscriptionErrors, ...otherErrors } = errors;
  const showFields = hydrated ? null : (
    <button type="submit" name="intent" value="fields" className="secondary" formNoValidate data-testid="show-fields">
      Show the fields of this choice
    </button>
  );
  return (
    <section>
      <h1>{profile ? profile.name : 'New subscription profile'}</h1>
      <p className="muted" data-testid="profile-explained">{PROFILE_EXPLAINED}</p>
      <Form method="post" className="form profile-form" noValidate>
        <fieldset disabled={!canEdit}>
          <legend>Profile</legend>
          <TextField name="name" label="Name" defaultValue={values.name} errors={errors} />
          <ProtocolField defaultValue={values.protocol} errors={errors} onProtocol={setProtocol} />
          {showFields}
          <TextField name="description" label="Description" defaultValue={values.description} errors={errors} />
        </fieldset>
        {protocol === 'gnmi' ? (
        <fieldset className="proto-gnmi" disabled={!canEdit}>
          <legend>gNMI</legend>
          <SelectField
            name="gnmi.mode"
            label="Subscription mode"
            defaultValue={values['gnmi.mode']}
            errors={errors}
            options={[
              ['stream', 'STREAM'],
              ['poll', 'POLL'],
              ['once', 'ONCE'],
            ]}
            onChange={(e) => setMode(e.currentTarget.value)}
          />
          {showFields}
          {mode === 'poll' ? <TextField name="gnmi.pollInterval" label="Poll interval" defaultValue={values['gnmi.pollInterval']} errors={errors} /> : null}
          <TextArea
            name="gnmi.subscriptions"
            label="Paths"
            rows={6}
            className="mono"
            defaultValue={values['gnmi.subscriptions']}
            errors={otherErrors}
            aria-invalid={subscriptionErrors ? true : undefined}
            hint="One a line: path, then mode (sample, on_change, target_defined) and sample interval, e.g. /interfaces/interface/state/counters sample 1s"
          />
          {subscriptionErrors ? (
            <ul className="field-error" data-testid="error-gnmi.subscriptions">
              {subscriptionErrors.split('\n').map((line) => (
                <li key={line}>{line}</li>
              ))}
            </ul>
          ) : null}
          <CheckField name="gnmi.updatesOnly" label="Updates only (skip the initial sync)" defaultChecked={values['gnmi.updatesOnly'] === 'on'} />
          <TextField name="gnmi.origin" label="Origin" defaultValue={values['gnmi.origin']} errors={errors} />
          <TextField name="gnmi.prefix" label="Prefix" defaultValue={values['gnmi.prefix']} errors={errors} />
          <SelectField
            name="gnmi.encoding"
            label="Encoding"
            defaultValue={values['gnmi.encoding']}
            errors={errors}
            options={gnmiEncodingOptions('Device setting / automatic')}
          />
        </fieldset>
        ) : (
        <fieldset className="proto-netconf" disabled={!canEdit}>
          <legend>NETCONF</legend>
          <SelectField
            name="netconf.method"
            label="Method"
            defaultValue={values['netconf.method']}
            errors={errors}
            options={[
              ['get', '<get> polling'],
              ['get-data', '<get-data> polling (NMDA, operational datastore)'],
              ['yang-push-periodic', 'YANG-push periodic'],
              ['yang-push-on-change', 'YANG-push on-change'],
              ['notifications', 'RFC 5277 notifications'],
            ]}
            onChange={(e) => setMethod(e.currentTarget.value)}
          />
          {showFields}
          <SelectField
            name="netconf.filterType"
            label="Filter type"
            defaultValue={values['netconf.filterType']}
            errors={errors}
            options={[
              ['subtree', 'Subtree'],
              ['xpath', 'XPath'],
            ]}
          />
          <TextArea name="netconf.filter" label="Filter" rows={4} className="mono" defaultValue={values['netconf.filter']} errors={errors} />
          <SelectField
            name="netconf.select"
            label="Tree"
            defaultValue={values['netconf.select']}
            errors={errors}
            options={[
              ['as-written', 'The filter as written'],
              ['interfaces-auto', 'ietf-interfaces as the device advertises it (NMDA /interfaces, else /interfaces-state)'],
            ]}
          />
          {NETCONF_PERIOD_METHODS.includes(method) ? (
            <TextField name="netconf.period" label={method.startsWith('yang-push') ? 'Push period' : 'Poll period'} defaultValue={values['netconf.period']} errors={errors} hint="e.g. 5s" />
          ) : null}
          {NETCONF_DAMPENING_METHODS.includes(method) ? <TextField name="netconf.dampening" label="Dampening" defaultValue={values['netconf.dampening']} errors={errors} hint="e.g. 1s; 0 for none" /> : null}
          {NETCONF_STREAM_METHODS.includes(method) ? <TextField name="netconf.stream" label="Notification stream" defaultValue={values['netconf.stream']} errors={errors} /> : null}
        </fieldset>
        )}
        <fieldset disabled={!canEdit}>
          <legend>Attached devices</legend>
          {errors.deviceIds ? (
            <p className="field-error" data-testid="error-deviceIds">
              {errors.deviceIds}
            </p>
          ) : null}
          {devices.filter((d) => d.protocol === protocol).map((d) => (
            <label className="check" key={d.id}>
              <input type="checkbox" name="deviceIds" value={d.id} defaultChecked={attached.has(d.id)} /> {d.name} <span className="muted">({d.protocol})</span>
            </label>
          ))}
        </fieldset>
        {canEdit ? (
          <div className="actions">
            <button type="submit">{profile ? 'Save profile' : 'Create profile'}</button>
            <Link to="/profiles">Cancel</Link>
          </div>
        ) : null}
      </Form>
      {canEdit && profile ? (
        <Form method="post" className="inline">
          <input type="hidden" name="intent" value="delete" />
          <button type="submit" className="danger">
            Delete profile
          </button>
        </Form>
      ) : null}
    </section>
  );
}
