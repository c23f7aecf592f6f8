/**
 * A session's profile spec, validated against its protocol's schema (defaults applied), or a
 * CONFIG_INVALID SessionError naming the profile: the one check of both protocols' sessions.
 */
import type { z } from 'zod';
import { SessionError } from '../core/session';

/**
 * Specs this process has validated, by schema and object: devices loaded together share their
 * profiles' objects (storage/devices.ts), so thousands of sessions dialled at once validate each
 * profile once, not once per session (issue 20). Specs are not changed after loading.
 */
const validated = new WeakMap<object, WeakMap<object, unknown>>();

export function validatedProfileSpec<T>(schema: z.ZodType<T>, profileName: string, spec: object): T {
  let bySpec = validated.get(schema);
  if (!bySpec) validated.set(schema, (bySpec = new WeakMap()));
  if (bySpec.has(spec)) return bySpec.get(spec) as T;
  const parsed = schema.safeParse(spec);
  if (!parsed.success) {
    throw new SessionError('CONFIG_INVALID', `profile ${profileName}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  bySpec.set(spec, parsed.data);
  return parsed.data;
}
