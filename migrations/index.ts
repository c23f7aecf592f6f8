/**
 * The migration list, imported statically so it works the same under tsx,
 * bundlers and tests. Append new migrations here in order.
 */
import type { Knex } from 'knex';
import * as core from './20261127000001_core';
import * as samples from './20261127000002_samples';
import type { SamplesMigrationSettings } from './20261127000002_samples';
import * as rollups from './20261127010001_rollups';
import * as web from './20261127020001_web';
import * as rollupDirty from './20261127030001_rollup_dirty';
import * as ingestDrops from './20261128040001_ingest_drops';
import * as fleet from './20261128090001_fleet';
import * as widgetChartKinds from './20261128120001_widget_chart_kinds';
import * as deviceEvents from './20261128120002_device_events';
import * as deviceActivity from './20261128140001_device_activity';
import * as collectors from './20261128150001_collectors';
import * as collectorsRunning from './20261128150002_collectors_running';
import * as alerts from './20261128180001_alerts';
import * as widgetFleetQuery from './20261128190001_widget_fleet_query';
import * as fleetRates from './20261128200001_fleet_rates';
import * as bulkActionWorkflows from './20261128210001_bulk_action_workflows';
import * as alertRuleEvents from './20261128220001_alert_rule_events';
import * as rollupBucketBrin from './20261128230001_rollup_bucket_brin';
import * as sessionStateChanges from './20261129010001_session_state_changes';
import * as fleetRatesChanges from './20261129020001_fleet_rates_changes';
import * as bulkLocalPause from './20261129030002_bulk_local_pause';
import * as timescaledbTimeBrin from './20261129120001_timescaledb_time_brin';
import * as collectorLiveness from './20261201000001_collector_liveness';
import * as collectorWarmHandOver from './20261201000002_collector_warm_hand_over';
import * as gnmiCapabilities from './20261202000001_gnmi_capabilities';
import * as collectorLivenessConfirmed from './20261202000002_collector_liveness_confirmed';

/** Settings a caller may hand the migrations instead of the environment (loadConfig is cached per process). */
export type MigrationSettings = SamplesMigrationSettings;

interface Migration {
  up(knex: Knex, settings?: MigrationSettings): Promise<void>;
  down(knex: Knex): Promise<void>;
  config?: { transaction?: boolean };
}

const migrations: Array<[string, Migration]> = [
  ['20261127000001_core', core],
  ['20261127000002_samples', samples],
  ['20261127010001_rollups', rollups],
  ['20261127020001_web', web],
  ['20261127030001_rollup_dirty', rollupDirty],
  ['20261128040001_ingest_drops', ingestDrops],
  ['20261128090001_fleet', fleet],
  ['20261128120001_widget_chart_kinds', widgetChartKinds],
  ['20261128120002_device_events', deviceEvents],
  ['20261128140001_device_activity', deviceActivity],
  ['20261128150001_collectors', collectors],
  ['20261128150002_collectors_running', collectorsRunning],
  ['20261128180001_alerts', alerts],
  ['20261128190001_widget_fleet_query', widgetFleetQuery],
  ['20261128200001_fleet_rates', fleetRates],
  ['20261128210001_bulk_action_workflows', bulkActionWorkflows],
  ['20261128220001_alert_rule_events', alertRuleEvents],
  ['20261128230001_rollup_bucket_brin', rollupBucketBrin],
  ['20261129010001_session_state_changes', sessionStateChanges],
  ['20261129020001_fleet_rates_changes', fleetRatesChanges],
  ['20261129030002_bulk_local_pause', bulkLocalPause],
  ['20261129120001_timescaledb_time_brin', timescaledbTimeBrin],
  ['20261201000001_collector_liveness', collectorLiveness],
  ['20261201000002_collector_warm_hand_over', collectorWarmHandOver],
  ['20261202000001_gnmi_capabilities', gnmiCapabilities],
  ['20261202000002_collector_liveness_confirmed', collectorLivenessConfirmed],
];

/** A knex migration source over the static list; each `up` receives `settings`. */
function sourceWith(settings: MigrationSettings): Knex.MigrationSource<[string, Migration]> {
  return {
    ...migrationSource,
    async getMigration([, migration]) {
      return { ...migration, up: (knex: Knex) => migration.up(knex, settings) };
    },
  };
}

/** A knex migration source over the static list. */
export const migrationSource: Knex.MigrationSource<[string, Migration]> = {
  async getMigrations() {
    return migrations;
  },
  getMigrationName([name]) {
    return name;
  },
  async getMigration([, migration]) {
    return migration;
  },
};

/** Bring the schema up to date; returns the names applied. `settings` override the environment (e.g. the storage mode). */
export async function migrateLatest(knex: Knex, settings: MigrationSettings = {}): Promise<string[]> {
  const [, applied] = (await knex.migrate.latest({ migrationSource: sourceWith(settings) })) as [number, string[]];
  return applied;
}

/** Bring the schema up to and including the migration named `last` (tests of an upgrade from an earlier schema). */
export async function migrateUpTo(knex: Knex, last: string, settings: MigrationSettings = {}): Promise<string[]> {
  const upTo = migrations.slice(0, migrations.findIndex(([name]) => name === last) + 1);
  if (upTo.length === 0) throw new Error(`no migration named ${last}`);
  const source = sourceWith(settings);
  const [, applied] = (await knex.migrate.latest({ migrationSource: { ...source, getMigrations: async () => upTo } })) as [number, string[]];
  return applied;
}

/** Roll back every migration (tests). */
export async function migrateDownAll(knex: Knex): Promise<void> {
  await knex.migrate.rollback({ migrationSource }, true);
}
