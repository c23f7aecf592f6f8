/**
 * Wait for a fact, not for time: poll `cond` until it holds, failing with `what`
 * after `ms`. Unlike scripts/infra/proc.ts `waitFor` (for services coming up, where
 * a throwing check means "not ready yet"), an error thrown by `cond` fails at once.
 */
export async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 5000, everyMs = 20): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * How `run` ends within `ms`: its rejection reason, the string 'resolved', or 'timed out'.
 * A bound, not a wait: it returns as soon as `run` settles.
 */
export async function outcomeWithin(run: Promise<unknown>, ms: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<string>((r) => (timer = setTimeout(() => r('timed out'), ms)));
  try {
    return await Promise.race([run.then(() => 'resolved', (e: unknown) => e), bound]);
  } finally {
    clearTimeout(timer);
  }
}
