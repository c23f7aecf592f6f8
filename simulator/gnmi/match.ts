/**
 * gNMI path matching for the simulated target: a subscription path selects every
 * leaf below it; an element without keys matches every list entry, a key value
 * `*` is a wildcard, an element name `*` matches any one element and `...` any
 * number of elements.
 */
import { parsePath, type PathElem, type StructuredPath } from '../../core/path';

const parsed = new Map<string, StructuredPath>();

/** parsePath with a cache: the simulator's leaf paths repeat on every sample. */
export function leafPath(text: string): StructuredPath {
  let p = parsed.get(text);
  if (!p) {
    p = parsePath(text);
    if (parsed.size > 100_000) parsed.clear();
    parsed.set(text, p);
  }
  return p;
}

function elemMatches(sub: PathElem, leaf: PathElem): boolean {
  if (sub.name !== '*' && sub.name !== leaf.name) return false;
  if (!sub.keys) return true;
  for (const [k, v] of Object.entries(sub.keys)) {
    if (v === '*') continue;
    if (leaf.keys?.[k] !== v) return false;
  }
  return true;
}

/** Does `sub` select `leaf` (sub is a prefix of leaf, with wildcards)? */
export function pathSelects(sub: PathElem[], leaf: PathElem[], si = 0, li = 0): boolean {
  while (si < sub.length) {
    if (sub[si].name === '...') {
      for (let skip = li; skip <= leaf.length; skip++) if (pathSelects(sub, leaf, si + 1, skip)) return true;
      return false;
    }
    if (li >= leaf.length || !elemMatches(sub[si], leaf[li])) return false;
    si++;
    li++;
  }
  return true;
}

/** Does the path fit the schema (ignoring list keys), i.e. could it ever select a leaf? */
export function pathInSchema(sub: PathElem[], leaves: PathElem[][]): boolean {
  const bare = sub.map((e) => ({ name: e.name }));
  return leaves.some((l) => pathSelects(bare, l));
}
