/** User form schemas (pure). */
import { z } from 'zod';

/** A new password: long enough to resist guessing. */
export const NewPassword = z.string().min(10, 'At least 10 characters').max(1024);

/** An admin adding a user. */
export const NewUserForm = z.object({
  email: z.string().trim().email('An email address').max(320),
  password: NewPassword,
  role: z.enum(['admin', 'viewer'], { error: 'admin or viewer' }),
});
