/**
 * Core schema: devices, their encrypted credentials, subscription profiles,
 * the series dictionary, numeric samples, text states and gaps.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('devices', (t) => {
    t.increments('id').primary();
    t.text('name').notNullable().unique();
    t.text('protocol').notNullable().checkIn(['gnmi', 'netconf']);
    t.text('host').notNullable();
    t.integer('port').notNullable();
    t.text('username');
    t.text('site');
    t.boolean('enabled').notNullable().defaultTo(true);
    t.jsonb('settings').notNullable().defaultTo('{}');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.schema.createTable('device_credentials', (t) => {
    t.integer('device_id').primary().references('devices.id').onDelete('CASCADE');
    t.integer('key_version').notNullable();
    t.binary('nonce').notNullable();
    t.binary('ciphertext').notNullable();
    t.binary('tag').notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.schema.createTable('subscription_profiles', (t) => {
    t.increments('id').primary();
    t.text('name').notNullable().unique();
    t.text('protocol').notNullable().checkIn(['gnmi', 'netconf']);
    t.text('description');
    t.jsonb('spec').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.schema.createTable('device_profiles', (t) => {
    t.integer('device_id').notNullable().references('devices.id').onDelete('CASCADE');
    t.integer('profile_id').notNullable().references('subscription_profiles.id').onDelete('CASCADE');
    t.primary(['device_id', 'profile_id']);
  });
  await knex.schema.createTable('series', (t) => {
    t.bigIncrements('id').primary();
    t.integer('device_id').notNullable().references('devices.id').onDelete('CASCADE');
    t.text('path').notNullable();
    t.text('kind').notNullable().checkIn(['number', 'text']);
    t.unique(['device_id', 'path']);
  });
  await knex.schema.createTable('gaps', (t) => {
    t.bigIncrements('id').primary();
    t.integer('device_id').notNullable().references('devices.id').onDelete('CASCADE');
    t.timestamp('started_at', { useTz: true }).notNullable();
    t.timestamp('ended_at', { useTz: true }).notNullable();
    t.text('reason').notNullable();
    t.index(['device_id', 'started_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['gaps', 'series', 'device_profiles', 'subscription_profiles', 'device_credentials', 'devices']) {
    await knex.schema.dropTableIfExists(table);
  }
}
