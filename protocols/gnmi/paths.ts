/**
 * Conversion between gNMI wire paths and core/path.ts structured paths. Path
 * strings are only ever produced by core/path.ts formatPath and read by parsePath.
 */
import { parsePath, type PathElem, type StructuredPath } from '../../core/path';
import type { WirePath } from './proto';

/** Thrown for a wire path that cannot be turned into a canonical path. */
export class WirePathError extends Error {
  constructor(detail: string) {
    super(`MALFORMED_PATH: ${detail}`);
    this.name = 'WirePathError';
  }
}

/** A wire path (elem form, or the deprecated element form) as a structured path. */
export function fromWirePath(p: WirePath | undefined | null): StructuredPath {
  if (!p) return { origin: '', elems: [] };
  const elems: PathElem[] = [];
  if (p.elem && p.elem.length > 0) {
    for (const e of p.elem) {
      if (!e.name) throw new WirePathError('path element without a name');
      const keys = e.key && Object.keys(e.key).length > 0 ? { ...e.key } : undefined;
      elems.push(keys ? { name: e.name, keys } : { name: e.name });
    }
  } else if (p.element && p.element.length > 0) {
    // gNMI < 0.4 sent each element as text, possibly with [k=v] keys.
    for (const text of p.element) {
      try {
        elems.push(...parsePath('/' + text).elems);
      } catch (err) {
        throw new WirePathError(`bad deprecated path element ${JSON.stringify(text.slice(0, 100))}`);
      }
    }
  }
  return { origin: p.origin ?? '', elems };
}

/** A structured path as a wire path (elem form). */
export function toWirePath(p: StructuredPath, target?: string): WirePath {
  const out: WirePath = {
    elem: p.elems.map((e) => (e.keys ? { name: e.name, key: { ...e.keys } } : { name: e.name })),
  };
  if (p.origin) out.origin = p.origin;
  if (target) out.target = target;
  return out;
}
