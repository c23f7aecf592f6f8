/**
 * What a rule would have done over the last 24 h (issue 18; threshold, absence and session
 * rules): the rule form's Preview answer — how it was evaluated (the step, and why when coarser than the rule's
 * interval), the notifications it would have sent, and per instance when it went
 * pending, fired, resolved (or cleared before `for` ran out). Times in the page's zone.
 */
import type { AlertPreview } from '../../../query/alert-preview';
import { formatAlertValue } from '../lib/format';
import { humanDuration } from '../lib/query-budget';
import { formatStamp } from '../lib/time-format';

/** Events listed per instance before the rest are only counted. */
const EVENTS_SHOWN = 20;
/** Instances listed before the rest are only counted. */
const INSTANCES_SHOWN = 50;

export function AlertRulePreview({ preview: p, zone }: { preview: AlertPreview; zone: string }) {
  const shown = p.instances.slice(0, INSTANCES_SHOWN);
  return (
    <div className="card" data-testid="rule-preview" data-to={p.to}>
      <h2>Preview: the last 24 h</h2>
      <p data-testid="rule-preview-summary">
        Evaluated {p.steps.toLocaleString('en-US')} times, every {humanDuration(p.stepMs)}
        {p.coarser ? ` (the rule evaluates every ${humanDuration(p.intervalMs)}; coarser here: ${p.coarser})` : ''},{' '}
        {p.kind === 'session' ? 'over the recorded session states of the devices' : `over ${p.seriesCount} series`} from {formatStamp(p.from, zone)} to{' '}
        {formatStamp(p.to, zone)}: <strong>{p.notifications} notification{p.notifications === 1 ? '' : 's'}</strong> would have been sent
        {p.instances.length ? `, by ${p.instances.length} instance${p.instances.length === 1 ? '' : 's'}` : ''}
        {p.quietInstances ? `; ${p.quietInstances} instance${p.quietInstances === 1 ? '' : 's'} never left inactive` : ''}.
      </p>
      {p.caveat ? (
        <p className="muted" data-testid="rule-preview-caveat">
          Note: {p.caveat}.
        </p>
      ) : null}
      {p.instances.length === 0 ? (
        <p className="muted">The rule would never have gone pending.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Instance</th>
              <th className="num">Notifications</th>
              <th>Transitions</th>
              <th>Now</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((i) => (
              <tr key={i.key} data-testid={`rule-preview-${i.key}`}>
                <td>{i.key}</td>
                <td className="num">{i.notifications}</td>
                <td>
                  {i.events.slice(0, EVENTS_SHOWN).map((e, n) => (
                    <div key={n} data-transition={e.to}>
                      {formatStamp(e.at, zone)} {e.to}
                      {e.value === null ? '' : ` (${formatAlertValue(e.value)})`}
                    </div>
                  ))}
                  {i.events.length > EVENTS_SHOWN ? <div className="muted">… and {i.events.length - EVENTS_SHOWN} more</div> : null}
                  {i.noDataSteps ? <div className="muted">{i.noDataSteps.toLocaleString('en-US')} evaluations without data</div> : null}
                </td>
                <td>{i.state}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {p.instances.length > INSTANCES_SHOWN ? <p className="muted">… and {p.instances.length - INSTANCES_SHOWN} more instances.</p> : null}
    </div>
  );
}
