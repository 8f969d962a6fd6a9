/** Shared pieces: the confirmation step before every change, status badges, errors, key/value lists. */
import { type ReactNode, useId, useState } from 'react';
import { message } from './lib/api.ts';

/** A button that asks first: the first press shows what will happen and Confirm / Cancel. */
export function ConfirmButton(props: {
  label: string;
  confirm: string;
  onConfirm: () => Promise<unknown>;
  danger?: boolean;
  disabled?: boolean;
}) {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const id = useId();
  if (!asking)
    return (
      <span>
        <button
          type="button"
          className={props.danger ? 'danger' : undefined}
          disabled={props.disabled}
          onClick={() => {
            setError(undefined);
            setAsking(true);
          }}
        >
          {props.label}
        </button>
        {error && <ErrorText text={error} />}
      </span>
    );
  return (
    <fieldset aria-labelledby={id} className="confirm">
      <span id={id}>{props.confirm}</span>{' '}
      <button
        type="button"
        className={props.danger ? 'danger' : 'primary'}
        disabled={busy}
        // biome-ignore lint/a11y/noAutofocus: the confirmation takes the focus it asks for
        autoFocus
        onClick={async () => {
          setBusy(true);
          try {
            await props.onConfirm();
            setAsking(false);
          } catch (e) {
            setError(message(e));
            setAsking(false);
          } finally {
            setBusy(false);
          }
        }}
      >
        Confirm
      </button>{' '}
      <button type="button" onClick={() => setAsking(false)}>
        Cancel
      </button>
    </fieldset>
  );
}

export function ErrorText({ text }: { text: string }) {
  return (
    <p role="alert" className="error">
      {text}
    </p>
  );
}

export function Outcome({ value }: { value: string | undefined }) {
  return <span className={`badge badge-${value ?? 'none'}`}>{value ?? '—'}</span>;
}

export function Fields({ rows }: { rows: [string, ReactNode][] }) {
  return (
    <dl className="fields">
      {rows.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

/** Any JSON value, shown as text (agents' content is never markup). */
export function Json({ value }: { value: unknown }) {
  return <pre className="json">{JSON.stringify(value, null, 2)}</pre>;
}
