/**
 * Keeps device_session_state current for the devices and sites views (ADR 095):
 * every WEB_FLEET_STATE_SYNC_MS one visibility listing of the running session
 * workflows replaces the mirror, so a page never asks Temporal per row. Each pass
 * also reads how many samples were inserted, for the fleet's points/s, and each
 * device's points/s and last seen since the previous pass (ADR 135). Started
 * by the first page that needs it; stops when the web context is closed.
 */
import { syncSessionStates } from '../../../fleet/bulk';
import { refreshDeviceActivity, samplesInsertedTotal, type ActivityWindow } from '../../../storage/device-list';
import { ctx, temporalClient } from './context.server';
import { withTimeout } from './sessions.server';

type WebContext = ReturnType<typeof ctx>;

interface Mirror {
  owner: WebContext;
  first: Promise<void>;
  lastOkAt?: number;
  lastError?: string;
  /** The previous reading of samples inserted, and the fleet's points/s between the last two readings. */
  inserted?: { at: number; total: number };
  pointsPerSecond?: number;
  /** The per-device traffic window counted last (ADR 135). */
  activity?: ActivityWindow;
}

const g = globalThis as typeof globalThis & { __fleetStateMirror?: Mirror; __switchTelemetry?: WebContext };

async function syncOnce(m: Mirror): Promise<void> {
  try {
    const total = await samplesInsertedTotal(m.owner.db);
    const at = Date.now();
    if (m.inserted && at - m.inserted.at >= 500) m.pointsPerSecond = Math.max(0, (total - m.inserted.total) / ((at - m.inserted.at) / 1000));
    if (!m.inserted || at - m.inserted.at >= 500) m.inserted = { at, total };
  } catch {
    // Only the points/s figure is missing; the states are read below.
  }
  try {
    m.activity = await refreshDeviceActivity(m.owner.db, m.activity);
  } catch {
    // Per-device points/s and last seen stay as last written; the next pass counts from the same point.
  }
  try {
    const client = await withTimeout(temporalClient(), 3000, 'connecting to Temporal');
    await syncSessionStates(m.owner.db, client);
    m.lastOkAt = Date.now();
    m.lastError = undefined;
  } catch (err) {
    m.lastError = (err as Error).message;
  }
}

/**
 * Start the mirror (once per web context) and wait, at most `waitMs`, for its first
 * pass. Returns when the states were last read and the last error, for the page to show.
 */
export async function fleetStateMirror(waitMs = 3000): Promise<{ lastOkAt?: number; lastError?: string; pointsPerSecond?: number }> {
  const c = ctx();
  let m = g.__fleetStateMirror;
  if (!m || m.owner !== c) {
    const mirror: Mirror = { owner: c, first: Promise.resolve() };
    mirror.first = syncOnce(mirror);
    const tick = async () => {
      // A closed context (server stopping, a test resetting it) ends the loop.
      if (g.__fleetStateMirror !== mirror || g.__switchTelemetry !== c) return;
      await syncOnce(mirror);
      setTimeout(tick, Math.max(500, c.config.WEB_FLEET_STATE_SYNC_MS)).unref();
    };
    void mirror.first.then(() => setTimeout(tick, Math.max(500, c.config.WEB_FLEET_STATE_SYNC_MS)).unref());
    g.__fleetStateMirror = m = mirror;
  }
  await withTimeout(m.first, waitMs, 'reading session states').catch(() => undefined);
  return { lastOkAt: m.lastOkAt, lastError: m.lastError, pointsPerSecond: m.pointsPerSecond };
}
