import { type FormEvent, useEffect, useState } from 'react';
import { ErrorText } from '../components.tsx';
import { message, signInOperator } from '../lib/api.ts';

interface Options {
  operator: boolean;
  person: { issuer: string; dev: boolean } | null;
}

/** Sign-in: operators with the admin credential, persons through the OIDC provider. */
export function SignInPage() {
  const [options, setOptions] = useState<Options>();
  const [token, setToken] = useState('');
  const [error, setError] = useState<string>();
  const next = new URLSearchParams(location.search).get('next');
  const target = next?.startsWith('/ui/') ? next : '/ui/';
  useEffect(() => {
    document.title = 'Sign in · Warrant';
    fetch('/ui/auth/options')
      .then((r) => r.json())
      .then(setOptions, () => setOptions({ operator: false, person: null }));
  }, []);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    try {
      await signInOperator(token);
      location.assign(target);
    } catch (err) {
      setError(message(err));
    }
  };
  return (
    <main id="main" className="sign-in">
      <h1>Sign in to Warrant</h1>
      {options?.person && (
        <section aria-labelledby="person-heading">
          <h2 id="person-heading">As a person</h2>
          <p>See the work agents did on your behalf and decide the approvals addressed to you.</p>
          <a className="button primary" href="/ui/auth/oidc">
            Sign in with {options.person.dev ? 'the dev identity provider' : options.person.issuer}
          </a>
        </section>
      )}
      {options?.operator !== false && (
        <section aria-labelledby="operator-heading">
          <h2 id="operator-heading">As an operator</h2>
          <form onSubmit={submit}>
            <label htmlFor="admin-token">Admin credential</label>
            <input
              id="admin-token"
              name="token"
              type="password"
              autoComplete="current-password"
              value={token}
              onChange={(e) => setToken(e.target.value)}
              required
            />
            <button type="submit" className="primary">
              Sign in as operator
            </button>
          </form>
          <p className="hint">
            In <code>warrant dev</code> it is in <code>.warrant/admin-token</code>.
          </p>
        </section>
      )}
      {error && <ErrorText text={error} />}
    </main>
  );
}
