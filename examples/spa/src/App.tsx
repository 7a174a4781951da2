import { useCallback, useEffect, useState } from 'react';
import { Provider } from 'urql';
import { client } from './client';
import { Clients } from './Clients';
import {
  RefreshSessionMutation,
  SignInMutation,
  SignOutMutation,
  type Tokens,
  refreshDelay,
  remember,
  storedRefreshToken,
} from './session';
import { fieldErrors } from './errors';

interface Signed extends Tokens {
  user: { email: string; role: string };
}

export function App() {
  const [session, setSession] = useState<Signed | null>(null);
  const [restoring, setRestoring] = useState(() => storedRefreshToken() !== null);

  const refresh = useCallback(async (refreshToken: string) => {
    const result = await client.mutation(RefreshSessionMutation, { refreshToken }).toPromise();
    const tokens = result.data?.refreshSession ?? null;
    remember(tokens);
    setSession(tokens);
    setRestoring(false);
  }, []);

  // After a reload: the refresh token of this tab's session, if any.
  useEffect(() => {
    const stored = storedRefreshToken();
    if (stored) void refresh(stored);
  }, [refresh]);

  // A minute before the access token expires, a new one.
  useEffect(() => {
    if (!session) return;
    const timer = window.setTimeout(() => void refresh(session.refreshToken), refreshDelay(session));
    return () => window.clearTimeout(timer);
  }, [session, refresh]);

  const signOut = async () => {
    await client.mutation(SignOutMutation, {}).toPromise();
    remember(null);
    setSession(null);
  };

  return (
    <Provider value={client}>
      <header>
        <h1>CRM</h1>
        {session && (
          <p>
            <span data-testid="signed-in-as">{session.user.email}</span> ({session.user.role}){' '}
            <button onClick={() => void signOut()}>Sign out</button>
          </p>
        )}
      </header>
      {restoring ? (
        <p>Restoring your session…</p>
      ) : session ? (
        <Clients />
      ) : (
        <SignIn
          onSignedIn={(tokens) => {
            remember(tokens);
            setSession(tokens);
          }}
        />
      )}
    </Provider>
  );
}

function SignIn({ onSignedIn }: { onSignedIn: (session: Signed) => void }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    const result = await client.mutation(SignInMutation, { email, password }).toPromise();
    if (result.data) {
      onSignedIn(result.data.signIn);
    } else {
      setError(Object.values(fieldErrors(result.error)).join('; ') || 'sign-in failed');
    }
  };
  return (
    <form onSubmit={(event) => void submit(event)} aria-label="Sign in">
      <label>
        E-mail <input name="email" type="email" value={email} onChange={(e) => setEmail(e.target.value)} />
      </label>
      <label>
        Password{' '}
        <input name="password" type="password" value={password} onChange={(e) => setPassword(e.target.value)} />
      </label>
      <button type="submit">Sign in</button>
      {error && <p role="alert">{error}</p>}
    </form>
  );
}
