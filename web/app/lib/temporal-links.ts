/**
 * Links into Temporal Web's workflow list with a List Filter already applied (issue 21,
 * ADR 126). Temporal Web keeps saved views in the browser and cannot be given them by a
 * server; its workflow list reads the filter from the `query` URL parameter
 * (`/namespaces/<ns>/workflows?query=<visibility query>`, checked against ui-server
 * 2.55.0 and the dev server's UI by test/e2e/temporal-web-links.test.ts), so a link is
 * a view. The queries are written down in docs/sessions.md. Pure, browser-safe.
 */
import { WORKFLOW_TYPES, type SessionState } from '../../../core/names';

const SESSIONS = `WorkflowType = '${WORKFLOW_TYPES.deviceSession}'`;
const RUNNING = `ExecutionStatus = 'Running'`;
const states = (s: readonly SessionState[]) => (s.length === 1 ? `SessionState = '${s[0]}'` : `SessionState IN (${s.map((x) => `'${x}'`).join(', ')})`);

/** The List Filter queries the pages link to. */
export const SESSION_VIEWS = {
  /** Every device session, running or closed. */
  all: SESSIONS,
  /** Sessions that run now. */
  running: `${SESSIONS} AND ${RUNNING}`,
  /** Parked until an operator fixes the device (credentials refused, configuration unusable). */
  parked: `${SESSIONS} AND ${RUNNING} AND ${states(['auth-failed', 'config-invalid'])}`,
  /** Waiting to retry after a failed attempt. */
  backoff: `${SESSIONS} AND ${RUNNING} AND ${states(['backoff'])}`,
  /** Running but not streaming (connecting, retrying, paused, parked). */
  notStreaming: `${SESSIONS} AND ${RUNNING} AND SessionState != 'streaming'`,
} as const;

/** Every run of one device's session (continued-as-new runs included), newest first. */
export const deviceSessionQuery = (deviceId: number) => `${SESSIONS} AND DeviceId = '${Math.trunc(deviceId)}'`;

/** Temporal Web's workflow list of `namespace` filtered by `query`. */
export function workflowListUrl(uiUrl: string, namespace: string, query: string): string {
  return `${uiUrl.replace(/\/+$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows?query=${encodeURIComponent(query)}`;
}
