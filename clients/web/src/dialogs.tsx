/** Modal dialogs: a one-field form (new folder, rename, move) and the share dialog. */
import { useCallback, useEffect, useState } from 'react';
import { api, errorText, humanDate, humanSize, type Item } from './api';

export function Dialog(props: { title: string; label: string; initial: string; submit: string; onClose: () => void; onSubmit: (value: string) => Promise<void> }) {
  const [value, setValue] = useState(props.initial);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => { if (e.key === 'Escape') props.onClose(); };
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, [props]);
  return (
    <div className="overlay">
      <form className="card dialog" role="dialog" aria-label={props.title} onSubmit={async (e) => { e.preventDefault(); if (!value.trim()) return; props.onClose(); await props.onSubmit(value.trim()); }}>
        <h2>{props.title}</h2>
        <label>{props.label}<input autoFocus value={value} onChange={(e) => setValue(e.target.value)} /></label>
        <div className="row">
          <span className="spacer" />
          <button type="button" onClick={props.onClose}>Cancel</button>
          <button type="submit" className="primary">{props.submit}</button>
        </div>
      </form>
    </div>
  );
}

interface ShareRow { id: string; role: string; user: { email: string; name: string | null } }
interface LinkRow { id: string; url: string | null; expiresAt: string | null; hasPassword: boolean }

/** Who has access (add by email as viewer or editor, change role, remove) and public links (create, copy, revoke). */
export function ShareDialog({ item, onClose }: { item: Item; onClose: () => void }) {
  const [shares, setShares] = useState<ShareRow[]>([]);
  const [links, setLinks] = useState<LinkRow[]>([]);
  const [created, setCreated] = useState<Record<string, string>>({});
  const [email, setEmail] = useState('');
  const [role, setRole] = useState('VIEWER');
  const [password, setPassword] = useState('');
  /** Days until a new link expires ('' for never). */
  const [expiry, setExpiry] = useState('7');
  const [error, setError] = useState('');
  const [note, setNote] = useState('');

  const load = useCallback(async () => {
    const r = await api.request<{ file: { shares: ShareRow[]; shareLinks: LinkRow[] } }>(
      'query($id: ID!) { file(id: $id) { shares { id role user { email name } } shareLinks { id url expiresAt hasPassword } } }', { id: item.id });
    setShares(r.file.shares);
    setLinks(r.file.shareLinks);
  }, [item.id]);
  useEffect(() => { load().catch((e) => setError(errorText(e))); }, [load]);

  const run = async (fn: () => Promise<unknown>) => {
    try {
      await fn();
      setError('');
      await load();
    } catch (e) {
      setError(errorText(e));
    }
  };
  const share = (who: string, r: string) => run(() => api.request('mutation($fileId: ID!, $email: String!, $role: ShareRole!) { shareFile(fileId: $fileId, email: $email, role: $role) { id } }', { fileId: item.id, email: who, role: r }));

  return (
    <div className="overlay">
      <div className="card dialog share" role="dialog" aria-label={`Share ${item.name}`}>
        <h2>Share {item.name}</h2>
        <form className="row" onSubmit={async (e) => { e.preventDefault(); if (email) { await share(email, role); setEmail(''); } }}>
          <input aria-label="Email" type="email" placeholder="Email address" value={email} onChange={(e) => setEmail(e.target.value)} />
          <select aria-label="Role" value={role} onChange={(e) => setRole(e.target.value)}>
            <option value="VIEWER">Viewer</option>
            <option value="EDITOR">Editor</option>
          </select>
          <button type="submit" className="primary">Share</button>
        </form>
        {error && <p className="error" role="alert">{error}</p>}
        <h3>Who has access</h3>
        {shares.length === 0 ? <p className="muted">Only you.</p> : (
          <ul className="list">
            {shares.map((s) => (
              <li key={s.id} data-share={s.user.email}>
                <span>{s.user.name ? `${s.user.name} (${s.user.email})` : s.user.email}</span>
                <span className="spacer" />
                <select aria-label={`Role of ${s.user.email}`} value={s.role} onChange={(e) => share(s.user.email, e.target.value)}>
                  <option value="VIEWER">Viewer</option>
                  <option value="EDITOR">Editor</option>
                </select>
                <button onClick={() => run(() => api.request('mutation($id: ID!) { unshare(shareId: $id) }', { id: s.id }))}>Remove</button>
              </li>
            ))}
          </ul>
        )}
        <h3>Public links</h3>
        <form className="row" onSubmit={(e) => { e.preventDefault(); void run(async () => {
          const expiresAt = expiry ? new Date(Date.now() + Number(expiry) * 86_400_000).toISOString() : undefined;
          const r = await api.request<{ createShareLink: LinkRow }>('mutation($fileId: ID!, $password: String, $expiresAt: DateTime) { createShareLink(fileId: $fileId, password: $password, expiresAt: $expiresAt) { id url expiresAt hasPassword } }',
            { fileId: item.id, password: password || undefined, expiresAt });
          if (r.createShareLink.url) setCreated((c) => ({ ...c, [r.createShareLink.id]: new URL(r.createShareLink.url!, location.origin).href }));
          setPassword('');
        }); }}>
          <input aria-label="Link password" type="password" placeholder="Password (optional)" value={password} onChange={(e) => setPassword(e.target.value)} />
          <select aria-label="Link expires" value={expiry} onChange={(e) => setExpiry(e.target.value)}>
            <option value="1">Expires in 1 day</option>
            <option value="7">Expires in 7 days</option>
            <option value="30">Expires in 30 days</option>
            <option value="">Never expires</option>
          </select>
          <button type="submit">Create link</button>
        </form>
        {note && <p className="muted" role="status">{note}</p>}
        <ul className="list">
          {links.map((l) => (
            <li key={l.id} data-link={l.id}>
              {created[l.id] ? <input readOnly className="linkurl" aria-label="Link URL" value={created[l.id]} onFocus={(e) => e.target.select()} /> : <span className="muted">Link (copy it when created)</span>}
              <span className="muted linkinfo">{linkInfo(l)}</span>
              <span className="spacer" />
              {created[l.id] && <button onClick={() => navigator.clipboard?.writeText(created[l.id]).then(() => setNote('Link copied.'), () => setNote('Select the link and copy it.'))}>Copy</button>}
              <button onClick={() => run(() => api.request('mutation($id: ID!) { revokeShareLink(id: $id) }', { id: l.id }))}>Revoke</button>
            </li>
          ))}
        </ul>
        <div className="row"><span className="spacer" /><button onClick={onClose}>Done</button></div>
      </div>
    </div>
  );
}

/** "password · expires 3 Dec", "no password · never expires", "expired". */
function linkInfo(l: LinkRow): string {
  const pw = l.hasPassword ? 'password' : 'no password';
  if (!l.expiresAt) return `${pw} · never expires`;
  return Date.parse(l.expiresAt) <= Date.now() ? `${pw} · expired` : `${pw} · expires ${humanDate(l.expiresAt)}`;
}

interface RevisionRow { revision: number; size: string; current: boolean; createdAt: string }

/** A file's revisions, newest first; any older one can be restored (it becomes a new current revision). */
export function RevisionsDialog({ item, onClose, onRestored }: { item: Item; onClose: () => void; onRestored: () => void }) {
  const [revisions, setRevisions] = useState<RevisionRow[]>([]);
  const [error, setError] = useState('');
  const load = useCallback(async () => {
    const r = await api.request<{ file: { revisions: RevisionRow[] } }>('query($id: ID!) { file(id: $id) { revisions { revision size current createdAt } } }', { id: item.id });
    setRevisions([...r.file.revisions].sort((a, b) => b.revision - a.revision));
  }, [item.id]);
  useEffect(() => { load().catch((e) => setError(errorText(e))); }, [load]);
  const restore = async (revision: number) => {
    try {
      await api.request('mutation($fileId: ID!, $revision: Int!) { restoreRevision(fileId: $fileId, revision: $revision) { id } }', { fileId: item.id, revision });
      setError('');
      await load();
      onRestored();
    } catch (e) {
      setError(errorText(e));
    }
  };
  return (
    <div className="overlay">
      <div className="card dialog" role="dialog" aria-label={`Revisions of ${item.name}`}>
        <h2>Revisions of {item.name}</h2>
        {error && <p className="error" role="alert">{error}</p>}
        <ul className="list">
          {revisions.map((r) => (
            <li key={r.revision} data-revision={r.revision}>
              <span>#{r.revision}</span>
              <span className="muted">{humanSize(Number(r.size))} · {humanDate(r.createdAt)}</span>
              <span className="spacer" />
              {r.current ? <span className="badge">current</span> : <button onClick={() => restore(r.revision)}>Restore</button>}
            </li>
          ))}
        </ul>
        <div className="row"><span className="spacer" /><button onClick={onClose}>Done</button></div>
      </div>
    </div>
  );
}
