/** GET /healthz: the web process and its database. Public (no sign-in), reveals nothing but health. */
import { ctx } from '../lib/context.server';

export async function loader() {
  try {
    await ctx().pool.query('SELECT 1');
    return Response.json({ ok: true, liveClients: ctx().hub.size });
  } catch (err) {
    return Response.json({ ok: false, problem: `database: ${(err as Error).message}` }, { status: 503 });
  }
}
