/**
 * `npm run ctl -- rules …` (issue 18): alert rules from scripts, as the web app's rule editor
 * makes them. A rule is JSON in the shape the repository and POST /api/alert-rules/preview
 * take (core/alert-rules.ts AlertRuleInputSchema: name, spec, severity, forMs, intervalMs,
 * labels, contactPointId, enabled), validated by that one schema; create, edit and delete go
 * through fleet/alert-rule-changes.ts with the web editor — recorded in alert_rule_events with
 * the actor (`<user>@ctl`, or --by), the rule's workflow started or told by its `editRule`
 * update (instances kept), a deleted rule's workflow signalled to stop. Preview replays a rule
 * (stored or given) over the last 24 h (query/alert-preview.ts).
 * Exit codes: 0 ok, 2 usage or an invalid rule, 3 no such rule, 4 Temporal unreachable.
 */
import fs from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import { ZodError } from 'zod';
import { AlertRuleInputSchema, parseAlertDuration, type AlertRuleDefinition, type AlertRuleInput } from '../core/alert-rules';
import type { AlertRuleOptions } from '../core/names';
import { PathSyntaxError } from '../core/path';
import { RuleNameTakenError, deleteAlertRuleChange, findAlertRule, saveAlertRuleChange } from '../fleet/alert-rule-changes';
import { previewAlertRule, type AlertPreview } from '../query/alert-preview';
import { QueryRefusedError } from '../query/fleet-query';
import type { Queryable } from '../query/router';
import { alertRuleEvents, listAlertRules } from '../storage/alerts';
import { textTable } from './ctl-lib';

export const RULES_HELP = `Usage: npm run ctl -- rules [list|show|create|edit|delete|preview] [options]

  rules [list]                 every rule: id, name, kind, severity, interval, for, enabled, version
  rules show <rule>            one rule's definition (JSON) and its recorded changes
  rules create --rule <json>   a new rule; its workflow starts at once (enabled rules)
  rules edit <rule> [--rule <json>]
                               change a rule: the JSON's fields replace the stored ones (spec fields
                               are merged into the stored spec when the kind stays); its workflow
                               keeps every instance and evaluates with the new definition
  rules delete <rule>          delete a rule; its workflow resolves what fires and ends
  rules preview <rule>|--rule <json>
                               what the rule would have done over the last 24 h (nothing saved)

  <rule> is an id or a name. A rule as JSON, e.g.
    '{"name":"cpu hot","spec":{"kind":"threshold","path":"/system/cpu/state/utilization","agg":"max",
      "groupBy":"device","op":">","threshold":90},"severity":"critical","forMs":300000}'
  kinds: threshold (path, rate, agg, groupBy, op, threshold, recovery, windowMs), absence (path,
  silentMs), session (states: auth-failed, config-invalid, backoff; backoffLongerThanMs)

Options
      --rule <json>          the rule (or the fields to change) as JSON
      --file <path>          the same from a file (- reads standard input)
      --name <name>  --severity critical|warning|info  --for <duration>  --every <duration>
      --enabled yes|no  --contact-point <id|none>
                             set one field (after --rule), durations like 30s, 5m, 1h
      --by <who>             recorded as the actor (default <user>@ctl)
      --json                 machine-readable output (every command)
Exit codes: 0 ok, 2 usage or an invalid rule (each problem named), 3 no such rule, 4 Temporal unreachable.`;

/** Raised for bad arguments or an invalid rule (exit code 2). */
export class RulesUsageError extends Error {}

/** What `ctl rules` works with. */
export interface RulesDeps {
  db: Knex;
  /** Temporal (create, edit, delete tell the rule's workflow). */
  client: Client | (() => Promise<Client>);
  /** Parameterised queries for the preview (a pg Pool on the query connection settings). */
  pool: () => Queryable;
  ruleOptions?: AlertRuleOptions;
}

const isoSeconds = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
const seconds = (ms: number) => (ms > 0 && ms % 60_000 === 0 ? `${ms / 60_000}m` : `${ms / 1000}s`);

/** The input a stored rule came from (to edit it). */
function inputOf(rule: AlertRuleDefinition): AlertRuleInput {
  return {
    name: rule.name,
    spec: rule.spec,
    severity: rule.severity,
    forMs: rule.forMs,
    intervalMs: rule.intervalMs,
    labels: rule.labels,
    contactPointId: rule.contactPointId,
    enabled: rule.enabled,
  };
}

/** `path: message; …` of a schema failure, as the web API words it. */
const issues = (err: ZodError) => err.issues.map((i) => `${i.path.join('.') || 'rule'}: ${i.message}`).join('; ');

/** Read --rule / --file as a JSON object, or undefined when neither is given. */
function ruleJson(values: { rule?: string; file?: string }): Record<string, unknown> | undefined {
  if (values.rule !== undefined && values.file !== undefined) throw new RulesUsageError('give --rule or --file, not both');
  const text = values.rule ?? (values.file === undefined ? undefined : fs.readFileSync(values.file === '-' ? 0 : values.file, 'utf8'));
  if (text === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new RulesUsageError(`the rule is not valid JSON: ${(err as Error).message}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new RulesUsageError('the rule must be a JSON object');
  return parsed as Record<string, unknown>;
}

/** The single-field options on top of `base`. */
function withFlags(base: Record<string, unknown>, v: Record<string, string | boolean | undefined>): Record<string, unknown> {
  const out = { ...base };
  const duration = (flag: string, text: string) => {
    const ms = text === '0' ? 0 : parseAlertDuration(text);
    if (ms === undefined) throw new RulesUsageError(`--${flag}: a duration such as 30s, 5m, 1h (got "${text}")`);
    return ms;
  };
  if (typeof v.name === 'string') out.name = v.name;
  if (typeof v.severity === 'string') out.severity = v.severity;
  if (typeof v.for === 'string') out.forMs = duration('for', v.for);
  if (typeof v.every === 'string') out.intervalMs = duration('every', v.every);
  if (typeof v.enabled === 'string') {
    if (!['yes', 'no'].includes(v.enabled)) throw new RulesUsageError('--enabled: yes or no');
    out.enabled = v.enabled === 'yes';
  }
  if (typeof v['contact-point'] === 'string') {
    const cp = v['contact-point'];
    if (cp !== 'none' && !/^\d+$/.test(cp)) throw new RulesUsageError('--contact-point: a contact point id, or none');
    out.contactPointId = cp === 'none' ? null : Number(cp);
  }
  return out;
}

/** Validate a rule with the one rule schema; an invalid rule is a usage error naming each problem. */
function validated(candidate: Record<string, unknown>): AlertRuleInput {
  const parsed = AlertRuleInputSchema.safeParse(candidate);
  if (!parsed.success) throw new RulesUsageError(`invalid rule: ${issues(parsed.error)}`);
  return parsed.data;
}

/** A preview in words: the summary and each instance's transitions. */
function previewText(p: AlertPreview): string {
  const lines = [
    `evaluated ${p.steps} times, every ${seconds(p.stepMs)}${p.coarser ? ` (the rule evaluates every ${seconds(p.intervalMs)}; coarser: ${p.coarser})` : ''}, ` +
      `${isoSeconds(p.from)} to ${isoSeconds(p.to)}: ${p.notifications} notification${p.notifications === 1 ? '' : 's'}` +
      `${p.instances.length ? ` by ${p.instances.length} instance${p.instances.length === 1 ? '' : 's'}` : ''}` +
      `${p.quietInstances ? `; ${p.quietInstances} never left inactive` : ''}`,
  ];
  if (p.caveat) lines.push(`note: ${p.caveat}`);
  if (p.instances.length) {
    const rows = [['INSTANCE', 'AT', 'TRANSITION', 'VALUE']];
    for (const i of p.instances) for (const e of i.events) rows.push([i.key, isoSeconds(e.at), e.to, e.value === null ? '-' : String(Number(e.value.toPrecision(6)))]);
    lines.push(textTable(rows));
  }
  return lines.join('\n');
}

/** Run one `ctl rules` command; returns the exit code (a usage error or invalid rule: its message on `err`, 2). */
export async function runRulesCommand(deps: RulesDeps, argv: string[], out: (s: string) => void, err: (s: string) => void = out): Promise<number> {
  try {
    return await rulesCommand(deps, argv, out, err);
  } catch (e) {
    const x = e as Error & { code?: string };
    if (e instanceof RulesUsageError || e instanceof RuleNameTakenError || e instanceof ZodError || e instanceof PathSyntaxError || e instanceof QueryRefusedError || x.code?.startsWith('ERR_PARSE_ARGS')) {
      err(`${x.message}\n\nRun ctl rules --help for usage.`);
      return 2;
    }
    throw e;
  }
}

async function rulesCommand(deps: RulesDeps, argv: string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      json: { type: 'boolean' },
      rule: { type: 'string' },
      file: { type: 'string' },
      name: { type: 'string' },
      severity: { type: 'string' },
      for: { type: 'string' },
      every: { type: 'string' },
      enabled: { type: 'string' },
      'contact-point': { type: 'string' },
      by: { type: 'string' },
    },
  });
  const [command = 'list', ...rest] = positionals;
  const json = Boolean(values.json);
  const actor = values.by ?? `${os.userInfo().username}@ctl`;
  const { db } = deps;
  const one = async (what: string) => {
    if (rest.length !== 1) throw new RulesUsageError(`${what}: give one rule (id or name)`);
    const rule = await findAlertRule(db, rest[0]);
    if (!rule) {
      out(json ? JSON.stringify({ ok: false, error: `no rule ${rest[0]}` }) : `no rule ${rest[0]}`);
      return undefined;
    }
    return rule;
  };
  const told = (workflowError: string | undefined, what: string) => {
    if (workflowError) err(`warning: ${what}, but its workflow was not told (${workflowError}); the alert reconcile applies it within a minute`);
  };

  if (command === 'list') {
    const rules = await listAlertRules(db);
    if (json) return out(JSON.stringify(rules, null, 2)), 0;
    if (rules.length === 0) return out('no alert rule'), 0;
    out(
      textTable([
        ['ID', 'NAME', 'KIND', 'SEVERITY', 'EVERY', 'FOR', 'ENABLED', 'VERSION'],
        ...rules.map((r) => [String(r.id), r.name, r.spec.kind, r.severity, seconds(r.intervalMs), seconds(r.forMs), r.enabled ? 'yes' : 'no', String(r.version)]),
      ]),
    );
    return 0;
  }
  if (command === 'show') {
    const rule = await one('show');
    if (!rule) return 3;
    const changes = await alertRuleEvents(db, rule.id);
    if (json) return out(JSON.stringify({ rule, changes }, null, 2)), 0;
    out(JSON.stringify(rule, null, 2));
    if (changes.length) out(`\n${textTable([['AT', 'CHANGE', 'BY', 'VERSION'], ...changes.map((c) => [isoSeconds(c.at.getTime()), c.kind, c.actor, String(c.detail.version ?? '-')])])}`);
    return 0;
  }
  if (command === 'create') {
    if (rest.length) throw new RulesUsageError('create: give the rule with --rule or --file, not as arguments');
    const input = validated(withFlags(ruleJson(values) ?? {}, values));
    const change = await saveAlertRuleChange(db, deps.client, { input, actor, options: deps.ruleOptions });
    const { rule, workflowError } = change!;
    told(workflowError, `rule ${rule.name} created`);
    out(json ? JSON.stringify({ rule, workflowError }) : `rule #${rule.id} ${rule.name} created (version ${rule.version}, by ${actor})`);
    return 0;
  }
  if (command === 'edit') {
    const existing = await one('edit');
    if (!existing) return 3;
    const given = ruleJson(values) ?? {};
    const stored = inputOf(existing);
    // Spec fields merge into the stored spec while the kind stays; another kind replaces it.
    const spec = given.spec && typeof given.spec === 'object' ? given.spec as Record<string, unknown> : undefined;
    const mergedSpec = spec && (spec.kind === undefined || spec.kind === existing.spec.kind) ? { ...existing.spec, ...spec } : (spec ?? existing.spec);
    const input = validated(withFlags({ ...stored, ...given, spec: mergedSpec }, values));
    const change = await saveAlertRuleChange(db, deps.client, { id: existing.id, input, actor, options: deps.ruleOptions });
    if (!change) return out(`no rule ${rest[0]}`), 3;
    told(change.workflowError, `rule ${change.rule.name} saved`);
    out(json ? JSON.stringify({ rule: change.rule, workflowError: change.workflowError }) : `rule #${change.rule.id} ${change.rule.name} saved (version ${change.rule.version}, by ${actor})`);
    return 0;
  }
  if (command === 'delete') {
    const existing = await one('delete');
    if (!existing) return 3;
    const { workflowError } = await deleteAlertRuleChange(db, deps.client, existing, actor);
    told(workflowError, `rule ${existing.name} deleted`);
    out(json ? JSON.stringify({ deleted: existing.id, name: existing.name, workflowError }) : `rule #${existing.id} ${existing.name} deleted (by ${actor}); its workflow resolves what fires and ends`);
    return 0;
  }
  if (command === 'preview') {
    let candidate: Record<string, unknown>;
    if (rest.length) {
      const stored = await one('preview');
      if (!stored) return 3;
      candidate = { ...inputOf(stored), ...(ruleJson(values) ?? {}) };
    } else {
      const given = ruleJson(values);
      if (!given) throw new RulesUsageError('preview: give a rule (id or name) or --rule <json>');
      candidate = { name: 'preview', ...given };
    }
    const input = validated(withFlags(candidate, values));
    const rule = AlertRuleInputSchema.parse(input);
    const preview = await previewAlertRule(deps.pool(), { spec: rule.spec, forMs: rule.forMs, intervalMs: rule.intervalMs });
    out(json ? JSON.stringify(preview, null, 2) : previewText(preview));
    return 0;
  }
  throw new RulesUsageError(`unknown rules command "${command}"`);
}

/** Entry from scripts/ctl.ts. */
export async function rulesMain(argv: string[]): Promise<number> {
  if (argv.includes('-h') || argv.includes('--help')) {
    console.log(RULES_HELP);
    return 0;
  }
  const { connectCtl } = await import('./ctl-lib');
  const { createPool, queryConnectionSettings, withServerSettings } = await import('../storage/pool');
  const { alertRuleOptionsFromConfig } = await import('../temporal/alert-client');
  let ctl;
  try {
    ctl = await connectCtl();
  } catch (err) {
    console.error(`ctl: Temporal unreachable (${(err as Error).message})`);
    return 4;
  }
  let pool: ReturnType<typeof createPool> | undefined;
  try {
    const deps: RulesDeps = {
      db: ctl.db(),
      client: ctl.client,
      pool: () => (pool ??= createPool(withServerSettings(ctl.config.DATABASE_URL, queryConnectionSettings(ctl.config)), 2)),
      ruleOptions: alertRuleOptionsFromConfig(ctl.config),
    };
    return await runRulesCommand(deps, argv, (s) => console.log(s), (s) => console.error(s));
  } finally {
    await pool?.end();
    await ctl.close();
  }
}
