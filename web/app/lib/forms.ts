/**
 * Turning HTML form submissions into typed input and zod failures into field
 * errors. Pure: the same helpers serve actions and their unit tests.
 */
import type { z } from 'zod';

/** Field name (dotted path, e.g. "gnmi.tls") → first error message. */
export type FieldErrors = Record<string, string>;

/** The first message for every failing field of a zod error. */
export function fieldErrors(error: z.ZodError): FieldErrors {
  const out: FieldErrors = {};
  for (const issue of error.issues) {
    const key = issue.path.map(String).join('.') || '_form';
    out[key] ??= issue.message;
  }
  return out;
}

/** A text field: trimmed, or undefined when blank. */
export function text(form: FormData, name: string): string | undefined {
  const v = form.get(name);
  if (typeof v !== 'string') return undefined;
  const t = v.trim();
  return t === '' ? undefined : t;
}

/** A text field that keeps its inner whitespace (PEM, XML); undefined when blank. */
export function block(form: FormData, name: string): string | undefined {
  const v = form.get(name);
  if (typeof v !== 'string' || v.trim() === '') return undefined;
  return v.replace(/\r\n/g, '\n').trim() + (v.includes('-----') ? '\n' : '');
}

/** A checkbox: true when present and not "false"/"off". */
export function checkbox(form: FormData, name: string): boolean {
  const v = form.get(name);
  return v !== null && v !== 'false' && v !== 'off' && v !== '0';
}

/** A number field: a number when it parses, the raw text otherwise (so the schema reports it), undefined when blank. */
export function num(form: FormData, name: string): number | string | undefined {
  const t = text(form, name);
  if (t === undefined) return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : t;
}

/** Every string value of a form, for re-rendering it after a failure (secrets left out). */
export function submittedValues(form: FormData, omit: string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of form.entries()) {
    if (typeof v !== 'string' || omit.includes(k)) continue;
    out[k] = k in out ? `${out[k]},${v}` : v;
  }
  return out;
}

/** Parse a duration like "500ms", "10s", "1m", "2h" (or a bare number of ms) into milliseconds. */
export function parseDuration(input: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/.exec(input.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = m[2] ?? 'ms';
  return Math.round(n * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit]!);
}

/** Format milliseconds as the shortest of "500ms", "10s", "5m", "2h". */
export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0 && ms > 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
