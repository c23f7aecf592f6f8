/**
 * The alert rule form (issue 18), one for the new-rule and edit pages: threshold (the fleet
 * query model), absence or session state, with severity, `for`, interval, labels, contact
 * point and enabled. Works without JavaScript: the fields of every kind are shown, the
 * chosen kind's are read. Two submit buttons: Save (intent=save, first, so Enter saves)
 * and Preview (intent=preview: the last 24 h replayed, nothing saved).
 */
import { Form } from 'react-router';
import { ALERT_OPERATORS, ALERT_SESSION_STATES, ALERT_SEVERITIES } from '../../../core/alert-rules';
import type { AlertRuleFormValues } from '../lib/alert-rule-form';

/** A contact point as the form offers it. */
export interface ContactPointOption {
  id: number;
  name: string;
}

export function AlertRuleForm({ values: v, contactPoints, submitLabel }: { values: AlertRuleFormValues; contactPoints: ContactPointOption[]; submitLabel: string }) {
  const states = new Set((v.states ?? '').split(','));
  return (
    <Form method="post" className="stacked" data-testid="rule-form">
      <label>
        Name <input name="name" required defaultValue={v.name} />
      </label>
      <label>
        Kind{' '}
        <select name="kind" defaultValue={v.kind ?? 'threshold'}>
          <option value="threshold">threshold (fleet query)</option>
          <option value="absence">absence of data</option>
          <option value="session">session state</option>
        </select>
      </label>
      <fieldset>
        <legend>Threshold</legend>
        <label>
          Path or metric <input name="path" defaultValue={v.path} placeholder="/system/cpu/utilization" />
        </label>
        <label>
          <input type="checkbox" name="rate" defaultChecked={v.rate === 'on'} /> rate (counters)
        </label>
        <label>
          Aggregation{' '}
          <select name="agg" defaultValue={v.agg ?? 'avg'}>
            {['avg', 'sum', 'min', 'max', 'count', 'last'].map((a) => (
              <option key={a}>{a}</option>
            ))}
          </select>
        </label>
        <label>
          Group by <input name="groupBy" defaultValue={v.groupBy} placeholder="device, site, interface[name]" />
        </label>
        <label>
          Condition{' '}
          <select name="op" defaultValue={v.op ?? '>'}>
            {ALERT_OPERATORS.map((o) => (
              <option key={o}>{o}</option>
            ))}
          </select>{' '}
          <input name="threshold" defaultValue={v.threshold} size={8} />
        </label>
        <label>
          Recovery threshold <input name="recovery" defaultValue={v.recovery} size={8} placeholder="(the threshold)" />
        </label>
        <label>
          Window <input name="window" defaultValue={v.window} size={6} />
        </label>
      </fieldset>
      <fieldset>
        <legend>Absence</legend>
        <label>
          Path or metric <input name="absencePath" defaultValue={v.absencePath} />
        </label>
        <label>
          Silent for <input name="silentFor" defaultValue={v.silentFor} size={6} />
        </label>
      </fieldset>
      <fieldset>
        <legend>Session state</legend>
        {ALERT_SESSION_STATES.map((s) => (
          <label key={s}>
            <input type="checkbox" name="states" value={s} defaultChecked={states.has(s)} /> {s}
          </label>
        ))}
        <label>
          Backoff longer than <input name="backoffLongerThan" defaultValue={v.backoffLongerThan} size={6} />
        </label>
      </fieldset>
      <label>
        Severity{' '}
        <select name="severity" defaultValue={v.severity ?? 'warning'}>
          {ALERT_SEVERITIES.map((s) => (
            <option key={s}>{s}</option>
          ))}
        </select>
      </label>
      <label>
        For <input name="for" defaultValue={v.for} size={6} />
      </label>
      <label>
        Evaluate every <input name="interval" defaultValue={v.interval} size={6} />
      </label>
      <label>
        Labels <input name="labels" defaultValue={v.labels} placeholder="team=net, env=lab" />
      </label>
      <label>
        Contact point{' '}
        <select name="contactPointId" defaultValue={v.contactPointId ?? String(contactPoints[0]?.id ?? '')}>
          <option value="">none</option>
          {contactPoints.map((c) => (
            <option key={c.id} value={c.id}>
              {c.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        <input type="checkbox" name="enabled" defaultChecked={v.enabled === 'on'} /> enabled
      </label>
      <div className="actions">
        <button type="submit" name="intent" value="save">
          {submitLabel}
        </button>{' '}
        <button type="submit" name="intent" value="preview" className="secondary" data-testid="rule-preview-button">
          Preview
        </button>
      </div>
    </Form>
  );
}
