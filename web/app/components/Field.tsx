/** Labelled form inputs that show their field error beside them. */
import type { ReactNode } from 'react';

interface Common {
  name: string;
  label: ReactNode;
  errors?: Record<string, string>;
  hint?: ReactNode;
}

function Hint({ hint, error, name }: { hint?: ReactNode; error?: string; name: string }) {
  return (
    <>
      {hint ? <small className="hint">{hint}</small> : null}
      {error ? (
        <span className="field-error" id={`${name}-error`} data-testid={`error-${name}`}>
          {error}
        </span>
      ) : null}
    </>
  );
}

/** A text-like input. */
export function TextField({ name, label, errors, hint, ...rest }: Common & React.InputHTMLAttributes<HTMLInputElement>) {
  const error = errors?.[name];
  return (
    <label>
      {label}
      <input name={name} aria-invalid={error ? true : undefined} aria-describedby={error ? `${name}-error` : undefined} {...rest} />
      <Hint hint={hint} error={error} name={name} />
    </label>
  );
}

/** A multi-line input. */
export function TextArea({ name, label, errors, hint, ...rest }: Common & React.TextareaHTMLAttributes<HTMLTextAreaElement>) {
  const error = errors?.[name];
  return (
    <label>
      {label}
      <textarea name={name} aria-invalid={error ? true : undefined} {...rest} />
      <Hint hint={hint} error={error} name={name} />
    </label>
  );
}

/** A select. */
export function SelectField({
  name,
  label,
  errors,
  hint,
  options,
  ...rest
}: Common & { options: Array<[string, string]> } & React.SelectHTMLAttributes<HTMLSelectElement>) {
  const error = errors?.[name];
  return (
    <label>
      {label}
      <select name={name} aria-invalid={error ? true : undefined} {...rest}>
        {options.map(([value, text]) => (
          <option key={value} value={value}>
            {text}
          </option>
        ))}
      </select>
      <Hint hint={hint} error={error} name={name} />
    </label>
  );
}

/** The protocol select of the device and profile forms; `onProtocol` hears each change (the form then shows that protocol's fields). */
export function ProtocolField({ defaultValue, errors, onProtocol }: { defaultValue?: string; errors?: Record<string, string>; onProtocol(protocol: 'gnmi' | 'netconf'): void }) {
  return (
    <SelectField
      name="protocol"
      label="Protocol"
      defaultValue={defaultValue}
      errors={errors}
      options={[
        ['gnmi', 'gNMI'],
        ['netconf', 'NETCONF'],
      ]}
      onChange={(e) => onProtocol(e.currentTarget.value === 'netconf' ? 'netconf' : 'gnmi')}
    />
  );
}

/** A checkbox with its label after it. */
export function CheckField({ name, label, errors, hint, ...rest }: Common & React.InputHTMLAttributes<HTMLInputElement>) {
  return (
    <label className="check">
      <input type="checkbox" name={name} {...rest} /> {label}
      <Hint hint={hint} error={errors?.[name]} name={name} />
    </label>
  );
}
