/**
 * The alerting repository (issue 18): rules, webhook contact points (signing secret
 * sealed with the secrets keyring, like device credentials), the instance mirror the
 * rule workflows write for pages and ctl, notified transitions, delivery attempts and
 * silences. Every statement against the alert_* tables lives here.
 */
import type { Knex } from 'knex';
import { AlertRuleInputSchema, AlertSpecSchema, type AlertRuleDefinition, type AlertRuleInput, type SilenceMatcher } from '../core/alert-rules';
import type { AlertInstance, AlertTransition } from '../core/alert-machine';
import { ALERT_MARKERS_CHANNEL } from '../core/names';
import { seal, unseal, type Keyring } from './secrets';

const aadFor = (contactPointId: number) => `alert-contact-point:${contactPointId}`;

/** A webhook contact point; `secret` only when loaded for delivery. */
export interface ContactPoint {
  id: number;
  name: string;
  url: string;
  format: 'generic' | 'slack';
  hasSecret: boolean;
  secret?: string;
}

/** Create a contact point; its HMAC secret sealed under the current key. */
export async function createContactPoint(db: Knex, ring: Keyring, input: { name: string; url: string; format?: 'generic' | 'slack'; secret?: string }): Promise<ContactPoint> {
  return db.transaction(async (trx) => {
    const [row] = await trx('alert_contact_points').insert({ name: input.name, url: input.url, format: input.format ?? 'generic' }).returning(['id']);
    if (input.secret) await saveContactPointSecret(trx, ring, row.id, input.secret);
    return { id: row.id, name: input.name, url: input.url, format: input.format ?? 'generic', hasSecret: !!input.secret };
  });
}

/** Replace a contact point's signing secret. */
export async function saveContactPointSecret(db: Knex, ring: Keyring, id: number, secret: string): Promise<void> {
  const sealed = seal(ring, { secret }, aadFor(id));
  await db('alert_contact_points')
    .where({ id })
    .update({ key_version: sealed.keyVersion, nonce: sealed.nonce, ciphertext: sealed.ciphertext, tag: sealed.tag, updated_at: db.fn.now() });
}

type ContactRow = { id: number; name: string; url: string; format: 'generic' | 'slack'; key_version: number | null; nonce: Buffer | null; ciphertext: Buffer | null; tag: Buffer | null };

/** A contact point with its secret decrypted (delivery only), or undefined. */
export async function loadContactPoint(db: Knex, ring: Keyring, id: number): Promise<ContactPoint | undefined> {
  const row: ContactRow | undefined = await db('alert_contact_points').where({ id }).first();
  if (!row) return undefined;
  const secret =
    row.key_version !== null && row.ciphertext
      ? unseal<{ secret: string }>(ring, { keyVersion: row.key_version, nonce: row.nonce!, ciphertext: row.ciphertext, tag: row.tag! }, aadFor(id)).secret
      : undefined;
  return { id: row.id, name: row.name, url: row.url, format: row.format, hasSecret: secret !== undefined, secret };
}

/**
 * Key rotation (ADR 044): re-seal every contact point's signing secret under the ring's
 * current key, row by row under its lock, as storage/devices.ts does for device credentials.
 */
export async function reencryptContactPointSecrets(db: Knex, ring: Keyring): Promise<number> {
  let total = 0;
  const ids: number[] = await db('alert_contact_points').whereNotNull('key_version').whereNot({ key_version: ring.current }).pluck('id');
  for (const id of ids) {
    await db.transaction(async (trx) => {
      const row: ContactRow | undefined = await trx('alert_contact_points').where({ id }).forUpdate().first();
      if (!row || row.key_version === null || row.key_version === ring.current || !row.ciphertext) return; // gone, or saved meanwhile
      const { secret } = unseal<{ secret: string }>(ring, { keyVersion: row.key_version, nonce: row.nonce!, ciphertext: row.ciphertext, tag: row.tag! }, aadFor(id));
      await saveContactPointSecret(trx, ring, id, secret);
      total++;
    });
  }
  return total;
}

/** Contact point secrets still sealed under a key version other than `current`. */
export async function contactPointSecretsUnderOtherKeys(db: Knex, current: number): Promise<number> {
  const [{ count }] = await db('alert_contact_points').whereNotNull('key_version').whereNot({ key_version: current }).count<{ count: string }[]>('* as count');
  return Number(count);
}

/** Contact points without secrets. */
export async function listContactPoints(db: Knex): Promise<ContactPoint[]> {
  const rows: ContactRow[] = await db('alert_contact_points').orderBy('name');
  return rows.map((r) => ({ id: r.id, name: r.name, url: r.url, format: r.format, hasSecret: r.key_version !== null }));
}

type RuleRow = {
  id: number;
  name: string;
  kind: string;
  spec: unknown;
  severity: AlertRuleDefinition['severity'];
  for_ms: number;
  interval_ms: number;
  labels: Record<string, string>;
  contact_point_id: number | null;
  enabled: boolean;
  version: number;
};

function toDefinition(r: RuleRow): AlertRuleDefinition {
  return {
    id: r.id,
    name: r.name,
    spec: AlertSpecSchema.parse(r.spec),
    severity: r.severity,
    forMs: r.for_ms,
    intervalMs: r.interval_ms,
    labels: r.labels ?? {},
    contactPointId: r.contact_point_id,
    enabled: r.enabled,
    version: r.version,
  };
}

function ruleColumns(input: AlertRuleInput) {
  const v = AlertRuleInputSchema.parse(input);
  return {
    name: v.name,
    kind: v.spec.kind,
    spec: JSON.stringify(v.spec),
    severity: v.severity,
    for_ms: v.forMs,
    interval_ms: v.intervalMs,
    labels: JSON.stringify(v.labels),
    contact_point_id: v.contactPointId,
    enabled: v.enabled,
  };
}

/** Create a rule (validated); returns its definition. */
export async function createAlertRule(db: Knex, input: AlertRuleInput): Promise<AlertRuleDefinition> {
  const [row] = await db('alert_rules').insert(ruleColumns(input)).returning('*');
  return toDefinition(row);
}

/** Replace a rule's definition; its version grows so the reconcile sees the edit. */
export async function updateAlertRule(db: Knex, id: number, input: AlertRuleInput): Promise<AlertRuleDefinition | undefined> {
  const [row] = await db('alert_rules')
    .where({ id })
    .update({ ...ruleColumns(input), version: db.raw('version + 1'), updated_at: db.fn.now() })
    .returning('*');
  return row ? toDefinition(row) : undefined;
}

/** Delete a rule (its instances, transitions go with it). */
export async function deleteAlertRule(db: Knex, id: number): Promise<void> {
  await db('alert_rules').where({ id }).delete();
}

/** One rule, or undefined. */
export async function getAlertRule(db: Knex, id: number): Promise<AlertRuleDefinition | undefined> {
  const row = await db('alert_rules').where({ id }).first();
  return row ? toDefinition(row) : undefined;
}

/** Whether a rule (other than `exceptId`, the one being edited) has this name. */
export async function alertRuleNameTaken(db: Knex, name: string, exceptId?: number): Promise<boolean> {
  const q = db('alert_rules').where({ name });
  if (exceptId !== undefined) q.whereNot({ id: exceptId });
  return Boolean(await q.first('id'));
}

/** What an operator did to a rule (alert_rule_events). */
export type AlertRuleEventKind = 'created' | 'edited' | 'deleted';

/** One recorded change of a rule. */
export interface AlertRuleEvent {
  id: number;
  ruleId: number | null;
  ruleName: string;
  at: Date;
  actor: string;
  kind: AlertRuleEventKind;
  detail: Record<string, unknown>;
}

/** Record who changed a rule and how (the version it became; for a deletion, its last definition). */
export async function recordAlertRuleEvent(
  db: Knex,
  e: { ruleId: number; ruleName: string; actor: string; kind: AlertRuleEventKind; detail?: Record<string, unknown> },
): Promise<void> {
  await db('alert_rule_events').insert({ rule_id: e.kind === 'deleted' ? null : e.ruleId, rule_name: e.ruleName, actor: e.actor, kind: e.kind, detail: JSON.stringify({ ruleId: e.ruleId, ...e.detail }) });
}

/** The newest changes of a rule, newest first. */
export async function alertRuleEvents(db: Knex, ruleId: number, limit = 10): Promise<AlertRuleEvent[]> {
  const rows = (await db('alert_rule_events')
    .where({ rule_id: ruleId })
    .orderBy([
      { column: 'at', order: 'desc' },
      { column: 'id', order: 'desc' },
    ])
    .limit(limit)) as Array<{ id: string; rule_id: number | null; rule_name: string; at: Date; actor: string; kind: AlertRuleEventKind; detail: Record<string, unknown> }>;
  return rows.map((r) => ({ id: Number(r.id), ruleId: r.rule_id, ruleName: r.rule_name, at: r.at, actor: r.actor, kind: r.kind, detail: r.detail }));
}

/** Every rule, by name. */
export async function listAlertRules(db: Knex): Promise<AlertRuleDefinition[]> {
  return (await db('alert_rules').orderBy('name')).map(toDefinition);
}

const ms = (t: number | undefined) => (t === undefined ? null : new Date(t));

/**
 * Mirror a rule's instances as its workflow holds them (replaces the rule's rows; an
 * acknowledgement stays while the episode it acknowledged lasts). Idempotent.
 */
export async function recordAlertInstances(db: Knex, ruleId: number, instances: AlertInstance[]): Promise<void> {
  await db.transaction(async (trx) => {
    // A deleted rule's workflow resolves its instances on the way out: nothing left to mirror them into.
    if (!(await trx('alert_rules').where({ id: ruleId }).forShare().first('id'))) return;
    await trx('alert_instances').where({ rule_id: ruleId }).whereNotIn('instance_key', instances.map((i) => i.key)).delete();
    if (instances.length === 0) return;
    await trx.raw(
      `INSERT INTO alert_instances (rule_id, instance_key, state, labels, value, episode_at, pending_since, firing_since, resolved_at, updated_at)
       SELECT ?, x.key, x.state, x.labels, x.value, x.episode_at, x.pending_since, x.firing_since, x.resolved_at, now()
         FROM jsonb_to_recordset(?::jsonb) AS x(key text, state text, labels jsonb, value float8, episode_at timestamptz, pending_since timestamptz, firing_since timestamptz, resolved_at timestamptz)
       ON CONFLICT (rule_id, instance_key) DO UPDATE SET
         state = EXCLUDED.state, labels = EXCLUDED.labels, value = EXCLUDED.value, episode_at = EXCLUDED.episode_at,
         pending_since = EXCLUDED.pending_since, firing_since = EXCLUDED.firing_since, resolved_at = EXCLUDED.resolved_at, updated_at = now(),
         acked_by = CASE WHEN alert_instances.episode_at IS NOT DISTINCT FROM EXCLUDED.episode_at THEN alert_instances.acked_by END,
         acked_at = CASE WHEN alert_instances.episode_at IS NOT DISTINCT FROM EXCLUDED.episode_at THEN alert_instances.acked_at END`,
      [
        ruleId,
        JSON.stringify(
          instances.map((i) => ({
            key: i.key,
            state: i.state,
            labels: i.labels,
            value: i.value,
            episode_at: ms(i.episode),
            pending_since: ms(i.pendingSince),
            firing_since: ms(i.firingSince),
            resolved_at: ms(i.resolvedAt),
          })),
        ),
      ],
    );
  });
}

/** Record transitions (once each, by idempotency key); `silenced` ones are kept but not delivered. */
export async function recordAlertTransitions(db: Knex, transitions: Array<AlertTransition & { silenced: boolean }>): Promise<void> {
  if (transitions.length === 0) return;
  // Transitions of a deleted rule (its workflow resolving on the way out) are delivered, not stored: their rows went with it.
  const live = new Set((await db('alert_rules').whereIn('id', [...new Set(transitions.map((t) => t.ruleId))]).pluck('id')).map(Number));
  const kept = transitions.filter((t) => live.has(t.ruleId));
  if (kept.length === 0) return;
  await db('alert_transitions')
    .insert(
      kept.map((t) => ({
        idempotency_key: t.idempotencyKey,
        rule_id: t.ruleId,
        instance_key: t.key,
        transition: t.to,
        at: new Date(t.at),
        value: t.value,
        silenced: t.silenced,
      })),
    )
    .onConflict('idempotency_key')
    .ignore();
  await notifyAlertMarkers(db, kept.map((t) => t.labels.device).filter((d): d is string => typeof d === 'string'));
}

/**
 * Ring the alert-marker doorbell (ALERT_MARKERS_CHANNEL) for devices whose instances got transitions: web processes
 * send those devices' markers to the charts that show them (ADR 226). A payload that would pass NOTIFY's limit says `*`.
 */
export async function notifyAlertMarkers(db: Knex, deviceNames: string[]): Promise<void> {
  const names = [...new Set(deviceNames)];
  if (names.length === 0) return;
  const payload = JSON.stringify(names);
  await db.raw('SELECT pg_notify(?, ?)', [ALERT_MARKERS_CHANNEL, Buffer.byteLength(payload) < 7_000 ? payload : '*']);
}

/** One delivery attempt's outcome. */
export interface DeliveryAttempt {
  idempotencyKey: string;
  contactPointId: number;
  attempt: number;
  ok: boolean;
  status?: number;
  error?: string;
  elapsedMs: number;
}

/** Record a delivery attempt; a successful one marks the transition delivered. */
export async function recordDeliveryAttempt(db: Knex, a: DeliveryAttempt): Promise<void> {
  await db.transaction(async (trx) => {
    await trx('alert_deliveries').insert({
      idempotency_key: a.idempotencyKey,
      contact_point_id: a.contactPointId,
      attempt: a.attempt,
      ok: a.ok,
      status: a.status ?? null,
      error: a.error?.slice(0, 500) ?? null,
      elapsed_ms: Math.round(a.elapsedMs),
    });
    if (a.ok) await trx('alert_transitions').where({ idempotency_key: a.idempotencyKey }).whereNull('delivered_at').update({ delivered_at: trx.fn.now() });
  });
}

/** Delivery attempts of a transition, oldest first. */
export async function deliveryAttempts(db: Knex, idempotencyKey: string): Promise<Array<{ attempt: number; at: Date; ok: boolean; status: number | null; error: string | null }>> {
  return db('alert_deliveries').where({ idempotency_key: idempotencyKey }).orderBy('id').select('attempt', 'at', 'ok', 'status', 'error');
}

/** A silence. */
export interface Silence {
  id: number;
  matchers: SilenceMatcher[];
  startsAt: Date;
  endsAt: Date;
  createdBy: string;
  comment: string;
}

/** Create a silence. */
export async function createSilence(db: Knex, s: { matchers: SilenceMatcher[]; startsAt?: Date; endsAt: Date; createdBy: string; comment?: string }): Promise<number> {
  const [row] = await db('alert_silences')
    .insert({ matchers: JSON.stringify(s.matchers), starts_at: s.startsAt ?? db.fn.now(), ends_at: s.endsAt, created_by: s.createdBy, comment: s.comment ?? '' })
    .returning('id');
  return row.id;
}

/** End a silence now. */
export async function expireSilence(db: Knex, id: number): Promise<void> {
  await db('alert_silences').where({ id }).where('ends_at', '>', db.fn.now()).update({ ends_at: db.fn.now() });
}

/** Silences in force at `at` (default now). */
export async function activeSilences(db: Knex, at?: Date): Promise<Silence[]> {
  const when = at ?? new Date();
  const rows = await db('alert_silences').where('starts_at', '<=', when).where('ends_at', '>', when).orderBy('id');
  return rows.map((r) => ({ id: r.id, matchers: r.matchers, startsAt: r.starts_at, endsAt: r.ends_at, createdBy: r.created_by, comment: r.comment }));
}

/** Acknowledge an instance's current episode; false when there is no such instance. */
export async function ackAlertInstance(db: Knex, ruleId: number, key: string, by: string): Promise<boolean> {
  const n = await db('alert_instances').where({ rule_id: ruleId, instance_key: key }).update({ acked_by: by, acked_at: db.fn.now() });
  return n > 0;
}

/** An instance as pages and ctl list it. */
export interface AlertInstanceRow {
  ruleId: number;
  ruleName: string;
  severity: string;
  key: string;
  state: string;
  labels: Record<string, string>;
  value: number | null;
  since: Date | null;
  ackedBy: string | null;
}

/**
 * How an instance maps to a device (docs/alerting.md): by its `device` label, the device's
 * name — set by absence and session rules and by threshold rules grouped by device.
 * The condition "device `d` has a firing instance", for the devices list's filter.
 */
export const DEVICE_HAS_FIRING_ALERT_SQL = `EXISTS (SELECT 1 FROM alert_instances ai WHERE ai.state = 'firing' AND ai.labels->>'device' = d.name)`;

/** Instances (pending, firing and recently resolved), firing first; with `device`, only that device's pending and firing ones. */
export async function listAlertInstances(db: Knex, opts: { device?: string } = {}): Promise<AlertInstanceRow[]> {
  const rows = await db('alert_instances as i')
    .join('alert_rules as r', 'r.id', 'i.rule_id')
    .select('i.*', 'r.name as rule_name', 'r.severity')
    .modify((q) => {
      if (opts.device !== undefined) q.whereIn('i.state', ['pending', 'firing']).whereRaw(`i.labels->>'device' = ?`, [opts.device]);
    })
    .orderByRaw(`CASE i.state WHEN 'firing' THEN 0 WHEN 'pending' THEN 1 ELSE 2 END, r.name, i.instance_key`);
  return rows.map((r: Record<string, any>) => ({
    ruleId: r.rule_id,
    ruleName: r.rule_name,
    severity: r.severity,
    key: r.instance_key,
    state: r.state,
    labels: r.labels,
    value: r.value,
    since: r.state === 'firing' ? r.firing_since : r.state === 'pending' ? r.pending_since : r.resolved_at,
    ackedBy: r.acked_by,
  }));
}

/** A device's firing instances: how many, and the worst severity among them. */
export interface DeviceFiringAlerts {
  count: number;
  severity: string;
}

/** Firing instances per device name, for a page of devices in one query (devices without any left out). */
export async function firingAlertsByDevice(db: Knex, deviceNames: string[]): Promise<Map<string, DeviceFiringAlerts>> {
  if (deviceNames.length === 0) return new Map();
  const { rows } = await db.raw(
    `SELECT i.labels->>'device' AS device, count(*)::int AS n,
            (array_agg(r.severity ORDER BY CASE r.severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END))[1] AS severity
       FROM alert_instances i JOIN alert_rules r ON r.id = i.rule_id
      WHERE i.state = 'firing' AND i.labels->>'device' = ANY(?::text[])
      GROUP BY 1`,
    [deviceNames],
  );
  return new Map((rows as Array<{ device: string; n: number; severity: string }>).map((r) => [r.device, { count: r.n, severity: r.severity }]));
}

/** A notified transition with its delivery outcome. */
export interface TransitionRow {
  idempotencyKey: string;
  ruleId: number;
  ruleName: string;
  key: string;
  transition: 'firing' | 'resolved';
  at: Date;
  value: number | null;
  silenced: boolean;
  deliveredAt: Date | null;
  attempts: number;
  lastError: string | null;
}

/** Newest transitions first (history), with attempts and the last error. */
export async function recentAlertTransitions(db: Knex, limit = 100, ruleId?: number): Promise<TransitionRow[]> {
  const res = await db.raw(
    `SELECT t.*, r.name AS rule_name,
            (SELECT count(*) FROM alert_deliveries d WHERE d.idempotency_key = t.idempotency_key)::int AS attempts,
            (SELECT d.error FROM alert_deliveries d WHERE d.idempotency_key = t.idempotency_key AND NOT d.ok ORDER BY d.id DESC LIMIT 1) AS last_error
       FROM alert_transitions t JOIN alert_rules r ON r.id = t.rule_id
      WHERE (?::int IS NULL OR t.rule_id = ?::int)
      ORDER BY t.at DESC, t.id DESC LIMIT ?`,
    [ruleId ?? null, ruleId ?? null, limit],
  );
  return res.rows.map((r: Record<string, any>) => ({
    idempotencyKey: r.idempotency_key,
    ruleId: r.rule_id,
    ruleName: r.rule_name,
    key: r.instance_key,
    transition: r.transition,
    at: r.at,
    value: r.value,
    silenced: r.silenced,
    deliveredAt: r.delivered_at,
    attempts: r.attempts,
    lastError: r.last_error,
  }));
}

/** A transition drawn on a device's charts (issue 18): where an alert fired or resolved. */
export interface AlertMarker {
  ruleId: number;
  rule: string;
  severity: string;
  /** The instance: the name of the device it belongs to (ADR 158). */
  instance: string;
  transition: 'firing' | 'resolved';
  /** When (ms). */
  t: number;
  silenced: boolean;
}

/** Most markers one chart request returns (the newest in the range). */
export const MAX_ALERT_MARKERS = 200;

/**
 * Transitions of the instances that belong to these devices (by name, as ADR 158 maps them:
 * absence and session rules, threshold rules grouped by device) between `fromMs` and `toMs`,
 * oldest first, at most `limit` (the newest kept).
 */
export async function alertMarkersForDevices(db: Knex, deviceNames: string[], fromMs: number, toMs: number, limit = MAX_ALERT_MARKERS): Promise<AlertMarker[]> {
  if (deviceNames.length === 0) return [];
  const res = await db.raw(
    `SELECT * FROM (
       SELECT t.instance_key, t.rule_id, r.name AS rule_name, r.severity, t.transition, t.at, t.silenced
         FROM alert_transitions t JOIN alert_rules r ON r.id = t.rule_id
        WHERE t.instance_key = ANY(?::text[])
          AND t.at >= to_timestamp(?::float8 / 1000) AND t.at <= to_timestamp(?::float8 / 1000)
          AND (r.kind IN ('absence', 'session') OR (r.kind = 'threshold' AND r.spec->>'groupBy' = 'device'))
        ORDER BY t.at DESC, t.id DESC LIMIT ?) m
      ORDER BY at, rule_id`,
    [deviceNames, fromMs, toMs, Math.max(0, Math.min(limit, MAX_ALERT_MARKERS))],
  );
  return res.rows.map((r: Record<string, any>) => ({
    ruleId: r.rule_id,
    rule: r.rule_name,
    severity: r.severity,
    instance: r.instance_key,
    transition: r.transition,
    t: new Date(r.at).getTime(),
    silenced: r.silenced,
  }));
}

/** Devices whose mirrored session state is one of `states`, with how long it has been so (session rules). */
export async function sessionStatesFor(db: Knex, states: string[]): Promise<Array<{ deviceId: number; deviceName: string; state: string; sinceMs: number }>> {
  const res = await db.raw(
    `SELECT d.id, d.name, s.state, (extract(epoch FROM now() - s.updated_at) * 1000)::float8 AS since_ms
       FROM device_session_state s JOIN devices d ON d.id = s.device_id
      WHERE s.state = ANY(?::text[]) ORDER BY d.name`,
    [states],
  );
  return res.rows.map((r: { id: number; name: string; state: string; since_ms: number }) => ({ deviceId: r.id, deviceName: r.name, state: r.state, sinceMs: Number(r.since_ms) }));
}

/** Newest stored sample time (ms) of each series within the last `lookbackMs` (absent: none), for absence rules. */
export async function newestSampleTimes(db: Knex, seriesIds: number[], lookbackMs: number): Promise<Map<number, number>> {
  if (seriesIds.length === 0) return new Map();
  const res = await db.raw(
    `SELECT s.id, (SELECT extract(epoch FROM max(time)) * 1000 FROM samples WHERE series_id = s.id AND time > now() - (?::float8 * INTERVAL '1 millisecond'))::float8 AS t
       FROM unnest(?::bigint[]) AS s(id)`,
    [lookbackMs, seriesIds],
  );
  const out = new Map<number, number>();
  for (const r of res.rows as Array<{ id: string; t: number | null }>) if (r.t !== null) out.set(Number(r.id), Number(r.t));
  return out;
}
