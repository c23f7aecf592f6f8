/**
 * The direction of imports (docs/architecture.md), read from the source of every .ts/.tsx file:
 * entry points and the web app over temporal/query/storage/protocols/activities over core;
 * workflows see activities as types only; no import cycles.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'mocha';
import fs from 'node:fs';
import { importCycles, importsOf, layerViolations, readImportGraph, sourceFiles, sqlIn, type ImportEdge } from '../support/import-graph';
import { WORKFLOW_TYPES } from '../../core/names';

const ROOT = path.resolve(import.meta.dirname, '../..');

const edge = (from: string, to: string, typeOnly = false): ImportEdge => ({ from, to, typeOnly });

/** Workflow ids rebuilt by hand (`device-session/${…}`) and workflow type names in quotes, as `line: text` entries. */
function handWrittenWorkflowNames(text: string): string[] {
  const typeNames = Object.values(WORKFLOW_TYPES).join('|');
  const re = new RegExp(`(?:device-session|device-probe|alert-rule|bulk-action)/\\$\\{|['"\`](?:${typeNames})['"\`]`);
  const code = text.replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, ' ')).replace(/^\s*\/\/.*$/gm, '');
  return code.split('\n').flatMap((line, i) => (re.test(line) ? [`${i + 1}: ${line.trim()}`] : []));
}

describe('architecture: direction of imports', () => {
  const graph = readImportGraph(ROOT);

  it('reads the imports of the whole repository', () => {
    // A parser that found nothing would pass every rule below.
    assert.ok(graph.length > 500, `only ${graph.length} imports read`);
    const layers = new Set(graph.map((e) => e.from.split('/')[0]));
    for (const l of ['core', 'protocols', 'storage', 'activities', 'workflows', 'web', 'simulator', 'workers']) assert.ok(layers.has(l), `no file of ${l} read`);
  });

  it('every import goes in an allowed direction', () => {
    assert.deepEqual(layerViolations(graph), []);
  });

  it('workflows import only core and the types of activities', () => {
    const fromWorkflows = graph.filter((e) => e.from.startsWith('workflows/') && !e.to.startsWith('workflows/'));
    assert.ok(fromWorkflows.some((e) => e.to.startsWith('activities/') && e.typeOnly), 'workflows should see activity types');
    assert.deepEqual(
      fromWorkflows.filter((e) => !e.to.startsWith('core/') && !(e.to.startsWith('activities/') && e.typeOnly)),
      [],
    );
  });

  it('there are no import cycles', () => {
    assert.deepEqual(importCycles(graph), []);
  });

  it('no SQL outside storage/, query/ and migrations/: routes, workers, scripts and activities call repositories', () => {
    // Not checked: tests and benchmarks (their own fixtures), scripts/infra (cluster administration:
    // roles, databases, the Temporal schema; no table of ours), temporal/ (no database; `.query(` there is a workflow query).
    const CHECKED = ['core', 'protocols', 'fleet', 'activities', 'workflows', 'workers', 'web', 'simulator', 'scripts', 'testkit'];
    const files = sourceFiles(ROOT).filter((f) => CHECKED.includes(f.split('/')[0]) && !f.startsWith('scripts/infra/'));
    assert.ok(files.length > 150, `only ${files.length} files read`);
    for (const l of ['web', 'activities', 'workers', 'scripts']) assert.ok(files.some((f) => f.startsWith(`${l}/`)), `no file of ${l} read`);
    const found = files.flatMap((f) => sqlIn(fs.readFileSync(path.join(ROOT, f), 'utf8')).map((hit) => `${f}:${hit}`));
    assert.deepEqual(found, []);
  });

  it('migrations import nothing of ours but core/config.ts: their SQL is frozen in them (ADR 080)', () => {
    const fromMigrations = graph.filter((e) => e.from.startsWith('migrations/') && !e.to.startsWith('migrations/'));
    assert.ok(fromMigrations.length > 0, 'no import of a migration read');
    assert.deepEqual(fromMigrations.filter((e) => e.to !== 'core/config.ts').map((e) => `${e.from} → ${e.to}`), []);
  });

  it('workflow ids and type names are built only in core/names.ts', () => {
    const files = sourceFiles(ROOT).filter((f) => !/^(test|bench)\//.test(f) && f !== 'core/names.ts');
    const found = files.flatMap((f) => handWrittenWorkflowNames(fs.readFileSync(path.join(ROOT, f), 'utf8')).map((hit) => `${f}:${hit}`));
    assert.deepEqual(found, []);
    const sample = ["const id = `device-session/${deviceId}`;", "client.workflow.start('alertRuleWorkflow', opts);", '// `device-session/${id}` in a comment', "log.info('one workflow per device: device-session/<id>');"];
    assert.deepEqual(handWrittenWorkflowNames(sample.join('\n')).map((h) => Number(h.split(':')[0])), [1, 2]);
  });

  it('activities/ stays thin: under 1,000 lines (issue 15; collector machinery goes to workers/, decisions to core/, reads to storage/ or query/)', () => {
    const files = sourceFiles(ROOT).filter((f) => f.startsWith('activities/'));
    assert.ok(files.length >= 5, `only ${files.length} files of activities/ read`);
    const lines = files.map((f) => fs.readFileSync(path.join(ROOT, f), 'utf8').split('\n').length - 1);
    const total = lines.reduce((a, b) => a + b, 0);
    assert.ok(total < 1000, `activities/ has ${total} lines: ${files.map((f, i) => `${f} ${lines[i]}`).join(', ')}`);
  });

  it('recognises SQL in code and not in comments or prose', () => {
    const text = [
      "await ctx().pool.query('SELECT 1');",
      "const q = db('series as s').where({ kind });",
      "const r = await db.raw(",
      "  `(SELECT ids.id FROM unnest(?::bigint[]) AS ids(id))`);",
      "knex.from('devices').count();",
      "x.whereRaw('model = first_model');",
      "await client.query(`LISTEN ${CHANNEL}`);",
      "// await pool.query('SELECT 1');",
      "/* db('devices') */",
      "const label = 'Select a device';",
      "const form = request.formData();",
    ].join('\n');
    assert.deepEqual(sqlIn(text).map((h) => Number(h.split(':')[0])), [1, 2, 3, 4, 5, 6, 7]);
  });

  it('finds a violation in a synthetic graph: core importing web, a value import of activities from a workflow, the simulator importing activities', () => {
    const bad = [
      edge('core/a.ts', 'web/app/lib/b.server.ts'),
      edge('workflows/w.ts', 'activities/types.ts'),
      edge('simulator/s.ts', 'activities/x.ts'),
      edge('storage/r.ts', 'activities/x.ts', true),
      edge('protocols/p.ts', 'test/support/t.ts'),
    ];
    const found = layerViolations(bad);
    assert.equal(found.length, bad.length, found.join('\n'));
    assert.match(found[0], /core may not import web/);
    assert.match(found[1], /workflows may not import activities/);
    assert.deepEqual(layerViolations([edge('workflows/w.ts', 'activities/types.ts', true), edge('web/x.ts', 'storage/y.ts')]), []);
  });

  it('finds cycles in a synthetic graph, and none in a chain', () => {
    const cycles = importCycles([edge('storage/a.ts', 'storage/b.ts'), edge('storage/b.ts', 'storage/c.ts'), edge('storage/c.ts', 'storage/a.ts'), edge('core/x.ts', 'core/x.ts')]);
    assert.deepEqual(cycles.map((c) => c.join(' ')).sort(), ['core/x.ts', 'storage/a.ts storage/b.ts storage/c.ts']);
    assert.deepEqual(importCycles([edge('web/a.ts', 'storage/b.ts'), edge('storage/b.ts', 'core/c.ts')]), []);
  });

  it('reads import forms: type-only clauses, re-exports, dynamic imports, and skips comments', () => {
    const known = new Set(['core/a.ts', 'core/b.ts', 'core/c/index.ts', 'core/d.tsx', 'core/e.ts', 'x/f.ts']);
    const text = [
      "import type { A } from '../core/a';",
      "import { type B, type C } from '../core/b';",
      "export { D } from '../core/c';",
      "const d = await import('../core/d');",
      "import { E, type F } from '../core/e';",
      "// import { G } from '../core/a';",
      "import fs from 'node:fs';",
    ].join('\n');
    assert.deepEqual(importsOf('x/f.ts', text, known), [
      edge('x/f.ts', 'core/a.ts', true),
      edge('x/f.ts', 'core/b.ts', true),
      edge('x/f.ts', 'core/c/index.ts'),
      edge('x/f.ts', 'core/d.tsx'),
      edge('x/f.ts', 'core/e.ts'),
    ]);
  });
});
