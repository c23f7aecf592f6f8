/**
 * /devices/import (admins): devices from a CSV file or a gnmic targets file.
 * Every row is validated like the device form; valid new devices are created and
 * their sessions started, the rest are listed with their errors. Nothing half-done:
 * a file that cannot be read at all imports nothing.
 *
 * Lab modes (plaintext, skip-verify, credentials sent over either) are never turned
 * on silently: a file with rows asking for them imports nothing until the admin has
 * seen those rows listed and confirmed them for that exact file (its SHA-256 digest
 * comes back with the confirmation; the file's content is never echoed back).
 */
import crypto from 'node:crypto';
import { Form, Link, data, useActionData } from 'react-router';
import type { Route } from './+types/devices-import';
import { requireAdmin, requireAdminAction } from '../lib/auth.server';
import { ctx } from '../lib/context.server';
import { listProfiles } from '../../../storage/profiles';
import { CSV_COLUMNS, ImportError, MAX_IMPORT_BYTES, candidatesFrom } from '../lib/device-import';
import { deviceNameTaken, insertDevice } from '../lib/devices.server';
import { startSession } from '../lib/sessions.server';
import { DEFAULT_GNMI_PROFILE, DEFAULT_NETCONF_PROFILE } from '../../../core/default-profiles';

export function meta() {
  return [{ title: 'Import devices · switch-telemetry' }];
}

export async function loader({ request }: Route.LoaderArgs) {
  await requireAdmin(request);
  return {};
}

/** The outcome of one row. */
interface RowResult {
  source: string;
  name: string;
  status: 'imported' | 'skipped' | 'invalid';
  detail: string;
}

/** A row that turns on lab modes, listed for the admin's confirmation. */
interface LabModeRow {
  source: string;
  name: string;
  labModes: string[];
}

export async function action({ request }: Route.ActionArgs) {
  await requireAdminAction(request);
  const declared = Number(request.headers.get('content-length') ?? 0);
  if (declared > MAX_IMPORT_BYTES + 64 * 1024) return data({ error: `The upload is larger than ${MAX_IMPORT_BYTES / 1024} KiB.`, results: [] as RowResult[] }, 413);
  // A malformed upload is the sender's error (400), not the server's; an oversized one was already answered 413 (web/server.ts).
  const form = await request.formData().catch(() => undefined);
  if (!form) return data({ error: 'The upload could not be read as a form (multipart/form-data with a file, or pasted text).', results: [] as RowResult[] }, 400);
  const file = form.get('file');
  const pasted = form.get('content');
  let text = '';
  if (file && typeof file === 'object' && 'text' in file && file.size > 0) {
    if (file.size > MAX_IMPORT_BYTES) return data({ error: `The file is larger than ${MAX_IMPORT_BYTES / 1024} KiB.`, results: [] as RowResult[] }, 413);
    text = await file.text();
  } else if (typeof pasted === 'string') text = pasted;
  if (text.trim() === '') return data({ error: 'Choose a file or paste its content.', results: [] as RowResult[] }, 400);
  const format = form.get('format') === 'csv' ? 'csv' : form.get('format') === 'gnmic' ? 'gnmic' : 'auto';
  let candidates;
  try {
    candidates = candidatesFrom(text, format);
  } catch (err) {
    if (err instanceof ImportError) return data({ error: `Nothing imported: ${err.message}.`, results: [] as RowResult[] }, 400);
    throw err;
  }
  const labRows: LabModeRow[] = candidates.filter((c) => c.form && c.labModes.length > 0).map((c) => ({ source: c.source, name: c.name, labModes: c.labModes }));
  const digest = crypto.createHash('sha256').update(text).digest('hex');
  if (labRows.length > 0 && !(form.get('confirmLabModes') === 'on' && form.get('confirmDigest') === digest)) {
    return {
      error: null,
      results: [] as RowResult[],
      summary: null,
      confirm: { rows: labRows, digest, format },
    };
  }
  const { db, keyring } = ctx();
  const profiles = await listProfiles(db);
  const results: RowResult[] = [];
  const seen = new Set<string>();
  for (const c of candidates) {
    const invalid = (detail: string) => results.push({ source: c.source, name: c.name, status: 'invalid', detail });
    if (!c.form) {
      invalid(Object.entries(c.errors).map(([k, v]) => `${k}: ${v}`).join('; '));
      continue;
    }
    if (seen.has(c.form.name) || (await deviceNameTaken(db, c.form.name))) {
      results.push({ source: c.source, name: c.form.name, status: 'skipped', detail: 'a device with this name exists' });
      continue;
    }
    seen.add(c.form.name);
    const fallback = c.form.protocol === 'gnmi' ? DEFAULT_GNMI_PROFILE.name : DEFAULT_NETCONF_PROFILE.name;
    const wanted = c.profileNames.length ? c.profileNames : [fallback];
    const matched = wanted.map((n) => profiles.find((p) => p.name === n && p.protocol === c.form!.protocol));
    const missing = wanted.filter((_, i) => !matched[i]);
    if (c.profileNames.length && missing.length) {
      invalid(`no ${c.form.protocol} profile named ${missing.join(', ')}`);
      continue;
    }
    const row = await insertDevice(db, keyring, { ...c.form, profileIds: matched.filter(Boolean).map((p) => p!.id) });
    let detail = [...c.labModes.map((m) => `lab mode confirmed: ${m}`), ...c.warnings].join('; ');
    await startSession(row).catch((err: Error) => {
      detail = [detail, `session not started: ${err.message}`].filter(Boolean).join('; ');
    });
    results.push({ source: c.source, name: row.name, status: 'imported', detail });
  }
  const imported = results.filter((r) => r.status === 'imported').length;
  return { error: null, results, summary: `${imported} imported, ${results.length - imported} not imported.`, confirm: null };
}

export default function DevicesImport() {
  const result = useActionData<typeof action>();
  return (
    <section>
      <div className="page-head">
        <h1>Import devices</h1>
        <Link to="/devices">Back to devices</Link>
      </div>
      <div className="card">
        <p>
          A <strong>CSV file</strong> with a header row naming some of: <code>{CSV_COLUMNS.join(', ')}</code> (<code>name</code> and{' '}
          <code>host</code> are required; <code>profiles</code> are profile names separated by <code>;</code>), or a{' '}
          <strong>gnmic targets file</strong> (YAML with a <code>targets:</code> section). Each row is checked like the device form;
          devices whose name exists are skipped. Without profiles, a device gets the default profile of its protocol.
        </p>
        <Form method="post" encType="multipart/form-data" className="form">
          <label>
            File <input type="file" name="file" accept=".csv,.yaml,.yml,text/csv,application/yaml" data-testid="import-file" />
          </label>
          <label>
            or paste it
            <textarea name="content" rows={8} data-testid="import-content" />
          </label>
          <label>
            Format{' '}
            <select name="format" defaultValue="auto">
              <option value="auto">detect</option>
              <option value="csv">CSV</option>
              <option value="gnmic">gnmic targets (YAML)</option>
            </select>
          </label>
          <button type="submit">Import</button>
        </Form>
      </div>
      {result && 'confirm' in result && result.confirm ? (
        <div className="card" data-testid="import-confirm">
          <p role="alert">
            Nothing imported yet: {result.confirm.rows.length} row(s) turn on lab modes. Check them, then choose the same file (or paste
            the same text) again and confirm.
          </p>
          <table>
            <thead>
              <tr>
                <th>From</th>
                <th>Name</th>
                <th>Lab modes</th>
              </tr>
            </thead>
            <tbody>
              {result.confirm.rows.map((r) => (
                <tr key={r.source}>
                  <td>{r.source}</td>
                  <td>{r.name}</td>
                  <td>{r.labModes.join('; ')}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <Form method="post" encType="multipart/form-data" className="form">
            <input type="hidden" name="confirmDigest" value={result.confirm.digest} />
            <input type="hidden" name="format" value={result.confirm.format} />
            <label>
              File <input type="file" name="file" accept=".csv,.yaml,.yml,text/csv,application/yaml" />
            </label>
            <label>
              or paste it
              <textarea name="content" rows={4} />
            </label>
            <label>
              <input type="checkbox" name="confirmLabModes" data-testid="import-confirm-lab-modes" /> I confirm these lab modes for the rows
              listed
            </label>
            <button type="submit">Import with these lab modes</button>
          </Form>
        </div>
      ) : null}
      {result?.error ? (
        <p className="field-error" role="alert" data-testid="import-error">
          {result.error}
        </p>
      ) : null}
      {result && 'summary' in result && result.summary ? (
        <div className="card" data-testid="import-results">
          <p>{result.summary}</p>
          <table>
            <thead>
              <tr>
                <th>From</th>
                <th>Name</th>
                <th>Result</th>
                <th>Detail</th>
              </tr>
            </thead>
            <tbody>
              {result.results.map((r) => (
                <tr key={r.source}>
                  <td>{r.source}</td>
                  <td>{r.name}</td>
                  <td>{r.status}</td>
                  <td>{r.detail}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}
