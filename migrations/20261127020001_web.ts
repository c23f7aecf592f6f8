/**
 * Web app schema: users (scrypt password hashes, role admin|viewer), sign-in
 * sessions (only a hash of the token is stored), dashboards and their widgets.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('users', (t) => {
    t.increments('id').primary();
    t.text('email').notNullable();
    t.text('password_hash').notNullable();
    t.text('role').notNullable().checkIn(['admin', 'viewer']);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw('CREATE UNIQUE INDEX users_email_lower ON users (lower(email))');
  await knex.schema.createTable('sessions', (t) => {
    /** sha256 of the random token carried (signed) in the cookie. */
    t.text('id').primary();
    t.integer('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.index(['user_id']);
  });
  await knex.schema.createTable('dashboards', (t) => {
    t.increments('id').primary();
    t.text('name').notNullable().unique();
    t.text('description');
    /** Default time range: 15m, 1h, 6h, 24h, 7d. */
    t.text('time_range').notNullable().defaultTo('1h');
    t.boolean('live').notNullable().defaultTo(true);
    t.integer('created_by').references('users.id').onDelete('SET NULL');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.schema.createTable('widgets', (t) => {
    t.increments('id').primary();
    t.integer('dashboard_id').notNullable().references('dashboards.id').onDelete('CASCADE');
    t.text('title').notNullable();
    /** null: every device. */
    t.integer('device_id').references('devices.id').onDelete('CASCADE');
    /** Path pattern with wildcards, matched against series.path. */
    t.text('path').notNullable();
    t.text('aggregate').notNullable().defaultTo('none').checkIn(['none', 'sum', 'avg', 'max', 'min']);
    t.text('group_by').notNullable().defaultTo('series').checkIn(['series', 'device', 'all']);
    t.boolean('rate').notNullable().defaultTo(false);
    t.text('chart').notNullable().defaultTo('line').checkIn(['line', 'area', 'stacked-area', 'bar', 'stat']);
    t.text('unit').notNullable().defaultTo('');
    t.integer('width').notNullable().defaultTo(6);
    t.integer('position').notNullable().defaultTo(0);
    t.index(['dashboard_id', 'position']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['widgets', 'dashboards', 'sessions', 'users']) await knex.schema.dropTableIfExists(table);
}
