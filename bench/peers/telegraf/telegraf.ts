/**
 * The peer: Telegraf's inputs.gnmi → outputs.postgresql against the same simulated
 * load as our pipeline (plaintext gNMI on loopback, the cheap generator), with the
 * same capacity search (bench/lib/capacity.ts). Telegraf is built once from the Go
 * module proxy (`go install github.com/influxdata/telegraf/cmd/telegraf@v1.37.2`,
 * no replace directive) into ~/.cache/switch-telemetry/telegraf-1.37.2.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ensureGoTool } from '../../../scripts/infra/go-tools';
import { startChild } from '../../../scripts/infra/proc';
import { searchCapacity, type CapacityOptions, type CapacityTarget } from '../../lib/capacity';
import { sleep, type BenchSystem } from '../../lib/system';
import { LAG_P99_BOUND_MS, newestLagMs, setSimulatorRate } from '../../scenarios/pipeline';

export const TELEGRAF = {
  name: 'telegraf',
  version: '1.37.2',
  packages: ['github.com/influxdata/telegraf/cmd/telegraf@v1.37.2'],
  binaries: ['telegraf'],
  what: 'Telegraf 1.37.2 (the benchmark peer)',
};

/** The measurement (and table) Telegraf writes the interface counters to. */
const TABLE = 'ifcounters';
/** Tag columns in that table: ours (`device`, one per [[inputs.gnmi]]) and the plugin's. */
const TAGS = ['device', 'source', 'name', 'path'];

/**
 * Our Telegraf configuration: one [[inputs.gnmi]] per device (its `device` tag), one PostgreSQL output.
 * `timescaledb`: the output makes its table a hypertable with its own `create_templates` setting, as the
 * plugin's documentation shows it for TimescaleDB (`create_hypertable(… 'time', chunk_time_interval => INTERVAL '1d')`:
 * day chunks like ours, and TimescaleDB's default B-tree on time, which the plugin's example keeps).
 */
export function telegrafConfig(o: { databaseUrl: string; devices: Array<{ name: string; port: number }>; intervalMs: number; username: string; password: string; timescaledb?: boolean }): string {
  const url = new URL(o.databaseUrl);
  url.searchParams.set('sslmode', 'disable');
  url.searchParams.set('pool_max_conns', '2'); // parallel COPYs, one per core
  const lines = [
    '# Written by bench/peers/telegraf/telegraf.ts for the capacity benchmark.',
    '[agent]',
    '  interval = "10s"',
    '  omit_hostname = true',
    '  # Flush every 500 ms (the default 10 s alone would fail the 2 s lag bound) and in batches of 10,000;',
    '  # a buffer large enough that a slow database shows as lag before it shows as drops.',
    '  flush_interval = "500ms"',
    '  flush_jitter = "0s"',
    '  metric_batch_size = 10000',
    '  metric_buffer_limit = 2000000',
    '',
    '[[outputs.postgresql]]',
    `  connection = ${JSON.stringify(url.toString())}`,
    '  timestamp_column_type = "timestamp with time zone"',
    `  # The default table${o.timescaledb ? ' as a hypertable' : ''} plus an index for the benchmark\'s lag probe (newest row per device).`,
    `  create_templates = [${[
      `'''CREATE TABLE {{ .table }} ({{ .columns }})'''`,
      ...(o.timescaledb ? [`'''SELECT create_hypertable({{ .table|quoteLiteral }}, 'time', chunk_time_interval => INTERVAL '1d')'''`] : []),
      `'''CREATE INDEX ON {{ .table }} (device, time)'''`,
    ].join(', ')}]`,
    '',
  ];
  for (const d of o.devices) {
    lines.push(
      '[[inputs.gnmi]]',
      `  addresses = ["127.0.0.1:${d.port}"]`,
      `  username = ${JSON.stringify(o.username)}`,
      `  password = ${JSON.stringify(o.password)}`,
      '  encoding = "proto"',
      '  redial = "1s"',
      '  tls_enable = false',
      '  [inputs.gnmi.tags]',
      `    device = ${JSON.stringify(d.name)}`,
      '  [[inputs.gnmi.subscription]]',
      `    name = "${TABLE}"`,
      '    path = "/interfaces/interface/state/counters"',
      '    subscription_mode = "sample"',
      `    sample_interval = "${o.intervalMs}ms"`,
      '',
    );
  }
  return lines.join('\n');
}

/** Options of the peer's capacity search (the same devices and search as ours). */
export interface PeerOptions {
  devices: number;
  interfaces: number;
  intervalMs: number;
  search: Omit<CapacityOptions, 'lagP99BoundMs'>;
}

/** Telegraf's sustained capacity on the same load, what it stores, what it loses. */
export async function telegrafCapacity(sys: BenchSystem, o: PeerOptions, username: string, password: string) {
  const started = Date.now();
  const { telegraf } = await ensureGoTool(TELEGRAF);
  const buildSeconds = Math.round((Date.now() - started) / 1000);
  const sim = await sys.startSimulator(o.devices, o.interfaces, { SIM_GNMI_GENERATOR: 'templates' });
  const members = (await (await fetch(`http://127.0.0.1:${sim.controlPort}/devices`)).json()) as Array<{ name: string; port: number }>;
  // The first rate from the start (7 counters per interface; checked against the table below).
  await setSimulatorRate(sim.controlPort, (o.devices * o.interfaces * 7 * 1000) / o.intervalMs / o.search.startRate);
  const conf = path.join(sys.tmp, 'telegraf.conf');
  const timescaledb = sys.storage === 'timescaledb';
  fs.writeFileSync(conf, telegrafConfig({ databaseUrl: sys.services.databaseUrl, devices: members, intervalMs: o.intervalMs, username, password, timescaledb }), { mode: 0o600 });
  const child = startChild('telegraf', telegraf, ['--config', conf], { quiet: !process.env.BENCH_VERBOSE, env: { ...process.env, GOMAXPROCS: '2' } });
  try {
    process.stderr.write(`  Telegraf ${TELEGRAF.version}: ${o.devices} devices, the same load and search; waiting for its first rows…\n`);
    const deadline = Date.now() + 90_000;
    while ((await rowsOf(sys, members.map((m) => m.name))) < o.devices) {
      if (Date.now() > deadline) throw new Error('Telegraf wrote no rows for every device within 90 s (run with BENCH_VERBOSE=1 to see its log)');
      if (child.child.exitCode !== null) throw new Error(`Telegraf exited with ${child.child.exitCode}`);
      await sleep(1000);
    }
    const layout = (await sys.db.raw(`SELECT column_name AS name, data_type AS type FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position`, [TABLE])).rows as Array<{ name: string; type: string }>;
    const hypertable = timescaledb && Number((await sys.db.raw(`SELECT count(*) AS n FROM timescaledb_information.hypertables WHERE hypertable_name = ?`, [TABLE])).rows[0].n) === 1;
    if (timescaledb && !hypertable) throw new Error(`Telegraf's ${TABLE} is not a hypertable: its create_templates did not run as configured`);
    const fieldsPerRow = layout.filter((c) => c.name !== 'time' && !TAGS.includes(c.name)).length;
    const base = (o.devices * o.interfaces * fieldsPerRow * 1000) / o.intervalMs;
    const target: CapacityTarget = {
      setRate: (rate) => setSimulatorRate(sim.controlPort, base / rate),
      // Rows inserted (the statistics views lag by up to a second) × fields per row = points; a hypertable's rows are counted in its chunks.
      committed: async () =>
        Number(
          (
            await sys.db.raw(
              `SELECT coalesce(sum(n_tup_ins), 0) AS n FROM pg_stat_user_tables WHERE relid = ?::regclass OR relid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = ?::regclass)`,
              [TABLE, TABLE],
            )
          ).rows[0].n,
        ) * fieldsPerRow,
      dropped: async () => 0, // Telegraf logs buffer overflows; they show here as points not committed
      lagMs: () => newestLagMs(sys.db, TABLE, 'device', 'text', members.map((m) => m.name)),
      pids: () => ({
        telegraf: [child.child.pid!],
        simulator: [sim.child.child.pid!],
        // This run's cluster only: its postmaster and backends (other clusters on the machine are not ours).
        postgres: sys.postgresPids(),
      }),
    };
    const r = await searchCapacity(target, { ...o.search, lagP99BoundMs: LAG_P99_BOUND_MS }, (l) => process.stderr.write(l + '\n'));
    const sample = (await sys.db.raw(`SELECT * FROM ${TABLE} ORDER BY time DESC LIMIT 1`)).rows[0];
    return { version: TELEGRAF.version, storage: sys.storage, hypertable, buildSecondsThisRun: buildSeconds, table: TABLE, layout, fieldsPerRow, sampleRow: sample, ...r };
  } finally {
    await child.stop(10_000);
  }
}

async function rowsOf(sys: BenchSystem, devices: string[]): Promise<number> {
  const exists = (await sys.db.raw(`SELECT to_regclass(?) AS t`, [TABLE])).rows[0].t;
  if (!exists) return 0;
  return Number((await sys.db.raw(`SELECT count(DISTINCT device) AS n FROM ${TABLE} WHERE device = ANY(?)`, [devices])).rows[0].n);
}
