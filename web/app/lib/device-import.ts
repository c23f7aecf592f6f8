/**
 * Importing devices from a CSV file or a gnmic targets file (YAML). Pure: text in,
 * one candidate per device out, each validated with the same DeviceForm schema as
 * the device form, with the line or target it came from and any warnings.
 */
import { parse as parseYaml } from 'yaml';
import { DeviceForm, defaultPort } from './device-form';
import { fieldErrors } from './forms';

/** One device read from an import file. */
export interface ImportCandidate {
  /** Where it came from: "line 3" or "target router1". */
  source: string;
  name: string;
  /** The validated form, or undefined with `errors`. */
  form?: DeviceForm;
  errors: Record<string, string>;
  warnings: string[];
  /** Profile names asked for (resolved to ids by the caller). */
  profileNames: string[];
  /** Lab modes the row turns on (plaintext, unverified TLS, credentials sent over them): the admin confirms them first. */
  labModes: string[];
}

/** What a device's gNMI settings turn on that an admin must confirm on import (empty: nothing). */
export function labModesOf(form: DeviceForm): string[] {
  if (form.protocol !== 'gnmi') return [];
  const g = form.gnmi;
  const modes: string[] = [];
  if (g.tls === 'insecure') modes.push('insecure: plaintext transport');
  if (g.tls === 'skip-verify') modes.push('skip-verify: TLS without verifying the device certificate');
  if (g.tls === 'insecure' && g.allowPlaintextCredentials) modes.push('username and password sent in plaintext');
  if (g.tls === 'skip-verify' && g.allowUnverifiedCredentials) modes.push('username and password sent to an unverified peer');
  return modes;
}

/** Largest import accepted, bytes. */
export const MAX_IMPORT_BYTES = 1024 * 1024;
/** Most devices in one import. */
export const MAX_IMPORT_DEVICES = 5000;

/** The columns a CSV may have (header row, any order, case-insensitive). */
export const CSV_COLUMNS = [
  'name',
  'protocol',
  'host',
  'port',
  'username',
  'password',
  'tls',
  'site',
  'profiles',
  'enabled',
  'host_key_sha256',
  'allow_plaintext_credentials',
  'allow_unverified_credentials',
] as const;

/** Split CSV text into rows of fields (RFC 4180: quotes, doubled quotes, CRLF or LF). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (quoted) throw new ImportError('unterminated quoted field');
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows.filter((r) => !(r.length === 1 && r[0].trim() === ''));
}

/** The columns an export writes: every import column but the secret one (a password is never exported). */
export const EXPORT_COLUMNS = CSV_COLUMNS.filter((c) => c !== 'password');

/** One CSV field (RFC 4180: quoted when it holds a comma, quote or line break). */
function csvField(v: unknown): string {
  const text = v === null || v === undefined ? '' : typeof v === 'boolean' ? (v ? 'true' : 'false') : String(v);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** CSV text with a header row of EXPORT_COLUMNS that candidatesFromCsv reads back. */
export function devicesToCsv(rows: Array<Partial<Record<(typeof CSV_COLUMNS)[number], unknown>>>): string {
  const lines = [EXPORT_COLUMNS.join(',')];
  for (const r of rows) lines.push(EXPORT_COLUMNS.map((c) => csvField(r[c])).join(','));
  return lines.join('\r\n') + '\r\n';
}

/** A file that cannot be read at all (as opposed to a bad row). */
export class ImportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImportError';
  }
}

const truthy = (v: string | undefined) => /^(1|true|yes|on)$/i.test((v ?? '').trim());

function candidate(source: string, input: Record<string, unknown>, warnings: string[], profileNames: string[]): ImportCandidate {
  const parsed = DeviceForm.safeParse(input);
  const name = typeof input.name === 'string' ? input.name : '';
  return parsed.success
    ? { source, name, form: parsed.data, errors: {}, warnings, profileNames, labModes: labModesOf(parsed.data) }
    : { source, name, errors: fieldErrors(parsed.error), warnings, profileNames, labModes: [] };
}

function baseInput(name: string, protocol: 'gnmi' | 'netconf', host: string, port: number | string | undefined) {
  return {
    name,
    protocol,
    host,
    port: port === undefined || port === '' ? defaultPort(protocol) : Number(port),
    enabled: true,
    profileIds: [] as number[],
    secrets: {} as Record<string, string>,
    clearSecrets: false,
    gnmi: {} as Record<string, unknown>,
    netconf: {} as Record<string, unknown>,
  };
}

/** Devices from CSV with a header row naming CSV_COLUMNS (name, host required). */
export function candidatesFromCsv(text: string): ImportCandidate[] {
  const rows = parseCsv(text);
  if (rows.length === 0) throw new ImportError('the file is empty');
  const header = rows[0].map((h) => h.trim().toLowerCase().replace(/[\s-]+/g, '_'));
  const unknown = header.filter((h) => !(CSV_COLUMNS as readonly string[]).includes(h));
  if (unknown.length) throw new ImportError(`unknown column(s) ${unknown.join(', ')}; expected some of ${CSV_COLUMNS.join(', ')}`);
  if (!header.includes('name') || !header.includes('host')) throw new ImportError('the header row needs at least "name" and "host"');
  if (rows.length - 1 > MAX_IMPORT_DEVICES) throw new ImportError(`more than ${MAX_IMPORT_DEVICES} devices in one file`);
  return rows.slice(1).map((cells, i) => {
    const get = (col: string) => {
      const idx = header.indexOf(col);
      const v = idx >= 0 ? cells[idx]?.trim() : undefined;
      return v === '' ? undefined : v;
    };
    const warnings: string[] = [];
    const protocol = (get('protocol') ?? 'gnmi').toLowerCase();
    const input: Record<string, unknown> = {
      ...baseInput(get('name') ?? '', protocol === 'netconf' ? 'netconf' : 'gnmi', get('host') ?? '', get('port')),
      protocol,
      username: get('username'),
      site: get('site'),
    };
    if (get('enabled') !== undefined) input.enabled = truthy(get('enabled'));
    const password = get('password');
    if (password) (input.secrets as Record<string, string>).password = password;
    (input.gnmi as Record<string, unknown>).tls = get('tls') ?? 'tls';
    (input.gnmi as Record<string, unknown>).allowPlaintextCredentials = truthy(get('allow_plaintext_credentials'));
    (input.gnmi as Record<string, unknown>).allowUnverifiedCredentials = truthy(get('allow_unverified_credentials'));
    if (get('host_key_sha256')) (input.netconf as Record<string, unknown>).hostKeySha256 = get('host_key_sha256');
    if (cells.length !== header.length) warnings.push(`${cells.length} fields where the header has ${header.length}`);
    const profiles = (get('profiles') ?? '').split(';').map((s) => s.trim()).filter(Boolean);
    return candidate(`line ${i + 2}`, input, warnings, profiles);
  });
}

const GNMIC_ENCODINGS: Record<string, string> = { json: 'json', json_ietf: 'json_ietf', proto: 'proto', ascii: 'ascii', bytes: 'bytes' };

/** Split "host:port", "[v6]:port" or a bare host. */
export function splitAddress(address: string): { host: string; port?: string } {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(address);
  if (v6) return { host: v6[1], port: v6[2] };
  const m = /^([^:]+)(?::(\d+))?$/.exec(address);
  return m ? { host: m[1], port: m[2] } : { host: address };
}

/**
 * Devices from a gnmic targets file: `targets:` maps a name (or an address) to its
 * settings (address, username, password, insecure, skip-verify, encoding, subscriptions);
 * top-level username/password/insecure/skip-verify/encoding are defaults. File paths
 * (tls-ca, tls-cert, tls-key) are not read: the device form takes the PEM itself.
 */
export function candidatesFromGnmicYaml(text: string): ImportCandidate[] {
  let doc: unknown;
  try {
    // No custom tags; aliases limited so a "billion laughs" document cannot expand.
    doc = parseYaml(text, { maxAliasCount: 50, prettyErrors: false, uniqueKeys: true });
  } catch (err) {
    throw new ImportError(`not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new ImportError('expected a gnmic configuration with a "targets" section');
  const root = doc as Record<string, unknown>;
  const targets = root.targets;
  if (!targets || typeof targets !== 'object' || Array.isArray(targets)) throw new ImportError('no "targets" section (a map of target name to settings)');
  const entries = Object.entries(targets as Record<string, unknown>);
  if (entries.length > MAX_IMPORT_DEVICES) throw new ImportError(`more than ${MAX_IMPORT_DEVICES} targets in one file`);
  return entries.map(([key, raw]) => {
    const t = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
    const pick = (k: string) => (t[k] ?? root[k]) as unknown;
    const warnings: string[] = [];
    const address = typeof t.address === 'string' ? t.address : key;
    const { host, port } = splitAddress(address);
    // Device names allow letters, digits and . _ : - and start with a letter or digit.
    const name = (typeof t.name === 'string' ? t.name : key).replace(/[^A-Za-z0-9._:-]/g, '-').replace(/^[^A-Za-z0-9]+/, '');
    const input: Record<string, unknown> = { ...baseInput(name, 'gnmi', host, port), username: str(pick('username')) };
    const password = str(pick('password'));
    if (password) (input.secrets as Record<string, string>).password = password;
    const gnmi = input.gnmi as Record<string, unknown>;
    if (pick('insecure') === true) {
      gnmi.tls = 'insecure';
      if (password) {
        gnmi.allowPlaintextCredentials = true;
        warnings.push('insecure: credentials will be sent in plaintext (as gnmic does)');
      }
    } else if (pick('skip-verify') === true) {
      gnmi.tls = 'skip-verify';
      if (password) {
        gnmi.allowUnverifiedCredentials = true;
        warnings.push('skip-verify: credentials will be sent to an unverified peer (as gnmic does)');
      }
    } else gnmi.tls = 'tls';
    const encoding = str(pick('encoding'))?.toLowerCase().replace('-', '_');
    if (encoding) {
      if (GNMIC_ENCODINGS[encoding]) gnmi.encoding = GNMIC_ENCODINGS[encoding];
      else warnings.push(`encoding ${encoding} is not supported; chosen from Capabilities instead`);
    }
    for (const file of ['tls-ca', 'tls-cert', 'tls-key']) {
      if (pick(file)) warnings.push(`${file} (a file path) was not read: paste the PEM in the device form`);
    }
    const subs = pick('subscriptions');
    const profileNames = Array.isArray(subs) ? subs.filter((s): s is string => typeof s === 'string') : [];
    return candidate(`target ${key}`, input, warnings, profileNames);
  });
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined;
}

/** Pick the parser: by the format chosen, else by content (a "targets:" key means gnmic). */
export function candidatesFrom(text: string, format: 'auto' | 'csv' | 'gnmic'): ImportCandidate[] {
  if (Buffer.byteLength(text) > MAX_IMPORT_BYTES) throw new ImportError(`the file is larger than ${MAX_IMPORT_BYTES / 1024} KiB`);
  const chosen = format === 'auto' ? (/^\s*targets\s*:/m.test(text) ? 'gnmic' : 'csv') : format;
  return chosen === 'gnmic' ? candidatesFromGnmicYaml(text) : candidatesFromCsv(text);
}
