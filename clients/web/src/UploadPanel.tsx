/** The upload panel: this page's uploads (per file and overall progress, rate, ETA, pause, resume, cancel). */
import { humanSize } from './api';
import type { RemoteUpload } from './remote-uploads';
import { isActive, type UploadEntry, type useUploads } from './uploads';

export function UploadPanel({ uploads, remote }: { uploads: ReturnType<typeof useUploads>; remote: RemoteUpload[] }) {
  const { entries } = uploads;
  if (entries.length === 0 && remote.length === 0) return null;
  const counted = entries.filter((e) => e.phase !== 'cancelled' && e.phase !== 'interrupted');
  const total = counted.reduce((s, e) => s + e.total, 0);
  const done = counted.reduce((s, e) => s + (e.phase === 'done' ? e.total : e.done), 0);
  const active = entries.filter(isActive).length;
  const interrupted = entries.filter((e) => e.phase === 'interrupted').length;
  // rate and ETA over the files still moving
  const moving = entries.filter((e) => e.phase === 'upload');
  const since = Math.min(...moving.map((e) => e.started));
  const movedBytes = moving.reduce((s, e) => s + e.done, 0);
  const rate = moving.length && Date.now() > since ? movedBytes / ((Date.now() - since) / 1000) : 0;
  const left = moving.reduce((s, e) => s + e.total - e.done, 0);
  const eta = rate > 0 ? Math.ceil(left / rate) : 0;
  const status = (e: UploadEntry) => e.phase === 'done' ? (e.deduplicated ? 'already stored' : 'done')
    : e.phase === 'error' ? e.error : e.phase === 'hash' ? 'hashing…' : e.phase === 'cancelled' ? 'cancelled' : e.phase === 'queued' ? 'waiting'
      : e.phase === 'paused' ? `paused at ${Math.floor((100 * e.done) / (e.total || 1))}%`
        : e.phase === 'interrupted' ? 'interrupted: pick or drop this file again to resume' : `${Math.floor((100 * e.done) / (e.total || 1))}%`;
  return (
    <section className="uploads" aria-label="Uploads">
      {entries.length > 0 && <>
      <header>
        <strong>{active ? `Uploading ${active} file${active > 1 ? 's' : ''}` : interrupted ? `${interrupted} unfinished upload${interrupted > 1 ? 's' : ''}` : 'Uploads finished'}</strong>
        <span className="muted"> {humanSize(done)} of {humanSize(total)}{rate > 0 ? ` · ${humanSize(rate)}/s · ${eta < 60 ? `${eta} s` : `${Math.ceil(eta / 60)} min`} left` : ''}</span>
        <span className="spacer" />
        {!active && <button onClick={uploads.clear}>Clear</button>}
      </header>
      <progress max={total || 1} value={done} />
      <ul>
        {entries.map((e) => (
          <li key={e.id} data-upload={e.name} data-phase={e.phase}>
            <span className="uname" title={e.path}>{e.name}</span>
            <span className="ubtns">
              {isActive(e) && e.phase !== 'queued' && <button aria-label={`Pause ${e.name}`} onClick={() => uploads.pause(e.id)}>❚❚</button>}
              {e.phase === 'paused' && <button aria-label={`Resume ${e.name}`} onClick={() => uploads.resume(e.id)}>▶</button>}
              {(isActive(e) || e.phase === 'paused' || e.phase === 'interrupted') && <button aria-label={`Cancel ${e.name}`} onClick={() => uploads.cancel(e.id)}>✕</button>}
            </span>
            <span className="muted ustatus">{status(e)}</span>
            <progress max={e.total || 1} value={e.phase === 'done' ? e.total : e.done} />
          </li>
        ))}
      </ul>
      </>}
      {remote.length > 0 && <>
        <header><strong>On your other devices</strong></header>
        <ul aria-label="Uploads on other devices">
          {remote.map((u) => {
            const pct = Math.floor((100 * u.done) / (u.size || 1));
            return (
              <li key={u.id} data-remote-upload={u.path} data-percent={pct}>
                <span className="uname" title={u.path}>{u.path}</span>
                <span className="muted">{pct}%</span>
                <span className="muted ustatus">{humanSize(u.done)} of {humanSize(u.size)}</span>
                <progress max={u.size || 1} value={u.done} />
              </li>
            );
          })}
        </ul>
      </>}
    </section>
  );
}
