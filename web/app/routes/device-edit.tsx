/**
 * Create (/devices/new) or edit (/devices/:id/edit) a device. One schema
 * (lib/device-form.ts, built on core/device.ts) validates; secrets are
 * write-only; a new device gets its session workflow, an edited one a
 * reconfigure.
 */
import { useEffect, useState } from 'react';
import { Form, Link, data, redirect, useActionData, useLoaderData, useNavigation } from 'react-router';
import type { Route } from './+types/device-edit';
import { requireAdmin, requireAdminAction } from '../lib/auth.server';
import { ctx } from '../lib/context.server';
import { DeviceForm, SECRET_FIELDS, TLS_MODE_LABELS, deviceFormInput, gnmiEncodingOptions } from '../lib/device-form';
import { deviceNameTaken, deviceProfileIds, getDevice, insertDevice, storedSecretNames, updateDevice } from '../lib/devices.server';
import { fieldErrors, submittedValues, type FieldErrors } from '../lib/forms';
import { setFlash } from '../lib/flash.server';
import { isSecretsUnreadable } from '../../../storage/secrets';
import { listProfiles, profileProtocols } from '../../../storage/profiles';
import { foreignProfilesRefusal } from '../../../core/profile-protocol';
import { reconfigureSession, startSession } from '../lib/sessions.server';
import { testConnection } from '../lib/probe.server';
import { pinHostKeyOnFirstUse, recordDeviceEvent } from '../../../storage/device-events';
import type { ProbeDeviceResult } from '../../../core/names';
import { CheckField, ProtocolField, SelectField, TextArea, TextField } from '../components/Field';
import { useTimeZone } from '../components/TimeZone';
import { formatStamp } from '../lib/time-format';

export function meta({ data }: Route.MetaArgs) {
  return [{ title: `${data?.device ? `Edit ${data.device.name}` : 'Add device'} · switch-telemetry` }];
}

type Values = Record<string, string>;

function deviceValues(d: NonNullable<Awaited<ReturnType<typeof getDevice>>>, profileIds: number[]): Values {
  const g = d.settings?.gnmi ?? {};
  const n = d.settings?.netconf ?? {};
  const v: Values = {
    name: d.name,
    protocol: d.protocol,
    host: d.host,
    port: String(d.port),
    username: d.username ?? '',
    site: d.site ?? '',
    enabled: d.enabled ? 'on' : '',
    profileIds: profileIds.join(','),
    'gnmi.tls': g.tls ?? 'tls',
    'gnmi.caCert': g.caCert ?? '',
    'gnmi.serverName': g.serverName ?? '',
    'gnmi.clientCert': g.clientCert ?? '',
    'gnmi.allowPlaintextCredentials': g.allowPlaintextCredentials ? 'on' : '',
    'gnmi.allowUnverifiedCredentials': g.allowUnverifiedCredentials ? 'on' : '',
    'gnmi.encoding': g.encoding ?? '',
    'gnmi.target': g.target ?? '',
    'gnmi.capabilitiesTimeoutMs': g.capabilitiesTimeoutMs ? String(g.capabilitiesTimeoutMs) : '',
    'gnmi.maxMessageBytes': g.maxMessageBytes ? String(g.maxMessageBytes) : '',
    'netconf.hostKeySha256': n.hostKeySha256 ?? '',
    'netconf.acceptNewHostKey': n.acceptNewHostKey ? 'on' : '',
    'netconf.maxMessageBytes': n.maxMessageBytes ? String(n.maxMessageBytes) : '',
  };
  return v;
}

async function loadTarget(params: Route.LoaderArgs['params']) {
  if (!('deviceId' in params) || params.deviceId === undefined) return undefined;
  const device = await getDevice(ctx().db, Number(params.deviceId));
  if (!device) throw data('No such device', { status: 404 });
  return device;
}

export async function loader({ request, params }: Route.LoaderArgs) {
  await requireAdmin(request);
  const { db, keyring } = ctx();
  const device = await loadTarget(params);
  const profiles = await listProfiles(db);
  const values: Values = device
    ? deviceValues(device, await deviceProfileIds(db, device.id))
    : { protocol: 'gnmi', port: '57400', enabled: 'on', 'gnmi.tls': 'tls', profileIds: profiles.filter((p) => p.protocol === 'gnmi').slice(0, 1).map((p) => p.id).join(',') };
  const secrets = device ? await storedSecretNames(db, keyring, device.id) : [];
  return { device: device ? { id: device.id, name: device.name } : null, profiles, values, secrets };
}

export async function action({ request, params }: Route.ActionArgs) {
  const user = await requireAdminAction(request);
  const { db, keyring } = ctx();
  const device = await loadTarget(params);
  const form = await request.formData();
  const values = submittedValues(form, SECRET_FIELDS);
  // Without JavaScript, "Show the fields of this protocol" re-renders the form for the chosen protocol (nothing saved).
  if (form.get('intent') === 'protocol') return data({ values, errors: {} as FieldErrors });
  // Trust on first use (ADR 127): pin the host key Test connection showed, by an explicit click, recorded.
  if (form.get('intent') === 'pin-host-key') {
    const fingerprint = String(form.get('presentedHostKey') ?? '');
    if (!FINGERPRINT.test(fingerprint)) return data({ values, errors: { 'netconf.hostKeySha256': 'Not a SHA256 fingerprint: run Test connection again' } as FieldErrors }, 400);
    // A new device: the key goes into its form and is pinned (and recorded) when the device is added.
    if (!device) return data({ values: { ...values, 'netconf.hostKeySha256': fingerprint }, errors: {} as FieldErrors });
    const pin = await pinHostKeyOnFirstUse(ctx().db, device.id, fingerprint, user.email, 'test connection');
    if (pin.outcome === 'refused') {
      return data({ values, errors: { 'netconf.hostKeySha256': `Not pinned: ${device.name} already has the pinned key ${pin.pinned}, and the device presented ${fingerprint}. A changed key is never trusted by a click; forget the pinned key on the device page first if the change is expected.` } as FieldErrors }, 409);
    }
    let message = `Pinned the SSH host key ${fingerprint} of ${device.name}. Test connection again to fetch a sample.`;
    await reconfigureSession(device, `host key pinned in the web app by ${user.email}`).catch((err: Error) => (message += ` The session was not told: ${err.message}`));
    return redirect(`/devices/${device.id}/edit`, { headers: { 'Set-Cookie': await setFlash({ kind: 'info', message }) } });
  }
  const parsed = DeviceForm.safeParse(deviceFormInput(form));
  // "Test connection" probes the unsaved values and saves nothing (ADR 091).
  const testing = form.get('intent') === 'test';
  let errors: FieldErrors = parsed.success ? {} : fieldErrors(parsed.error);
  if (parsed.success && !testing && (await deviceNameTaken(db, parsed.data.name, device?.id))) errors = { name: 'Another device has this name' };
  if (parsed.success && !errors.profileIds) {
    // A profile of the other protocol would be dropped silently by the session: refuse it, naming it.
    const refused = foreignProfilesRefusal(parsed.data.protocol, await profileProtocols(db, parsed.data.profileIds));
    if (refused) errors = { ...errors, profileIds: refused };
  }
  if (!parsed.success || Object.keys(errors).length) return data({ values, errors }, 400);
  const input = parsed.data;
  if (testing) return data({ values, errors, probe: await testConnection(input, device?.id) });
  let row;
  let warning = '';
  if (device) {
    try {
      row = await updateDevice(db, keyring, device.id, input);
    } catch (err) {
      // Nothing saved: the stored credentials are kept as they are, and the admin is told why (ADR 044).
      if (isSecretsUnreadable(err)) return data({ values, errors: { 'secrets.password': `Not saved: the stored credentials cannot be decrypted (${err.message}).` } }, 409);
      throw err;
    }
    // A pinned key typed, changed or cleared in the form is recorded like one pinned from Test connection.
    const before = device.settings?.netconf?.hostKeySha256 ?? '';
    const after = row.protocol === 'netconf' ? (input.netconf?.hostKeySha256 ?? '') : before;
    if (after !== before) {
      await recordDeviceEvent(db, { deviceId: row.id, deviceName: row.name, actor: user.email, kind: after ? 'host-key-pinned' : 'host-key-forgotten', detail: { fingerprint: after || before, via: 'device form' } });
    }
    await reconfigureSession(row, `edited in the web app by ${user.email}`).catch((err: Error) => {
      warning = `Saved, but the session was not told: ${err.message}`;
    });
  } else {
    row = await insertDevice(db, keyring, input);
    if (row.protocol === 'netconf' && input.netconf?.hostKeySha256) {
      await recordDeviceEvent(db, { deviceId: row.id, deviceName: row.name, actor: user.email, kind: 'host-key-pinned', detail: { fingerprint: input.netconf.hostKeySha256, via: 'device form (new device)' } });
    }
    await startSession(row).catch((err: Error) => {
      warning = `Saved, but the session workflow did not start: ${err.message}`;
    });
  }
  // The warning travels in a flash cookie (shown by the root layout), never in the URL.
  return redirect(`/devices/${row.id}`, warning ? { headers: { 'Set-Cookie': await setFlash({ kind: 'warning', message: warning }) } } : undefined);
}

export default function DeviceEdit() {
  const loaded = useLoaderData<typeof loader>();
  const failed = useActionData<typeof action>();
  const values: Values = failed?.values ?? loaded.values;
  const errors: FieldErrors = failed?.errors ?? {};
  const probe = failed && 'probe' in failed ? (failed.probe as ProbeDeviceResult) : undefined;
  const navigation = useNavigation();
  const probing = navigation.state === 'submitting' && navigation.formData?.get('intent') === 'test';
  const { device, profiles, secrets } = loaded;
  const checked = (name: string) => values[name] === 'on' || values[name] === 'true';
  // Only the chosen protocol's fields are rendered (server-side too); with JavaScript the select switches them at once.
  const [protocol, setProtocol] = useState(values.protocol === 'netconf' ? 'netconf' : 'gnmi');
  const [hydrated, setHydrated] = useState(false);
  useEffect(() => setHydrated(true), []);
  useEffect(() => setProtocol(values.protocol === 'netconf' ? 'netconf' : 'gnmi'), [values.protocol]);
  const selectedProfiles = new Set((values.profileIds ?? '').split(',').filter(Boolean).map(Number));
  return (
    <section>
      <h1>{device ? `Edit ${device.name}` : 'Add a device'}</h1>
      {Object.keys(errors).length ? (
        <p className="field-error" role="alert" data-testid="form-errors">
          Please correct the fields marked below.
        </p>
      ) : null}
      <Form method="post" className="form device-form" noValidate>
        <fieldset>
          <legend>Device</legend>
          <TextField name="name" label="Name" defaultValue={values.name} errors={errors} required />
          <ProtocolField defaultValue={values.protocol} errors={errors} onProtocol={setProtocol} />
          {hydrated ? null : (
            <button type="submit" name="intent" value="protocol" className="secondary" formNoValidate data-testid="show-protocol-fields">
              Show the fields of this protocol
            </button>
          )}
          <TextField name="host" label="Host" defaultValue={values.host} errors={errors} required />
          <TextField name="port" label="Port" inputMode="numeric" defaultValue={values.port} errors={errors} hint="gNMI usually 57400, NETCONF 830" />
          <TextField name="site" label="Site" defaultValue={values.site} errors={errors} />
          <CheckField name="enabled" label="Collect telemetry (enabled)" defaultChecked={checked('enabled')} />
        </fieldset>
        <fieldset>
          <legend>Credentials</legend>
          <TextField name="username" label="Username" defaultValue={values.username} errors={errors} autoComplete="off" />
          <TextField
            name="secrets.password"
            label="Password"
            type="password"
            autoComplete="new-password"
            errors={errors}
            hint={secrets.includes('password') ? 'A password is stored; leave blank to keep it.' : 'Stored encrypted; never shown again.'}
          />
          {protocol === 'netconf' ? (
            <>
              <TextArea
                name="secrets.privateKey"
            label="SSH private key (NETCONF)"
            rows={3}
            errors={errors}
            hint={secrets.includes('privateKey') ? 'A key is stored; leave blank to keep it.' : undefined}
            className="netconf-only"
          />
          <TextField
            name="secrets.passphrase"
            label="Private key passphrase (NETCONF)"
            type="password"
            autoComplete="new-password"
            errors={errors}
            hint={secrets.includes('passphrase') ? 'A passphrase is stored; leave blank to keep it.' : 'Only for an encrypted key. Stored encrypted; never shown again.'}
            className="netconf-only"
          />
            </>
          ) : null}
          {protocol === 'gnmi' ? (
            <TextArea
              name="secrets.clientKey"
              label="TLS client key (gNMI mTLS)"
              rows={3}
              errors={errors}
              hint={secrets.includes('clientKey') ? 'A key is stored; leave blank to keep it.' : undefined}
            />
          ) : null}
          {device ? <CheckField name="clearSecrets" label="Forget the stored credentials (then store only what is entered above)" /> : null}
        </fieldset>
        {protocol === 'gnmi' ? (
        <fieldset className="proto-gnmi">
          <legend>gNMI settings</legend>
          <SelectField name="gnmi.tls" label="Transport security" defaultValue={values['gnmi.tls']} errors={errors} options={Object.entries(TLS_MODE_LABELS)} />
          <TextArea name="gnmi.caCert" label="CA certificate (PEM)" rows={3} defaultValue={values['gnmi.caCert']} errors={errors} />
          <TextField name="gnmi.serverName" label="TLS server name (when it differs from the host)" defaultValue={values['gnmi.serverName']} errors={errors} />
          <TextArea name="gnmi.clientCert" label="Client certificate (PEM, mTLS)" rows={3} defaultValue={values['gnmi.clientCert']} errors={errors} />
          <CheckField
            name="gnmi.allowPlaintextCredentials"
            label="Send credentials over plaintext (lab only)"
            defaultChecked={checked('gnmi.allowPlaintextCredentials')}
            errors={errors}
          />
          <CheckField
            name="gnmi.allowUnverifiedCredentials"
            label="Send credentials over TLS without verification (skip-verify, lab only)"
            defaultChecked={checked('gnmi.allowUnverifiedCredentials')}
            errors={errors}
          />
          <SelectField
            name="gnmi.encoding"
            label="Encoding"
            defaultValue={values['gnmi.encoding']}
            errors={errors}
            options={gnmiEncodingOptions('Automatic (from Capabilities)')}
          />
          <TextField name="gnmi.target" label="gNMI target (prefix)" defaultValue={values['gnmi.target']} errors={errors} />
          <TextField
            name="gnmi.capabilitiesTimeoutMs"
            label="Capabilities deadline (ms; without an answer the session subscribes anyway)"
            inputMode="numeric"
            defaultValue={values['gnmi.capabilitiesTimeoutMs']}
            errors={errors}
          />
          <TextField name="gnmi.maxMessageBytes" label="Largest message (bytes)" inputMode="numeric" defaultValue={values['gnmi.maxMessageBytes']} errors={errors} />
        </fieldset>
        ) : (
        <fieldset className="proto-netconf">
          <legend>NETCONF settings</legend>
          <TextField
            key={values['netconf.hostKeySha256']}
            name="netconf.hostKeySha256"
            label="Pinned SSH host key"
            placeholder="SHA256:…"
            defaultValue={values['netconf.hostKeySha256']}
            errors={errors}
            hint="Paste the fingerprint the device administrator gave you, or approve first use below."
          />
          <CheckField
            name="netconf.acceptNewHostKey"
            label="Trust the key presented on first connection (approve first use)"
            defaultChecked={checked('netconf.acceptNewHostKey')}
            errors={errors}
          />
          <TextField name="netconf.maxMessageBytes" label="Largest message (bytes)" inputMode="numeric" defaultValue={values['netconf.maxMessageBytes']} errors={errors} />
        </fieldset>
        )}
        <fieldset>
          <legend>Subscription profiles</legend>
          {profiles.length === 0 ? <p className="muted">No profiles yet.</p> : null}
          {profiles.filter((p) => p.protocol === protocol).map((p) => (
            <label className="check" key={p.id}>
              <input type="checkbox" name="profileIds" value={p.id} defaultChecked={selectedProfiles.has(p.id)} /> {p.name}{' '}
              <span className="muted">
                ({p.protocol}){p.description ? ` — ${p.description}` : ''}
              </span>
            </label>
          ))}
          {errors.profileIds ? <span className="field-error">{errors.profileIds}</span> : null}
        </fieldset>
        <div className="actions">
          <button type="submit">{device ? 'Save' : 'Add device'}</button>
          <button type="submit" name="intent" value="test" className="secondary" disabled={probing}>
            {probing ? 'Testing…' : 'Test connection'}
          </button>
          <Link to={device ? `/devices/${device.id}` : '/devices'}>Cancel</Link>
        </div>
        <p className="muted">
          Test connection connects with the values above (saved or not), reads the gNMI Capabilities or NETCONF hello and one sample of the first chosen profile, and
          stores nothing.{device ? ' Blank credential fields use the stored ones.' : ''}
        </p>
        {probe ? <ProbeReport probe={probe} saved={Boolean(device)} /> : null}
      </Form>
    </section>
  );
}

/** A NETCONF host key fingerprint as the form carries it. */
const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;

/**
 * The host key the device presented (ADR 127): unknown → its fingerprint and a button that
 * pins it (an explicit click, recorded); changed → both fingerprints and a refusal.
 */
function HostKeyReport({ hostKey, saved }: { hostKey: NonNullable<ProbeDeviceResult['hostKey']>; saved: boolean }) {
  if (hostKey.status === 'pinned') {
    return (
      <p data-testid="probe-host-key" data-status="pinned">
        SSH host key <code>{hostKey.presented}</code> matches the pinned one.
      </p>
    );
  }
  if (hostKey.status === 'changed') {
    return (
      <div className="host-key-changed" data-testid="probe-host-key" data-status="changed">
        <p className="field-error">
          <strong>The device’s SSH host key changed; it is not trusted.</strong>
        </p>
        <dl>
          <dt>Pinned</dt>
          <dd>
            <code data-testid="probe-host-key-pinned">{hostKey.pinned}</code>
          </dd>
          <dt>Presented now</dt>
          <dd>
            <code data-testid="probe-host-key-presented">{hostKey.presented}</code>
          </dd>
        </dl>
        <p className="muted">
          Check with the device’s administrator that the key was replaced on purpose (or someone is in between). If so, forget the pinned key on the device page, then test and pin the
          new one.
        </p>
      </div>
    );
  }
  return (
    <div className="host-key-unknown" data-testid="probe-host-key" data-status="unknown">
      <p>
        No SSH host key is pinned yet. The device presented <code data-testid="probe-host-key-presented">{hostKey.presented}</code>. Compare it with the fingerprint the device shows
        (for example <code>ssh-keygen -lf</code> on its host key, or the device’s <code>show ssh</code>) before trusting it.
      </p>
      <input type="hidden" name="presentedHostKey" value={hostKey.presented} />
      <button type="submit" name="intent" value="pin-host-key" className="secondary" formNoValidate data-testid="pin-host-key">
        {saved ? 'Pin this key (trust on first use)' : 'Use this key (pinned when the device is added)'}
      </button>
    </div>
  );
}

/** What Test connection found. */
function ProbeReport({ probe, saved }: { probe: ProbeDeviceResult; saved: boolean }) {
  const zone = useTimeZone();
  const secs = probe.elapsedMs < 1000 ? `${probe.elapsedMs} ms` : `${(probe.elapsedMs / 1000).toFixed(1)} s`;
  return (
    <div className={probe.ok ? 'probe probe-ok' : 'probe probe-failed'} role="status" data-testid="probe-result" data-ok={probe.ok ? 'yes' : 'no'}>
      <strong>{probe.ok ? `Connection works (${secs})` : `Connection failed (${secs})`}</strong>
      <dl>
        {probe.connected ? (
          <>
            <dt>Device answered</dt>
            <dd data-testid="probe-connected">{probe.connected}</dd>
          </>
        ) : null}
        {probe.negotiated ? (
          <>
            <dt>Negotiated</dt>
            <dd>{probe.negotiated}</dd>
          </>
        ) : null}
        {probe.sample ? (
          <>
            <dt>First sample{probe.profileName ? ` of ${probe.profileName}` : ''}</dt>
            <dd data-testid="probe-sample">
              <code>{probe.sample.path}</code> = {probe.sample.value} <span className="muted">at {formatStamp(Date.parse(probe.sample.at), zone)}</span>
            </dd>
          </>
        ) : null}
        {probe.error ? (
          <>
            <dt>Error</dt>
            <dd className="field-error" data-testid="probe-error">
              {probe.error}
            </dd>
          </>
        ) : null}
      </dl>
      {probe.hostKey ? <HostKeyReport hostKey={probe.hostKey} saved={saved} /> : null}
      <p className="muted">Nothing was saved. Secrets typed above are not shown again: type them again before saving.</p>
    </div>
  );
}
