/**
 * GET /devices/export.csv?<filter>: the filtered devices as CSV with the columns the
 * import reads (web/app/lib/device-import.ts), so an export can be edited and imported
 * again. Secrets are never written: not selected from the database at all.
 */
import type { Route } from './+types/devices-export';
import { requireUser } from '../lib/auth.server';
import { ctx } from '../lib/context.server';
import { devicesToCsv } from '../lib/device-import';
import { exportDevices } from '../../../storage/device-list';
import { filterFromParams } from '../../../core/device-filter';

export async function loader({ request }: Route.LoaderArgs) {
  await requireUser(request);
  const rows = await exportDevices(ctx().db, filterFromParams(new URL(request.url).searchParams));
  // Named in UTC, whatever zone the pages show (the file has no other time).
  const stamp = `${new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-')}-UTC`;
  return new Response(devicesToCsv(rows), {
    headers: {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="devices-${stamp}.csv"`,
      'cache-control': 'no-store',
    },
  });
}
