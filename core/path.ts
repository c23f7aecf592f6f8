/**
 * Canonical telemetry paths: gNMI path syntax with list keys, e.g.
 * `/interfaces/interface[name=Ethernet1]/state/counters/in-octets`.
 * Every protocol (gNMI, NETCONF) and every store uses these two functions, so
 * the same leaf always has the same name. Pure code: safe in workflows and the browser.
 */

/** One element of a path: a node name and its list keys. */
export interface PathElem {
  name: string;
  keys?: Record<string, string>;
}

/** A structured path; origin '' and 'openconfig' are the default and are not printed. */
export interface StructuredPath {
  origin?: string;
  elems: PathElem[];
}

const DEFAULT_ORIGINS = new Set(['', 'openconfig']);

const KEY_SPECIAL = /[\\\]=]/;
const NAME_SPECIAL = /[\\/[]/;

/** Escape `\`, `]` and `=` in a key value (the characters that would end or split it). */
export function escapeKeyValue(value: string): string {
  // Most values need no escaping; testing first avoids building a new string (hot path).
  return KEY_SPECIAL.test(value) ? value.replace(/[\\\]=]/g, (ch) => `\\${ch}`) : value;
}

/** Escape `/` and `[` in an element name, and `\` itself. */
function escapeElemName(name: string): string {
  return NAME_SPECIAL.test(name) ? name.replace(/[\\/[]/g, (ch) => `\\${ch}`) : name;
}

/** Turn a structured path into its canonical string; keys are sorted by name. */
export function formatPath(path: StructuredPath): string {
  return withOrigin(path.origin, formatElems(path.elems));
}

/**
 * The canonical text of elements without origin ('' for none). Because paths are
 * plain concatenations, formatElems(a) + formatElems(b) = formatElems([...a, ...b]):
 * decoders format a shared prefix once and append each leaf's relative part.
 */
export function formatElems(elems: readonly PathElem[]): string {
  let out = '';
  for (const elem of elems) {
    out += '/' + escapeElemName(elem.name);
    const keys = elem.keys;
    if (keys) {
      const names = Object.keys(keys);
      if (names.length > 1) names.sort();
      for (const k of names) out += `[${k}=${escapeKeyValue(keys[k])}]`;
    }
  }
  return out;
}

/** Complete element text into a canonical path: '/' for the root, `origin:` unless it is a default origin. */
export function withOrigin(origin: string | undefined, elemsText: string): string {
  const out = elemsText === '' ? '/' : elemsText;
  return !origin || DEFAULT_ORIGINS.has(origin) ? out : `${origin}:${out}`;
}

/** Error thrown for a path string that does not follow the grammar. */
export class PathSyntaxError extends Error {
  constructor(readonly input: string, readonly position: number, detail: string) {
    super(`INVALID_PATH: ${detail} at position ${position} in ${JSON.stringify(input.slice(0, 200))}`);
    this.name = 'PathSyntaxError';
  }
}

/** Longest path string accepted by the parser; longer input is refused, not scanned. */
export const MAX_PATH_LENGTH = 4096;

/**
 * Parse a canonical path string (the inverse of formatPath). Accepts an optional
 * `origin:` prefix before the first `/`. Throws PathSyntaxError on bad input.
 */
export function parsePath(input: string): StructuredPath {
  if (input.length > MAX_PATH_LENGTH) throw new PathSyntaxError(input, MAX_PATH_LENGTH, 'path too long');
  let i = 0;
  let origin = '';
  const slash = input.indexOf('/');
  if (slash > 0) {
    const head = input.slice(0, slash);
    if (head.endsWith(':') && /^[A-Za-z0-9_.-]+:$/.test(head)) {
      origin = head.slice(0, -1);
      i = slash;
    }
  }
  if (input[i] !== '/') throw new PathSyntaxError(input, i, "expected '/'");
  const elems: PathElem[] = [];
  while (i < input.length) {
    if (input[i] !== '/') throw new PathSyntaxError(input, i, "expected '/'");
    i++;
    if (i === input.length && elems.length === 0) break; // the root path "/"
    let name = '';
    while (i < input.length && input[i] !== '/' && input[i] !== '[') {
      if (input[i] === '\\' && i + 1 < input.length) {
        name += input[i + 1];
        i += 2;
      } else {
        name += input[i++];
      }
    }
    if (name === '') throw new PathSyntaxError(input, i, 'empty element name');
    const elem: PathElem = { name };
    while (input[i] === '[') {
      i++;
      let key = '';
      while (i < input.length && input[i] !== '=' && input[i] !== ']') key += input[i++];
      if (input[i] !== '=' || key === '') throw new PathSyntaxError(input, i, "expected 'key=' in list key");
      i++;
      let value = '';
      while (i < input.length && input[i] !== ']') {
        if (input[i] === '\\' && i + 1 < input.length) {
          value += input[i + 1];
          i += 2;
        } else {
          value += input[i++];
        }
      }
      if (input[i] !== ']') throw new PathSyntaxError(input, i, "unterminated '['");
      i++;
      (elem.keys ??= {})[key] = value;
    }
    elems.push(elem);
  }
  return { origin, elems };
}

/** Join a prefix and a relative path (gNMI prefix + update path). */
export function joinPaths(prefix: StructuredPath | undefined, path: StructuredPath): StructuredPath {
  if (!prefix || prefix.elems.length === 0) {
    return { origin: path.origin || prefix?.origin || '', elems: path.elems };
  }
  return { origin: prefix.origin || path.origin || '', elems: [...prefix.elems, ...path.elems] };
}
