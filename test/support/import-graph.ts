/**
 * The repository's import graph, read from the source text, and the layering rules of
 * docs/architecture.md checked against it (test/unit/architecture.test.ts).
 */
import fs from 'node:fs';
import path from 'node:path';

/** One import of one file: the file it resolves to, and whether only types cross. */
export interface ImportEdge {
  from: string;
  to: string;
  typeOnly: boolean;
}

/** Top-level folders whose .ts/.tsx files make up the graph. */
export const SOURCE_ROOTS = [
  'core', 'protocols', 'storage', 'query', 'temporal', 'fleet', 'activities', 'workflows', 'migrations',
  'workers', 'simulator', 'web', 'scripts', 'bench', 'test', 'testkit',
] as const;

const SKIP_DIRS = new Set(['node_modules', 'build', '.react-router', 'results']);
const IMPORT_RE =
  /(?:^|[;\n])\s*(import|export)\s+(type\s+)?([^'";]*?)\s*from\s*['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)|(?:^|[;\n])\s*import\s+['"]([^'"]+)['"]/g;

/** Every .ts/.tsx file under the source roots, relative to `root`, with `/` separators. */
export function sourceFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const rel = `${dir}/${entry.name}`;
      if (entry.isDirectory()) {
        if (!SKIP_DIRS.has(entry.name)) walk(rel);
      } else if (/\.tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts')) {
        out.push(rel);
      }
    }
  };
  for (const top of SOURCE_ROOTS) if (fs.existsSync(path.join(root, top))) walk(top);
  return out.sort();
}

/** Whether an import clause names only types (`import type …`, or every specifier marked `type`). */
function clauseIsTypeOnly(typeKeyword: string | undefined, clause: string): boolean {
  if (typeKeyword) return true;
  const braces = /^\{([^}]*)\}$/.exec(clause.trim());
  if (!braces) return false;
  const names = braces[1].split(',').map((s) => s.trim()).filter(Boolean);
  return names.length > 0 && names.every((n) => n.startsWith('type '));
}

/** Relative imports of one file's text, resolved against the set of known files. */
export function importsOf(file: string, text: string, known: ReadonlySet<string>): ImportEdge[] {
  const edges: ImportEdge[] = [];
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  for (const m of code.matchAll(IMPORT_RE)) {
    const spec = m[4] ?? m[5] ?? m[6];
    if (!spec?.startsWith('.')) continue;
    const base = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec));
    const to = ['', '.ts', '.tsx', '/index.ts', '/index.tsx'].map((s) => base + s).find((c) => known.has(c));
    if (!to) continue; // JSON, .cjs and the like: not part of the layering
    const typeOnly = m[4] !== undefined && clauseIsTypeOnly(m[2], m[3]);
    edges.push({ from: file, to, typeOnly });
  }
  return edges;
}

/** The import graph of the repository at `root`. */
export function readImportGraph(root: string): ImportEdge[] {
  const files = sourceFiles(root);
  const known = new Set(files);
  return files.flatMap((f) => importsOf(f, fs.readFileSync(path.join(root, f), 'utf8'), known));
}

/** The layer a file belongs to: its top folder. */
export function layerOf(file: string): string {
  return file.split('/')[0];
}

/**
 * What each layer may import (besides itself). Type-only imports are listed apart: workflows
 * see activity signatures as types only, and the fleet client types its handles by the workflow.
 */
export const ALLOWED: Record<string, { values: readonly string[]; types?: readonly string[] }> = {
  core: { values: [] },
  protocols: { values: ['core'] },
  storage: { values: ['core'] },
  query: { values: ['core', 'storage'] },
  temporal: { values: ['core'], types: ['workflows'] },
  fleet: { values: ['core', 'storage', 'temporal'] },
  activities: { values: ['core', 'protocols', 'storage', 'query', 'temporal', 'fleet'] },
  workflows: { values: ['core'], types: ['activities'] },
  migrations: { values: ['core'] },
  simulator: { values: ['core', 'protocols'] },
  workers: { values: ['core', 'protocols', 'storage', 'query', 'temporal', 'fleet', 'activities', 'workflows', 'migrations'] },
  web: { values: ['core', 'protocols', 'storage', 'query', 'temporal', 'fleet', 'activities'] },
  scripts: { values: ['core', 'protocols', 'storage', 'query', 'temporal', 'fleet', 'activities', 'migrations', 'workers', 'simulator', 'testkit'] },
  testkit: { values: ['core', 'protocols', 'storage', 'query', 'temporal', 'fleet', 'activities', 'migrations', 'workers', 'simulator', 'scripts', 'web'] },
  bench: { values: ['core', 'protocols', 'storage', 'query', 'temporal', 'fleet', 'activities', 'migrations', 'workers', 'simulator', 'scripts', 'testkit', 'web'] },
  test: { values: ['core', 'protocols', 'storage', 'query', 'temporal', 'fleet', 'activities', 'workflows', 'migrations', 'workers', 'simulator', 'scripts', 'bench', 'testkit', 'web'] },
};

/** Imports that break the layering, as `from → to` lines. */
export function layerViolations(edges: readonly ImportEdge[]): string[] {
  const out: string[] = [];
  for (const e of edges) {
    const from = layerOf(e.from);
    const to = layerOf(e.to);
    if (from === to) continue;
    const rule = ALLOWED[from];
    if (!rule) {
      out.push(`${e.from} → ${e.to} (${from} is not a known layer)`);
      continue;
    }
    if (rule.values.includes(to)) continue;
    if (e.typeOnly && rule.types?.includes(to)) continue;
    out.push(`${e.from} → ${e.to} (${from} may not import ${e.typeOnly ? 'types of ' : ''}${to})`);
  }
  return out;
}

/** Import cycles between files (Tarjan's strongly connected components of more than one file, or a file importing itself). */
export function importCycles(edges: readonly ImportEdge[]): string[][] {
  const next = new Map<string, string[]>();
  for (const e of edges) {
    if (!next.has(e.from)) next.set(e.from, []);
    next.get(e.from)!.push(e.to);
  }
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  let counter = 0;
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter);
    counter++;
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (next.get(v) ?? []).includes(v)) cycles.push(component.sort());
    }
  };
  for (const v of next.keys()) if (!index.has(v)) visit(v);
  return cycles;
}

/** Code that talks SQL: a statement call (`.query(`, `.raw(`, knex's `…Raw(`), a knex table builder (`db('table')`), a string starting with a statement keyword. */
const SQL_RE =
  /\.(?:query|raw|whereRaw|orWhereRaw|andWhereRaw|havingRaw|joinRaw|orderByRaw|groupByRaw)\s*\(|\b(?:db|knex|trx|tx)\s*\(\s*['"`]|\.(?:from|into|table)\s*\(\s*['"`]\w|['"`]\s*\(?\s*(?:SELECT|INSERT|UPDATE|DELETE|WITH|LISTEN|NOTIFY|CREATE|ALTER|DROP|TRUNCATE|COPY)\s/g;

/** Where a file's code (comments left out) talks SQL, as `line: text` entries; storage/ is where that belongs. */
export function sqlIn(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, ' ')).replace(/^\s*\/\/.*$/gm, '');
  const lines = code.split('\n');
  const out: string[] = [];
  lines.forEach((line, i) => {
    if (SQL_RE.test(line)) out.push(`${i + 1}: ${line.trim()}`);
    SQL_RE.lastIndex = 0;
  });
  return out;
}
