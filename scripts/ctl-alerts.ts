/**
 * `npm run ctl -- alerts …` (issue 18): what fires, pending and silenced, and acting on it.
 *   alerts [list] [--history] [--json]          instances (firing first) and silences in force
 *   alerts silence <matchers> --for <d> [--comment text] [--by who]
 *   alerts unsilence <silence id>
 *   alerts ack <rule id|name> <instance> [--by who]
 * Reads and writes the database (storage/alerts.ts); a new silence asks the rule
 * workflows to evaluate at once (Temporal), so nothing waits for the next interval.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { matchesAll, parseAlertDuration, parseMatchers } from '../core/alert-rules';
import {
  ackAlertInstance,
  activeSilences,
  createSilence,
  expireSilence,
  listAlertInstances,
  listAlertRules,
  recentAlertTransitions,
} from '../storage/alerts';
import { evaluateAlertRuleNow } from '../temporal/alert-client';
import type { Ctl } from './ctl-lib';

export const ALERTS_HELP = `Usage: npm run ctl -- alerts [list|silence|unsilence|ack] [options]

  alerts [list]                       firing, pending and resolved instances, and silences in force
      --history                       the latest notified transitions with their delivery outcome instead
  alerts silence <matchers> --for <duration>
                                      silence instances whose labels match, e.g. alertname=cpu,device=~leaf-.*
      --comment <text>  --by <who>
  alerts unsilence <id>               end a silence now
  alerts ack <rule> <instance>        acknowledge an instance (rule id or name; instance as listed)
      --json                          machine-readable output (every command)
Labels of every instance: the rule's labels, alertname, severity, rule_id, and device / group.`;

/** Raised for bad arguments (exit code 2). */
export class AlertsUsageError extends Error {}

const iso = (d: Date | null | undefined) => (d ? d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-');

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd()).join('\n');
}

/** Run one `ctl alerts` command; returns the exit code. */
export async function runAlertsCommand(ctl: Pick<Ctl, 'db'> & { client?: Ctl['client'] }, argv: string[], out: (s: string) => void): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { json: { type: 'boolean' }, history: { type: 'boolean' }, for: { type: 'string' }, comment: { type: 'string' }, by: { type: 'string' } },
  });
  const [command = 'list', ...rest] = positionals;
  const db = ctl.db();
  const who = values.by ?? `${os.userInfo().username}@ctl`;
  const json = Boolean(values.json);
  if (command === 'list') {
    if (values.history) {
      const rows = await recentAlertTransitions(db, 50);
      if (json) return out(JSON.stringify(rows, null, 2)), 0;
      if (rows.length === 0) return out('no notified transition yet'), 0;
      out(table([['AT', 'RULE', 'INSTANCE', 'TRANSITION', 'DELIVERED', 'ATTEMPTS', 'LAST ERROR'], ...rows.map((t) => [iso(t.at), t.ruleName, t.key, t.transition, t.silenced ? 'silenced' : iso(t.deliveredAt), String(t.attempts), t.lastError ?? ''])]));
      return 0;
    }
    const [instances, silences] = await Promise.all([listAlertInstances(db), activeSilences(db)]);
    const silencedBy = (labels: Record<string, string>) => silences.find((s) => matchesAll(s.matchers, labels))?.id;
    const rows = instances.map((i) => ({ ...i, silence: silencedBy(i.labels) }));
    if (json) return out(JSON.stringify({ instances: rows, silences }, null, 2)), 0;
    if (rows.length === 0) out('no alert is pending, firing or recently resolved');
    else {
      out(
        table([
          ['RULE', 'INSTANCE', 'STATE', 'SEVERITY', 'VALUE', 'SINCE', 'ACK', 'SILENCE'],
          ...rows.map((i) => [i.ruleName, i.key, i.state, i.severity, i.value === null ? '-' : String(Number(i.value.toPrecision(6))), iso(i.since), i.ackedBy ?? '', i.silence ? `#${i.silence}` : '']),
        ]),
      );
    }
    if (silences.length) out(`\n${table([['SILENCE', 'MATCHERS', 'ENDS', 'BY', 'COMMENT'], ...silences.map((s) => [`#${s.id}`, s.matchers.map((m) => `${m.name}${m.regex ? '=~' : '='}${m.value}`).join(','), iso(s.endsAt), s.createdBy, s.comment])])}`);
    return 0;
  }
  if (command === 'silence') {
    if (rest.length !== 1) throw new AlertsUsageError('silence: give the matchers as one argument, e.g. alertname=cpu,device=~leaf-.*');
    const forMs = values.for === undefined ? undefined : parseAlertDuration(values.for);
    if (!forMs) throw new AlertsUsageError('silence: --for <duration> is required, e.g. 30m, 2h, 1d');
    let matchers;
    try {
      matchers = parseMatchers(rest[0]);
    } catch (err) {
      throw new AlertsUsageError(`silence: ${(err as Error).message}`);
    }
    const endsAt = new Date(Date.now() + forMs);
    const id = await createSilence(db, { matchers, endsAt, createdBy: who, comment: values.comment });
    // Rules evaluate at once, so the silence shows on their next transition without waiting an interval.
    if (ctl.client) for (const r of await listAlertRules(db)) if (r.enabled) await evaluateAlertRuleNow(ctl.client, r.id);
    if (json) out(JSON.stringify({ id, matchers, endsAt }));
    else out(`silence #${id} until ${iso(endsAt)}`);
    return 0;
  }
  if (command === 'unsilence') {
    const id = Number(rest[0]);
    if (rest.length !== 1 || !Number.isInteger(id)) throw new AlertsUsageError('unsilence: give the silence id (alerts list shows them)');
    await expireSilence(db, id);
    if (json) out(JSON.stringify({ id, ended: true }));
    else out(`silence #${id} ended`);
    return 0;
  }
  if (command === 'ack') {
    if (rest.length !== 2) throw new AlertsUsageError('ack: give the rule (id or name) and the instance');
    const rules = await listAlertRules(db);
    const rule = rules.find((r) => String(r.id) === rest[0] || r.name === rest[0]);
    if (!rule) return out(json ? JSON.stringify({ ok: false, error: `no rule ${rest[0]}` }) : `no rule ${rest[0]}`), 3;
    const ok = await ackAlertInstance(db, rule.id, rest[1], who);
    if (json) out(JSON.stringify({ ok, rule: rule.id, instance: rest[1], by: who }));
    else out(ok ? `acknowledged ${rule.name} / ${rest[1]} as ${who}` : `${rule.name} has no instance ${rest[1]}`);
    return ok ? 0 : 3;
  }
  throw new AlertsUsageError(`unknown alerts command "${command}"`);
}

/** Entry from scripts/ctl.ts. */
export async function alertsMain(argv: string[]): Promise<number> {
  if (argv.includes('-h') || argv.includes('--help')) {
    console.log(ALERTS_HELP);
    return 0;
  }
  const { connectCtl } = await import('./ctl-lib');
  const ctl = await connectCtl();
  try {
    return await runAlertsCommand(ctl, argv, (s) => console.log(s));
  } catch (err) {
    if (err instanceof AlertsUsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`${(err as Error).message}\n\n${ALERTS_HELP}`);
      return 2;
    }
    throw err;
  } finally {
    await ctl.close();
  }
}
