/**
 * The benchmarks' storage modes (bench/support/storage.ts): BENCH_STORAGE_MODES and BENCH_STORAGE
 * are read strictly (an unknown name is an error naming the variable, never a silent skip), and
 * Telegraf's output makes its table a hypertable with its own `create_templates` only in
 * TimescaleDB mode (bench/peers/telegraf/telegraf.ts).
 */
import assert from 'node:assert/strict';
import { benchStorage, benchStorageModes, migrateOptions, parseStorageModes } from '../../bench/support/storage';
import { telegrafConfig } from '../../bench/peers/telegraf/telegraf';

describe('bench storage modes', () => {
  it('BENCH_STORAGE_MODES: both by default, in the order given, without repeats', () => {
    assert.deepEqual(benchStorageModes({}), ['timescaledb', 'native']);
    assert.deepEqual(benchStorageModes({ BENCH_STORAGE_MODES: 'native' }), ['native']);
    assert.deepEqual(benchStorageModes({ BENCH_STORAGE_MODES: ' native , timescaledb,native' }), ['native', 'timescaledb']);
  });

  it('an unknown or empty mode is an error naming the variable and the name', () => {
    assert.throws(() => benchStorageModes({ BENCH_STORAGE_MODES: 'timescaledb,nativ' }), /BENCH_STORAGE_MODES .*unknown: nativ/);
    assert.throws(() => benchStorageModes({ BENCH_STORAGE_MODES: ',' }), /BENCH_STORAGE_MODES must be/);
    assert.throws(() => parseStorageModes('none', 'BENCH_PIPELINE_TWO_COLLECTORS'), /BENCH_PIPELINE_TWO_COLLECTORS .*unknown: none/);
  });

  it('BENCH_STORAGE: one mode, else the standalone default', () => {
    assert.equal(benchStorage('native', {}), 'native');
    assert.equal(benchStorage(undefined, {}), undefined);
    assert.equal(benchStorage('native', { BENCH_STORAGE: 'timescaledb' }), 'timescaledb');
    assert.throws(() => benchStorage('native', { BENCH_STORAGE: 'timescaledb,native' }), /names one storage mode/);
    assert.throws(() => benchStorage('native', { BENCH_STORAGE: 'tsdb' }), /unknown: tsdb/);
  });

  it('the migration options: a mode is required of the server, none leaves it to STORAGE_TIMESCALEDB', () => {
    assert.deepEqual(migrateOptions('timescaledb'), { storageTimescaledb: 'on' });
    assert.deepEqual(migrateOptions('native'), { storageTimescaledb: 'off' });
    assert.deepEqual(migrateOptions(undefined), {});
  });

  it("Telegraf's table is a hypertable (its documented create_templates) in TimescaleDB mode only", () => {
    const base = { databaseUrl: 'postgres://u:p@127.0.0.1:5432/db', devices: [{ name: 'd1', port: 1 }], intervalMs: 100, username: 'u', password: 'p' };
    const templates = (conf: string) => conf.split('\n').find((l) => l.trim().startsWith('create_templates'))!;
    const plain = templates(telegrafConfig(base));
    const hyper = templates(telegrafConfig({ ...base, timescaledb: true }));
    assert.doesNotMatch(plain, /create_hypertable/);
    assert.match(
      hyper,
      /'''CREATE TABLE \{\{ \.table \}\} \(\{\{ \.columns \}\}\)''', '''SELECT create_hypertable\(\{\{ \.table\|quoteLiteral \}\}, 'time', chunk_time_interval => INTERVAL '1d'\)''', '''CREATE INDEX ON/,
    );
    // The lag probe's index in both.
    for (const t of [plain, hyper]) assert.match(t, /CREATE INDEX ON \{\{ \.table \}\} \(device, time\)/);
  });
});
