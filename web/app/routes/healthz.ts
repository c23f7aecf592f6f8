/**
 * GET /healthz: the web process and its database. Anonymous callers (load
 * balancers, probes) get only `ok` and a generic problem; signed-in admins also
 * get the detail. The detail always goes to the log.
 */
import type { Route } from './+types/healthz';
import { createLogger } from '../../../core/log';
import { getUser } from '../lib/auth.server';
import { ctx } from '../lib/context.server';
import { pingDatabase } from '../../../storage/pool';

const log = createLogger('web');

export async function loader({ request }: Route.LoaderArgs) {
  const admin = await getUser(request)
    .then((u) => u?.role === 'admin')
    .catch(() => false);
  try {
    await pingDatabase(ctx().pool);
    return Response.json(admin ? { ok: true, liveClients: ctx().hub.size } : { ok: true });
  } catch (err) {
    const detail = `database: ${(err as Error).message}`;
    log.warn('health check failed', { problem: detail });
    return Response.json(admin ? { ok: false, problem: detail } : { ok: false, problem: 'database unavailable' }, { status: 503 });
  }
}
