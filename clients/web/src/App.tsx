/** The app shell: sign in / sign up until there is a session, then the file browser. */
import { useEffect, useState } from 'react';
import { TesseraError } from '../../sdk/errors';
import { api, deviceName, errorText, onSignedOut, setToken } from './api';
import { Browser } from './Browser';

interface User { id: string; email: string; name: string | null }
const AUTH = 'token user { id email name }';

export function App() {
  const [user, setUser] = useState<User | null>(null);
  const [checking, setChecking] = useState(!!api.token);
  /** Why the sign-in screen shows again (signed out from another device). */
  const [notice, setNotice] = useState('');

  useEffect(() => onSignedOut(() => {
    setToken(undefined);
    setUser(null);
    setNotice('You were signed out (this device was signed out, or the session ended). Please sign in again.');
  }), []);

  useEffect(() => {
    if (!api.token) return;
    api.request<{ me: User | null }>('query { me { id email name } }')
      .then(({ me }) => { if (me) setUser(me); else setToken(undefined); })
      .catch(() => setToken(undefined))
      .finally(() => setChecking(false));
  }, []);

  const signOut = async () => {
    await api.request('mutation { signOut }').catch(() => undefined);
    setToken(undefined);
    setUser(null);
  };

  if (checking) return <div className="center muted">Loading…</div>;
  if (!user) return <SignIn notice={notice} onUser={(u) => { setNotice(''); setUser(u); }} />;
  return <Browser user={user} onSignOut={signOut} />;
}

function SignIn({ onUser, notice }: { onUser: (u: User) => void; notice: string }) {
  const [mode, setMode] = useState<'in' | 'up'>('in');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [name, setName] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  const submit = async (ev: React.FormEvent) => {
    ev.preventDefault();
    setBusy(true);
    setError('');
    try {
      const vars = { email, password, deviceName: deviceName(), ...(mode === 'up' ? { name: name || undefined } : {}) };
      const res = mode === 'up'
        ? (await api.request<{ signUp: { token: string; user: User } }>(`mutation($email: String!, $password: String!, $name: String, $deviceName: String) { signUp(email: $email, password: $password, name: $name, deviceName: $deviceName) { ${AUTH} } }`, vars)).signUp
        : (await api.request<{ signIn: { token: string; user: User } }>(`mutation($email: String!, $password: String!, $deviceName: String) { signIn(email: $email, password: $password, deviceName: $deviceName) { ${AUTH} } }`, vars)).signIn;
      setToken(res.token);
      onUser(res.user);
    } catch (e) {
      setError(e instanceof TesseraError && e.code === 'UNAUTHENTICATED' ? 'Wrong email or password.' : errorText(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="center">
      <form className="card auth" onSubmit={submit} aria-label={mode === 'up' ? 'Sign up' : 'Sign in'}>
        <h1>Tessera</h1>
        <h2>{mode === 'up' ? 'Create your account' : 'Sign in'}</h2>
        {notice && <p className="muted" role="status">{notice}</p>}
        {mode === 'up' && <label>Name<input name="name" value={name} onChange={(e) => setName(e.target.value)} autoComplete="name" /></label>}
        <label>Email<input name="email" type="email" required value={email} onChange={(e) => setEmail(e.target.value)} autoComplete="email" /></label>
        <label>Password<input name="password" type="password" required value={password} onChange={(e) => setPassword(e.target.value)} autoComplete={mode === 'up' ? 'new-password' : 'current-password'} /></label>
        {error && <p className="error" role="alert">{error}</p>}
        <button type="submit" className="primary" disabled={busy}>{mode === 'up' ? 'Sign up' : 'Sign in'}</button>
        <p className="muted">
          {mode === 'up' ? 'Already have an account? ' : 'New here? '}
          <a href="#" onClick={(e) => { e.preventDefault(); setError(''); setMode(mode === 'up' ? 'in' : 'up'); }}>{mode === 'up' ? 'Sign in' : 'Create an account'}</a>
        </p>
      </form>
    </div>
  );
}
