/**
 * The second step of a destructive action as page state (`?confirm=…`), not window.confirm:
 * the consequence in words, the button that does it, and Cancel — plain HTML, so it works
 * with JavaScript off. Actions refuse the intent unless the post carries `confirmed=yes`.
 */
import { Form, Link } from 'react-router';

/** True when a form post came from the confirmation step. */
export const isConfirmed = (form: FormData) => form.get('confirmed') === 'yes';

export function ConfirmStep({ intent, text, label, cancelTo, fields = {} }: { intent: string; text: string; label: string; cancelTo: string; fields?: Record<string, string> }) {
  return (
    <div className="card confirm" role="alertdialog" aria-labelledby={`confirm-${intent}-text`} data-testid={`confirm-${intent}-panel`}>
      <p id={`confirm-${intent}-text`}>{text}</p>
      <Form method="post" className="inline">
        <input type="hidden" name="intent" value={intent} />
        {Object.entries(fields).map(([name, value]) => (
          <input key={name} type="hidden" name={name} value={value} />
        ))}
        <input type="hidden" name="confirmed" value="yes" />
        <button type="submit" className="danger" data-testid={`confirm-${intent}`}>
          {label}
        </button>
      </Form>{' '}
      <Link to={cancelTo} className="button secondary" data-testid="confirm-cancel">
        Cancel
      </Link>
    </div>
  );
}
