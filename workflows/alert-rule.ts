/**
 * The alert-rule workflow (issue 18): one per rule, `alert-rule/<ruleId>`. On a durable
 * timer at the rule's interval it evaluates the rule (an activity: the fleet query model,
 * newest samples or the session-state mirror), steps the pure machine of
 * core/alert-machine.ts, mirrors the instances into PostgreSQL and records the
 * transitions, and delivers each unsilenced transition to the rule's contact point by an
 * activity whose retry policy does the retrying — the idempotency key (rule, instance,
 * episode, transition) lets a receiver drop repeats. Edits, disable and silence are
 * updates that keep the instances; deletion is a signal. Continues-as-new after a bound
 * once no delivery is in flight. Deterministic: imports core and activity types only.
 */
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  upsertMemo,
  workflowInfo,
} from '@temporalio/workflow';
import type { AlertActivities } from '../activities/types';
import { countStates, matchesAll, resolveAll, stepAlerts, type AlertInstance, type AlertTransition, type SilenceMatcher } from '../core/alert-machine';
import type { AlertRuleDefinition } from '../core/alert-rules';
import { alertStepPhaseMs, nextAlertStep } from '../core/alert-steps';
import {
  TASK_QUEUES,
  alertEditUpdate,
  alertEvaluateSignal,
  alertSilenceUpdate,
  alertStatusQuery,
  alertStopSignal,
  type AlertRuleStatus,
  type AlertRuleWorkflowInput,
} from '../core/names';

const DEFAULTS = {
  maxEvaluations: 500,
  keepResolvedMs: 3_600_000,
  deliveryMaxAttempts: 20,
  deliveryMaxIntervalMs: 60_000,
  deliveryAttemptTimeoutMs: 30_000,
};

class AlertRule {
  private rule: AlertRuleDefinition;
  private readonly opts: typeof DEFAULTS;
  private instances: Record<string, AlertInstance>;
  private silencedUntil?: number;
  private silencedBy?: string;
  private evaluations: number;
  private lastEvaluatedAt?: number;
  private lastError?: string;
  private lastDeliveryError?: string;
  private inflight = 0;
  /** Per instance, the end of its latest delivery (queued ones included): an instance's transitions reach the receiver in order. */
  private readonly lastDelivery = new Map<string, Promise<void>>();
  private wake = false;
  private stopReason?: string;
  private readonly evaluate: Pick<AlertActivities, 'evaluateAlertRule'>;
  private readonly record: Pick<AlertActivities, 'recordAlertState'>;
  /** The same two as local activities (ADR 225): an evaluation is one workflow task, no activity tasks. */
  private readonly evaluateLocal: Pick<AlertActivities, 'evaluateAlertRule'>;
  private readonly recordLocal: Pick<AlertActivities, 'recordAlertState'>;
  private readonly delivery: Pick<AlertActivities, 'deliverAlertNotification'>;

  constructor(private readonly input: AlertRuleWorkflowInput) {
    this.rule = input.rule;
    this.opts = { ...DEFAULTS, ...stripUndefined(input.options ?? {}) };
    this.instances = input.carried?.instances ?? {};
    this.silencedUntil = input.carried?.silencedUntil;
    this.silencedBy = input.carried?.silencedBy;
    this.evaluations = input.carried?.evaluations ?? 0;
    // An evaluation that keeps failing is reported (current details) and tried again at the next interval.
    this.evaluate = proxyActivities<AlertActivities>({
      taskQueue: TASK_QUEUES.control,
      startToCloseTimeout: '1 minute',
      retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 5, nonRetryableErrorTypes: ['RULE_INVALID'] },
    });
    // Recording is idempotent and must happen before any delivery: retried until the database answers.
    this.record = proxyActivities<AlertActivities>({
      taskQueue: TASK_QUEUES.control,
      startToCloseTimeout: '1 minute',
      retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
    });
    // Evaluate and record run on the worker that runs the workflow task (every control worker has them), inside
    // that task: at 1,000 rules each evaluation was three workflow tasks and two activity tasks through the
    // server, and their backlog at each step made evaluations late (ADR 225). Both are idempotent, so a worker
    // dying mid-way only means the next worker runs them again. Retries past a few seconds wait on a timer.
    this.evaluateLocal = proxyLocalActivities<AlertActivities>({
      startToCloseTimeout: '1 minute',
      localRetryThreshold: '10 seconds',
      retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 5, nonRetryableErrorTypes: ['RULE_INVALID'] },
    });
    this.recordLocal = proxyLocalActivities<AlertActivities>({
      startToCloseTimeout: '1 minute',
      localRetryThreshold: '10 seconds',
      retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
    });
    // Deliveries stay ordinary activities: a slow receiver's retries must not hold a workflow task.
    this.delivery = proxyActivities<AlertActivities>({
      taskQueue: TASK_QUEUES.control,
      startToCloseTimeout: this.opts.deliveryAttemptTimeoutMs,
      retry: {
        initialInterval: '1 second',
        backoffCoefficient: 2,
        maximumInterval: this.opts.deliveryMaxIntervalMs,
        maximumAttempts: this.opts.deliveryMaxAttempts,
        nonRetryableErrorTypes: ['WEBHOOK_REFUSED', 'NO_CONTACT_POINT'],
      },
    });
  }

  status(): AlertRuleStatus {
    return {
      ruleId: this.rule.id,
      name: this.rule.name,
      version: this.rule.version,
      enabled: this.rule.enabled,
      evaluations: this.evaluations,
      lastEvaluatedAt: this.lastEvaluatedAt,
      lastError: this.lastError,
      silencedUntil: this.silenced() ? this.silencedUntil : undefined,
      counts: countStates(this.instances),
      instances: Object.values(this.instances),
      deliveriesInFlight: this.inflight,
    };
  }

  private silenced(): boolean {
    return this.silencedUntil !== undefined && Date.now() < this.silencedUntil;
  }

  /** Temporal Web: the current details (what fires, since when) and the memo (version, counts). */
  private show(): void {
    const n = countStates(this.instances);
    const firing = Object.values(this.instances).filter((i) => i.state === 'firing');
    const lines = [
      `**${this.rule.name}** — ${this.rule.enabled ? `${n.firing} firing, ${n.pending} pending, ${n.resolved} resolved` : 'disabled'} (version ${this.rule.version})`,
      ...firing.slice(0, 10).map((i) => `- firing: ${i.key}${i.value === null ? '' : ` = ${Number(i.value.toPrecision(6))}`} since ${new Date(i.firingSince ?? 0).toISOString()}`),
    ];
    if (this.silenced()) lines.push(`Silenced until ${new Date(this.silencedUntil!).toISOString()} by ${this.silencedBy ?? '?'}`);
    if (this.lastError) lines.push(`Last evaluation failed: ${this.lastError}`);
    if (this.lastDeliveryError) lines.push(`Last delivery failed: ${this.lastDeliveryError}`);
    setCurrentDetails(lines.join('\n'));
    upsertMemo({ version: this.rule.version, enabled: this.rule.enabled, firing: n.firing, pending: n.pending });
  }

  async run(): Promise<void> {
    setHandler(alertStatusQuery, () => this.status());
    setHandler(
      alertEditUpdate,
      (rule) => {
        this.rule = rule;
        this.wake = true;
        this.show();
        return this.status();
      },
      {
        validator: (rule) => {
          if (rule?.id !== this.rule.id) throw new Error(`this workflow runs rule ${this.rule.id}, not ${rule?.id}`);
        },
      },
    );
    setHandler(alertSilenceUpdate, ({ until, by }) => {
      this.silencedUntil = until > Date.now() ? until : undefined;
      this.silencedBy = this.silencedUntil ? by : undefined;
      this.show();
      return this.status();
    });
    setHandler(alertEvaluateSignal, () => void (this.wake = true));
    setHandler(alertStopSignal, (req) => void (this.stopReason = req?.reason ?? 'rule deleted'));

    this.show();
    /**
     * The step an evaluation reads up to and shares (ADR 190): the interval boundary the loop slept to; for a run's
     * first evaluation the boundary just past (rules started together, by a reconcile or a continue-as-new, share
     * it); undefined for wake-ups (edit, evaluateNow), which read up to now.
     */
    let stepAt: number | undefined = patched('alert-aligned-steps') ? Math.floor(Date.now() / this.rule.intervalMs) * this.rule.intervalMs : undefined;
    /** When the evaluation of stepAt was due (the step plus the rule's phase; the step itself for a run's first). */
    let dueAt = stepAt;
    /** The step evaluated last: a rule woken early (an edit) never evaluates the same step twice. */
    let lastStep: number | undefined;
    for (;;) {
      if (this.stopReason !== undefined) {
        await this.resolveEverything(this.stopReason);
        await condition(() => this.inflight === 0 && this.lastDelivery.size === 0 && allHandlersFinished());
        return;
      }
      if (!this.rule.enabled) {
        await this.resolveEverything('rule disabled');
        await condition(() => this.rule.enabled || this.stopReason !== undefined);
        stepAt = undefined; // re-enabled: read up to now
        continue;
      }
      this.wake = false;
      await this.evaluateOnce(stepAt, dueAt);
      if (stepAt !== undefined) lastStep = stepAt;
      stepAt = undefined;
      if (this.evaluations >= this.opts.maxEvaluations || workflowInfo().continueAsNewSuggested) {
        await condition(() => this.inflight === 0 && this.lastDelivery.size === 0 && allHandlersFinished());
        await continueAsNew<(input: AlertRuleWorkflowInput) => Promise<void>>({
          rule: this.rule,
          options: this.input.options,
          carried: { instances: this.instances, silencedUntil: this.silencedUntil, silencedBy: this.silencedBy, evaluations: 0 },
        });
      }
      const until = () => this.wake || this.stopReason !== undefined || !this.rule.enabled;
      if (patched('alert-aligned-steps')) {
        if (patched('alert-step-phase')) {
          // Wake a stable per-rule phase after the step (ADR 225): the step's answer is still shared (the
          // evaluation reads up to the step), but a thousand rules no longer wake in the same instant.
          const { step, wakeAt } = nextAlertStep(Date.now(), this.rule.intervalMs, alertStepPhaseMs(this.rule.id, this.rule.intervalMs), lastStep);
          if (!(await condition(until, Math.max(1, wakeAt - Date.now())))) [stepAt, dueAt] = [step, wakeAt];
        } else {
          // Sleep to the next multiple of the interval (epoch-aligned, ADR 190): rules sharing a query and an
          // interval evaluate it at the same step, once. A wake-up (edit, evaluateNow) evaluates at once, unaligned.
          const next = (Math.floor(Date.now() / this.rule.intervalMs) + 1) * this.rule.intervalMs;
          if (!(await condition(until, Math.max(1, next - Date.now())))) [stepAt, dueAt] = [next, next];
        }
      } else {
        await condition(until, this.rule.intervalMs);
      }
    }
  }

  private async evaluateOnce(stepAt: number | undefined, dueAt: number | undefined): Promise<void> {
    const rule = this.rule;
    let silences: SilenceMatcher[][] = [];
    let result: ReturnType<typeof stepAlerts>;
    try {
      // Histories recorded before ADR 225 scheduled ordinary activities here (and passed no dueAt).
      const local = patched('alert-local-activities');
      const evaluate = local ? this.evaluateLocal : this.evaluate;
      const ev = await (stepAt === undefined
        ? evaluate.evaluateAlertRule(rule)
        : evaluate.evaluateAlertRule(rule, local ? { at: stepAt, dueAt: dueAt ?? stepAt } : { at: stepAt }));
      silences = ev.silences;
      result = stepAlerts(this.instances, ev.observations, { ruleId: rule.id, now: Date.now(), forMs: rule.forMs, keepResolvedMs: this.opts.keepResolvedMs });
      this.lastError = undefined;
    } catch (err) {
      this.lastError = String((err as Error)?.cause instanceof Error ? (err as Error).cause!.toString() : err).slice(0, 300);
      this.evaluations++;
      this.show();
      return;
    }
    this.evaluations++;
    this.lastEvaluatedAt = Date.now();
    this.instances = result.instances;
    await this.apply(result.transitions, silences);
  }

  private async resolveEverything(reason: string): Promise<void> {
    if (!Object.values(this.instances).some((i) => i.state === 'firing' || i.state === 'pending')) return;
    const r = resolveAll(this.instances, { ruleId: this.rule.id, now: Date.now(), forMs: this.rule.forMs, keepResolvedMs: this.opts.keepResolvedMs }, reason);
    this.instances = r.instances;
    await this.apply(r.transitions, []);
  }

  /** Record the instances and transitions, then deliver the unsilenced ones in the background. */
  private async apply(transitions: AlertTransition[], silences: SilenceMatcher[][]): Promise<void> {
    const marked = transitions.map((t) => ({ ...t, silenced: this.silenced() || silences.some((m) => matchesAll(m, t.labels)) }));
    await (patched('alert-local-activities') ? this.recordLocal : this.record).recordAlertState({ ruleId: this.rule.id, instances: Object.values(this.instances), transitions: marked });
    const contactPointId = this.rule.contactPointId;
    if (contactPointId !== null) {
      for (const t of marked) if (!t.silenced) void this.deliver(t, contactPointId);
    }
    this.show();
  }

  /**
   * Deliver after the instance's earlier transitions were delivered (or given up): a firing
   * whose delivery is being retried is never overtaken by its resolution, which would leave
   * a receiver showing a resolved alert as firing. Histories recorded before this rule
   * (`patched('alert-delivery-in-order')` false) deliver at once, as they did.
   */
  private deliver(transition: AlertTransition, contactPointId: number): Promise<void> {
    if (!patched('alert-delivery-in-order')) return this.deliverNow(transition, contactPointId);
    const previous = this.lastDelivery.get(transition.key);
    const done = (previous ?? Promise.resolve()).then(() => this.deliverNow(transition, contactPointId)).finally(() => {
      if (this.lastDelivery.get(transition.key) === done) this.lastDelivery.delete(transition.key);
    });
    this.lastDelivery.set(transition.key, done);
    return done;
  }

  private async deliverNow(transition: AlertTransition, contactPointId: number): Promise<void> {
    this.inflight++;
    try {
      await this.delivery.deliverAlertNotification({
        transition,
        rule: { id: this.rule.id, name: this.rule.name, severity: this.rule.severity },
        contactPointId,
      });
    } catch (err) {
      this.lastDeliveryError = `${transition.idempotencyKey}: ${String((err as Error)?.cause ?? err).slice(0, 200)}`;
    } finally {
      this.inflight--;
      this.show();
    }
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** One alert rule, evaluated for as long as it exists (see the module comment). */
export async function alertRuleWorkflow(input: AlertRuleWorkflowInput): Promise<void> {
  if (!input?.rule || typeof input.rule.id !== 'number') throw new Error('alertRuleWorkflow needs { rule } with a numeric id');
  await new AlertRule(input).run();
}
