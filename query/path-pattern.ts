/**
 * Path patterns for selecting series: canonical gNMI paths (core/path.ts grammar)
 * with wildcards —
 *   `*` as an element name        any one element (with any keys)
 *   `...` as an element           any number of elements, including none
 *   `[key=*]`, `[key=Eth*]`       any key value / a glob on it
 *   an element without keys       matches that element whatever its keys
 * A pattern is parsed by parsePath, then compiled into an anchored regular
 * expression over canonical path strings in which every literal is escaped.
 * The result is a *value* bound as a query parameter (`path ~ $n`), never SQL text.
 * The expression uses only syntax that JavaScript and PostgreSQL (ARE) read alike.
 */
import { escapeKeyValue, parsePath, PathSyntaxError, type PathElem } from '../core/path';

/** A compiled pattern. */
export interface PathMatcher {
  pattern: string;
  /** Whether the pattern uses `*` or `...` (an element without keys matches any keys either way). */
  wildcard: boolean;
  regex: string;
}

/** One character of an element name as formatPath writes it (escapes included). */
const NAME_CHAR = '(?:[^/\\[\\\\]|\\\\.)';
/** One character of a key value as formatPath writes it. */
const VALUE_CHAR = '(?:[^\\]\\\\]|\\\\.)';
/** Any sequence of `[k=v]` groups. */
const ANY_KEYS = `(?:\\[${VALUE_CHAR}*\\])*`;
const ANY_ELEM = `${NAME_CHAR}+${ANY_KEYS}`;

/** `text` as a literal inside a regular expression (without the `u` flag: `-` and `/` are escaped too). */
export function regexEscape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, (c) => `\\${c}`);
}

function escapeName(name: string): string {
  return name.replace(/[\\/[]/g, (ch) => `\\${ch}`);
}

function valueRegex(value: string): string {
  if (value === '*') return `${VALUE_CHAR}*`;
  return value
    .split('*')
    .map((part) => regexEscape(escapeKeyValue(part)))
    .join(`${VALUE_CHAR}*`);
}

function keysRegex(keys: Record<string, string> | undefined): string {
  if (!keys || Object.keys(keys).length === 0) return ANY_KEYS;
  // Stored paths list keys sorted by name; other keys may sit between the ones asked for.
  let out = ANY_KEYS;
  for (const k of Object.keys(keys).sort()) {
    out += `\\[${regexEscape(k)}=${valueRegex(keys[k])}\\]${ANY_KEYS}`;
  }
  return out;
}

function elemRegex(elem: PathElem): string {
  const name = elem.name === '*' ? `${NAME_CHAR}+` : regexEscape(escapeName(elem.name));
  return name + keysRegex(elem.keys);
}

function isWild(elem: PathElem): boolean {
  if (elem.name === '*' || elem.name === '...') return true;
  if (!elem.keys) return false;
  return Object.values(elem.keys).some((v) => v.includes('*'));
}

/** Longest pattern accepted (also bounds the regular expression we hand the database). */
export const MAX_PATTERN_LENGTH = 1024;

/** Parse and compile a path pattern; throws PathSyntaxError on bad input. */
export function compilePathPattern(pattern: string): PathMatcher {
  if (pattern.length > MAX_PATTERN_LENGTH) throw new PathSyntaxError(pattern, MAX_PATTERN_LENGTH, 'pattern too long');
  const parsed = parsePath(pattern);
  const origin = parsed.origin && parsed.origin !== 'openconfig' ? `${regexEscape(parsed.origin)}:` : '';
  let body = '';
  for (const elem of parsed.elems) {
    body += elem.name === '...' ? `(?:/${ANY_ELEM})*` : `/${elemRegex(elem)}`;
  }
  return { pattern, wildcard: parsed.elems.some(isWild), regex: `^${origin}${body || '/'}$` };
}

/** Test a canonical path against a compiled pattern (the same test the database runs). */
export function matchesPath(matcher: PathMatcher, path: string): boolean {
  return new RegExp(matcher.regex).test(path);
}
