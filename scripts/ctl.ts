/**
 * `npm run ctl -- <command>`: fleet control for operators and scripts, on the
 * Temporal client (scripts/ctl-lib.ts holds the same operations, typed).
 * Exit codes: 0 ok, 1 an operation failed for some device, 2 usage error,
 * 3 nothing matched, 4 Temporal or the database unreachable.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { DeviceFilter, describeFilter, type BulkAction } from '../core/device-filter';
import type { DeviceSessionStatus } from '../core/names';
import {
  UnknownDeviceError,
  connectCtl,
  listDeviceSessions,
  pauseDevices,
  reconfigureDevices,
  resolveProfile,
  runFleetAction,
  selectFleet,
  resumeDevices,
  selectDatabaseDevices,
  selectDevices,
  startDevices,
  statusOfDevices,
  stopDevices,
  textTable,
  type Ctl,
  type DeviceResult,
} from './ctl-lib';
import { queryMain } from './ctl-query';
import { alertsMain } from './ctl-alerts';
import { rulesMain } from './ctl-rules';
import { drainCollector, printCollectors } from './ctl-collectors';

/** Exit codes. */
export const EXIT = { ok: 0, failed: 1, usage: 2, noMatch: 3, unreachable: 4 } as const;

const HELP = `Usage: npm run ctl -- <command> [devices…] [options]

Fleet control of the device-session workflows (one per device).

Commands
  list                      running sessions with their state (visibility query)
  status      <devices…>    state, since, last point, attempt, last error (workflow query)
  start       <devices…>    start collection (idempotent); devices come from the database
  pause       <devices…>    stop collecting; returns once each session has ended
  resume      <devices…>    collect again (also retries a parked session at once)
  reconfigure <devices…>    restart sessions with the configuration now in the database
  stop        <devices…>    end the workflows (as when a device is deleted)
  devices                   devices of the database matching the filter options below
  enable, disable           turn collection on or off (database, then the session is told)
  attach-profile <profile>  attach a subscription profile (name or id); detach-profile likewise
  delete                    delete devices (their sessions end first)
  query <path> [options]    a fleet query: sum/avg/min/max/count/last by site, device, key…, top N (ctl query --help)
  collectors                collectors with their sessions, load, version and lease age
  alerts [list|silence|ack] alerts firing, pending, silenced; silence by labels, acknowledge (ctl alerts --help)
  rules [list|show|create|edit|delete|preview]
                            alert rules as JSON, as the web's rule editor makes them (ctl rules --help)
  drain <collector>         move every session off a collector (--wait: until it is empty)
  undrain <collector>       let a drained collector take sessions again

Filters (the web app's devices view; enable, disable, attach-profile, detach-profile and delete
need one; with pause, resume and reconfigure they select from the database instead of visibility;
these bulk actions are recorded in bulk_actions and run as workflows on the control worker as the
web app's are; ctl waits for the workflow's end):
      --prefix <text>      name or address starts with
      --site <site>        --protocol gnmi|netconf      --enabled yes|no
      --state <state>      streaming, connecting, backoff, paused, auth-failed, config-invalid, disabled, not started
      --profile <name|id>  devices with this profile attached
      --alerts firing      devices with a firing alert (docs/alerting.md: which rules map to a device)
  -n, --dry-run            list what would change, change nothing

Devices are ids or names; instead of (or besides) them:
  -q, --query <visibility query>   e.g. "DeviceName STARTS_WITH 'sim-'" or "SessionState = 'backoff'"
  -a, --all                        every running session (start: every device in the database)

Options
  -r, --reason <text>    recorded in the workflow (pause, resume, reconfigure, stop)
      --no-wait          send a signal and return at once instead of an acknowledged update
      --concurrency <n>  devices handled at once by a filtered bulk action (BULK_CONCURRENCY, 128)
      --json             machine-readable output
      --wait             drain: return once the collector holds no session
      --timeout <s>      drain --wait: give up after this long (default 300; exit code 1)
  -h, --help             this text

Environment: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_CERT/KEY/CA,
DATABASE_URL (start, devices and filtered bulk actions).
Exit codes: 0 ok, 1 some device failed, 2 usage error, 3 nothing matched, 4 Temporal or database unreachable.`;

const COMMANDS = [
  'list',
  'status',
  'start',
  'pause',
  'resume',
  'reconfigure',
  'stop',
  'devices',
  'enable',
  'disable',
  'attach-profile',
  'detach-profile',
  'delete',
  'collectors',
  'drain',
  'undrain',
] as const;
/** Commands that act on devices chosen by a database filter (bulk actions, recorded). */
const FLEET_ONLY: readonly string[] = ['enable', 'disable', 'attach-profile', 'detach-profile', 'delete'];
type Command = (typeof COMMANDS)[number];

class UsageError extends Error {}

function parse(argv: string[]) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      query: { type: 'string', short: 'q' },
      all: { type: 'boolean', short: 'a' },
      reason: { type: 'string', short: 'r' },
      'no-wait': { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      prefix: { type: 'string' },
      site: { type: 'string' },
      protocol: { type: 'string' },
      state: { type: 'string' },
      profile: { type: 'string' },
      enabled: { type: 'string' },
      alerts: { type: 'string' },
      'dry-run': { type: 'boolean', short: 'n' },
      concurrency: { type: 'string' },
      wait: { type: 'boolean' },
      timeout: { type: 'string' },
    },
  });
  const [command, ...devices] = positionals;
  return { command, devices, ...values };
}

const time = (ms?: number) => (ms ? new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-');

const table = textTable;

function statusRows(results: DeviceResult[]): string {
  const rows = [['DEVICE', 'NAME', 'STATE', 'SINCE', 'LAST POINT', 'ATTEMPT', 'DETAIL / ERROR']];
  for (const r of results) {
    const s: Partial<DeviceSessionStatus> = r.status ?? {};
    rows.push([
      String(r.deviceId),
      s.deviceName ?? r.name ?? '',
      r.ok ? (s.state ?? r.state ?? r.note ?? 'sent') : 'FAILED',
      time(s.since),
      time(s.lastPointAt),
      s.attempt !== undefined ? String(s.attempt) : '',
      r.ok ? [s.detail, s.lastError && s.state !== 'streaming' ? `last error: ${s.lastError}` : ''].filter(Boolean).join('; ') : (r.error ?? ''),
    ]);
  }
  return table(rows);
}

function isUnreachable(err: unknown): boolean {
  const text = `${(err as Error)?.name ?? ''} ${(err as Error)?.message ?? ''}`;
  return /ServiceError|UNAVAILABLE|ECONNREFUSED|connect|DEADLINE|Failed to connect|getaddrinfo/i.test(text);
}

/** The devices-view filter given by options, or undefined when no filter option was given. */
async function fleetFilter(ctl: Ctl, args: ReturnType<typeof parse>): Promise<DeviceFilter | undefined> {
  const given = [args.prefix, args.site, args.protocol, args.state, args.profile, args.enabled, args.alerts].some((v) => v !== undefined);
  if (!given) return undefined;
  let profile: number | undefined;
  if (args.profile !== undefined) {
    profile = await resolveProfile(ctl, args.profile);
    if (profile === undefined) throw new UnknownDeviceError([`profile ${args.profile}`]);
  }
  const parsed = DeviceFilter.safeParse({ q: args.prefix, site: args.site, protocol: args.protocol, state: args.state, enabled: args.enabled, alerts: args.alerts, profile });
  if (!parsed.success) throw new UsageError(`bad filter: ${parsed.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

/** `devices`, and the bulk actions on devices chosen by a filter (with --dry-run). */
async function runFleetCommand(ctl: Ctl, command: Command, filter: DeviceFilter, args: ReturnType<typeof parse>, out: (s: string) => void): Promise<number> {
  let profileId: number | undefined;
  if (command === 'attach-profile' || command === 'detach-profile') {
    const name = args.devices[0];
    if (!name) throw new UsageError(`${command}: name the profile, e.g. ${command} openconfig-interfaces-and-health --site lab-a`);
    profileId = await resolveProfile(ctl, name);
    if (profileId === undefined) throw new UnknownDeviceError([`profile ${name}`]);
  }
  const devices = await selectFleet(ctl, filter);
  const listing = () =>
    table([['DEVICE', 'NAME', 'PROTOCOL', 'ENABLED', 'STATE'], ...devices.map((d) => [String(d.id), d.name, d.protocol, d.enabled ? 'yes' : 'no', d.state])]);
  if (command === 'devices' || args['dry-run']) {
    if (args.json) out(JSON.stringify(devices, null, 2));
    else if (devices.length) out(listing());
    out(command === 'devices' ? `${devices.length} devices match ${describeFilter(filter)}` : `dry run: ${command} would apply to ${devices.length} devices matching ${describeFilter(filter)}; nothing changed`);
    return devices.length ? EXIT.ok : EXIT.noMatch;
  }
  if (devices.length === 0) return report([], args, out);
  const concurrency = args.concurrency !== undefined ? Number(args.concurrency) : undefined;
  if (concurrency !== undefined && !(Number.isInteger(concurrency) && concurrency > 0)) throw new UsageError('--concurrency takes a positive whole number');
  const outcome = await runFleetAction(ctl, command as BulkAction, devices, { who: `ctl:${os.userInfo().username}`, filter, profileId, concurrency });
  const code = report(outcome.results, args, out);
  if (!args.json) out(`${command}: ${outcome.ok} of ${devices.length} done, ${outcome.failed} failed, ${(outcome.ms / 1000).toFixed(1)} s (bulk action #${outcome.id})`);
  return code;
}

async function runCommand(ctl: Ctl, args: ReturnType<typeof parse>, out: (s: string) => void): Promise<number> {
  const command = args.command as Command;
  if (command === 'collectors') return (await printCollectors(ctl, Boolean(args.json), out)) ? EXIT.ok : EXIT.noMatch;
  if (command === 'drain' || command === 'undrain') {
    if (args.devices.length !== 1) throw new UsageError(`${command}: name one collector (ctl collectors lists them)`);
    const timeoutS = Number(args.timeout ?? 300);
    if (!Number.isFinite(timeoutS) || timeoutS <= 0) throw new UsageError('--timeout: a number of seconds');
    const outcome = await drainCollector(ctl, args.devices[0], { wait: Boolean(args.wait), timeoutMs: timeoutS * 1000, undo: command === 'undrain' }, out);
    if (outcome === 'unknown') out(`no collector named ${JSON.stringify(args.devices[0])}`);
    if (outcome === 'timeout') out(`${args.devices[0]}: not empty after ${timeoutS} s`);
    return outcome === 'unknown' ? EXIT.noMatch : outcome === 'timeout' ? EXIT.failed : EXIT.ok;
  }
  const filter = await fleetFilter(ctl, args);
  if (command === 'devices' || FLEET_ONLY.includes(command) || (filter && ['pause', 'resume', 'reconfigure'].includes(command))) {
    if (!filter && command !== 'devices') throw new UsageError(`${command}: choose devices with filter options (--site, --state, --prefix, …)`);
    return runFleetCommand(ctl, command, filter ?? {}, args, out);
  }
  if (args['dry-run']) throw new UsageError('--dry-run goes with filter options (--site, --state, --prefix, …)');
  const selection = { devices: args.devices, query: args.query, all: args.all };
  if (command === 'list') {
    const sessions = await listDeviceSessions(ctl, args.query);
    if (args.json) out(JSON.stringify(sessions, null, 2));
    else if (sessions.length === 0) out('no running sessions match');
    else {
      out(
        table([
          ['DEVICE', 'NAME', 'PROTOCOL', 'STATE', 'ADDRESS', 'STARTED'],
          ...sessions.map((s) => [String(s.deviceId), s.deviceName ?? '', s.protocol ?? '', s.state ?? '', String(s.memo?.address ?? ''), time(s.startTime.getTime())]),
        ]),
      );
    }
    return sessions.length ? EXIT.ok : EXIT.noMatch;
  }
  if (!selection.devices.length && selection.query === undefined && !selection.all) {
    throw new UsageError(`${command}: name devices, or use --query or --all`);
  }
  let results: DeviceResult[];
  if (command === 'start') {
    if (selection.query !== undefined) throw new UsageError('start: devices come from the database; name them or use --all');
    const devices = await selectDatabaseDevices(ctl, selection);
    if (devices.length === 0) return report([], args, out);
    results = await startDevices(ctl, devices);
  } else {
    const ids = await selectDevices(ctl, selection);
    if (ids.length === 0) return report([], args, out);
    const opts = { reason: args.reason, wait: !args['no-wait'] };
    results =
      command === 'status'
        ? await statusOfDevices(ctl, ids)
        : command === 'pause'
          ? await pauseDevices(ctl, ids, opts)
          : command === 'resume'
            ? await resumeDevices(ctl, ids, opts)
            : command === 'reconfigure'
              ? await reconfigureDevices(ctl, ids, opts)
              : await stopDevices(ctl, ids, opts);
  }
  return report(results, args, out);
}

function report(results: DeviceResult[], args: ReturnType<typeof parse>, out: (s: string) => void): number {
  if (args.json) out(JSON.stringify(results, null, 2));
  else if (results.length === 0) out('no device matches');
  else out(statusRows(results));
  if (results.length === 0) return EXIT.noMatch;
  return results.every((r) => r.ok) ? EXIT.ok : EXIT.failed;
}

async function main(): Promise<number> {
  // `query` reads the database only and has options of its own (scripts/ctl-query.ts).
  if (process.argv[2] === 'query') return queryMain(process.argv.slice(3));
  // `alerts` has options of its own (scripts/ctl-alerts.ts).
  if (process.argv[2] === 'alerts') return alertsMain(process.argv.slice(3));
  // `rules` too (scripts/ctl-rules.ts).
  if (process.argv[2] === 'rules') return rulesMain(process.argv.slice(3));
  let args: ReturnType<typeof parse>;
  try {
    args = parse(process.argv.slice(2));
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${HELP}`);
    return EXIT.usage;
  }
  if (args.help || !args.command) {
    (args.help ? console.log : console.error)(HELP);
    return args.help ? EXIT.ok : EXIT.usage;
  }
  if (!COMMANDS.includes(args.command as Command)) {
    console.error(`unknown command "${args.command}"\n\n${HELP}`);
    return EXIT.usage;
  }
  let ctl: Ctl | undefined;
  try {
    ctl = await connectCtl();
    return await runCommand(ctl, args, (s) => console.log(s));
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`${err.message}\n\nRun with --help for usage.`);
      return EXIT.usage;
    }
    if (err instanceof UnknownDeviceError) {
      console.error(err.message);
      return EXIT.noMatch;
    }
    console.error(`ctl: ${(err as Error).message ?? err}`);
    if (isUnreachable(err)) return EXIT.unreachable;
    return /invalid query|InvalidArgument|INVALID_ARGUMENT/i.test(String((err as Error).message)) ? EXIT.usage : EXIT.failed;
  } finally {
    await ctl?.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
