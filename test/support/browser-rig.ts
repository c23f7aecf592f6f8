/**
 * The stack a browser test drives, started one way: a test database, optionally a simulated
 * fleet and the workers with a Temporal client, the web process, an admin user, and Chromium
 * with a page signed in as that admin. `stop()` takes it down in the reverse order, whatever
 * part of it started.
 */
import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import { chromium, type Browser, type Page } from 'playwright-core';
import { RECONCILE_SCHEDULE_ID } from '../../core/names';
import { CHROMIUM_ARGS } from '../../scripts/infra/chromium';
import { waitFor } from '../../scripts/infra/proc';
import { seedSimulatedDevices } from '../../scripts/seed';
import type { DeviceRow } from '../../storage/devices';
import { parseKeyring } from '../../storage/secrets';
import { startFleet, type Fleet, type FleetOptions } from '../../simulator/fleet';
import { createTestUser, signInPage, type TestUser } from '../../testkit/web-auth';
import { createTestDatabase, type TestDatabase } from './db';
import { chromiumPath } from './env';
import { startWeb, startWorkers, testClient, TEST_SECRETS_KEY, type Workers } from './system';

/** A viewport, CSS pixels. */
export type Viewport = { width: number; height: number };

/** Chromium (the test run's binary, headless) with one page. */
export async function launchBrowser(viewport: Viewport = { width: 1280, height: 900 }): Promise<{ browser: Browser; page: Page }> {
  const browser = await chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS });
  try {
    return { browser, page: await browser.newPage({ viewport }) };
  } catch (err) {
    await browser.close();
    throw err;
  }
}

/** What to start. */
export interface WebStackOptions {
  /** Test database name (a suffix is added). */
  database: string;
  /** Email of the admin the page signs in as. */
  adminEmail: string;
  /** Start a simulated fleet. */
  fleet?: FleetOptions;
  /**
   * Start the control and collector workers and a Temporal client. `clearRunning`: first end the
   * workflows other suites left running on the shared Temporal server (workflow ids are per device
   * id, and every suite's database numbers devices from 1), saying why.
   */
  workers?: { env?: Record<string, string>; clearRunning?: string };
  /** Extra environment of the web process. */
  webEnv?: Record<string, string>;
  viewport?: Viewport;
  /** Sign the page in as the admin (default true; a suite testing the sign-in form says false). */
  signIn?: boolean;
}

/** The running stack; `fleet`, `workers` and `client` when asked for. */
export interface WebStack {
  tdb: TestDatabase;
  web: Awaited<ReturnType<typeof startWeb>>;
  admin: TestUser;
  browser: Browser;
  page: Page;
  fleet: Fleet;
  workers: Workers;
  client: Client;
  stop(): Promise<void>;
}

/** Start the stack of a browser test; on a failed start, what did start is stopped again. */
export async function startWebStack(opts: WebStackOptions): Promise<WebStack> {
  const parts: Partial<WebStack> = {};
  const stop = async () => {
    await parts.browser?.close();
    await Promise.allSettled([parts.workers?.stop(), parts.fleet?.close(), parts.web?.stop()]);
    await parts.client?.connection.close();
    await parts.tdb?.drop();
  };
  try {
    parts.tdb = await createTestDatabase(opts.database);
    const url = parts.tdb.url;
    if (opts.fleet) parts.fleet = await startFleet(opts.fleet);
    if (opts.workers) {
      parts.client = await testClient();
      if (opts.workers.clearRunning) await endRunningWorkflows(parts.client, opts.workers.clearRunning);
    }
    const [workers, web] = await Promise.allSettled([opts.workers ? startWorkers(url, { env: opts.workers.env }) : undefined, startWeb(url, opts.webEnv)]);
    // Keep whatever started, so a failed start still stops the rest.
    if (workers.status === 'fulfilled') parts.workers = workers.value;
    if (web.status === 'fulfilled') parts.web = web.value;
    for (const r of [workers, web]) if (r.status === 'rejected') throw r.reason;
    parts.admin = await createTestUser(parts.tdb.db, 'admin', opts.adminEmail);
    Object.assign(parts, await launchBrowser(opts.viewport));
    if (opts.signIn !== false) await signInPage(parts.page!, parts.web!.url, parts.admin);
  } catch (err) {
    await stop();
    throw err;
  }
  // Unrequested parts stay undefined; suites only read what they asked for.
  return { ...(parts as WebStack), stop };
}

/** End every running workflow on the test run's Temporal server (left by other suites). */
export async function endRunningWorkflows(client: Client, why: string): Promise<void> {
  for await (const wf of client.workflow.list({ query: `ExecutionStatus = 'Running'` })) {
    await client.workflow.getHandle(wf.workflowId).terminate(why).catch(() => undefined);
  }
}

/**
 * Pause the fleet-reconcile Schedule once the control worker created it: it would start a workflow
 * for every enabled device within a minute, which a suite seeding thousands of devices does not want.
 */
export async function pauseReconcileSchedule(client: Client, why: string): Promise<void> {
  const schedule = client.schedule.getHandle(RECONCILE_SCHEDULE_ID);
  await waitFor('the reconcile schedule', async () => Boolean(await schedule.describe().catch(() => undefined)), 30_000);
  await schedule.pause(why);
  // A run the schedule started before the pause may still be going: it would act on what the suite seeds next.
  await waitFor('no reconcile run in flight', async () => (await schedule.describe()).info.runningActions.length === 0, 120_000);
}

/** Register the fleet's simulated switches the way `npm start` does (credentials admin/admin, default profiles and dashboard). */
export async function seedFleetMembers(db: Knex, fleet: Fleet): Promise<DeviceRow[]> {
  return seedSimulatedDevices(
    db,
    parseKeyring(TEST_SECRETS_KEY),
    fleet.members.map((m) => ({ name: m.name, protocol: 'gnmi' as const, host: m.host, port: m.port, username: 'admin', password: 'admin' })),
  );
}
