/**
 * Settings for code a test runs in its own process (routes, the web context): set environment
 * variables and get back the function that puts the previous values back (unset stays unset).
 */
export function overrideEnv(vars: Record<string, string>): () => void {
  const saved = Object.keys(vars).map((k) => [k, process.env[k]] as const);
  Object.assign(process.env, vars);
  return () => {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}
