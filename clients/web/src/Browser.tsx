/**
 * The signed-in screen: My files (breadcrumbs, sortable listing, folder actions), Shared with
 * me, Trash; uploads by picker or by dropping files and folders anywhere; the upload panel;
 * live updates through the `changes` subscription.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { api, errorText, FILE_FIELDS, humanDate, humanSize, joinPath, parentOf, watchChanges, type Item } from './api';
import { Devices } from './Devices';
import { Dialog, RevisionsDialog, ShareDialog } from './dialogs';
import { droppedFiles, pickedFiles, useUploads } from './uploads';
import { UploadPanel } from './UploadPanel';
import { useRemoteUploads } from './remote-uploads';

type View = { kind: 'files'; path: string } | { kind: 'shared'; folder?: { id: string; name: string; role?: string } } | { kind: 'trash' } | { kind: 'devices' };
type SortKey = 'name' | 'size' | 'updatedAt';
const DRAG_TYPE = 'application/x-tessera-item';

function viewFromLocation(): View {
  const p = decodeURIComponent(location.pathname);
  if (p === '/shared') return { kind: 'shared' };
  if (p === '/trash') return { kind: 'trash' };
  if (p === '/devices') return { kind: 'devices' };
  if (p.startsWith('/files/')) return { kind: 'files', path: p.slice('/files'.length) };
  return { kind: 'files', path: '/' };
}

function urlOf(v: View): string {
  if (v.kind === 'shared') return '/shared';
  if (v.kind === 'trash') return '/trash';
  if (v.kind === 'devices') return '/devices';
  return v.path === '/' ? '/files' : `/files${v.path.split('/').map(encodeURIComponent).join('/')}`;
}

export function Browser({ user, onSignOut }: { user: { email: string; name: string | null }; onSignOut: () => void }) {
  const [view, setViewState] = useState<View>(viewFromLocation);
  const [items, setItems] = useState<(Item & { role?: string })[]>([]);
  const [error, setError] = useState('');
  const [sort, setSort] = useState<{ key: SortKey; asc: boolean }>({ key: 'name', asc: true });
  const [dialog, setDialog] = useState<null | { kind: 'folder' } | { kind: 'rename'; item: Item } | { kind: 'move'; item: Item } | { kind: 'share'; item: Item } | { kind: 'revisions'; item: Item }>(null);
  const [dragging, setDragging] = useState(false);
  const [usage, setUsage] = useState<{ usage: string | null; quotaBytes: string | null } | null>(null);
  /** The row the keyboard is on (index into the sorted listing), -1 for none. */
  const [cursor, setCursor] = useState(-1);
  /** Ids of the rows ticked for a bulk action. */
  const [picked, setPicked] = useState<Set<string>>(new Set());
  const fileInput = useRef<HTMLInputElement>(null);
  const folderInput = useRef<HTMLInputElement>(null);
  const viewRef = useRef(view);
  viewRef.current = view;

  const setView = (v: View) => {
    history.pushState(null, '', urlOf(v));
    setError('');
    setCursor(-1);
    setPicked(new Set());
    setViewState(v);
  };
  useEffect(() => {
    const onPop = () => setViewState(viewFromLocation());
    addEventListener('popstate', onPop);
    return () => removeEventListener('popstate', onPop);
  }, []);

  const load = useCallback(async () => {
    const v = viewRef.current;
    api.request<{ me: { usage: string | null; quotaBytes: string | null } }>('query { me { usage quotaBytes } }').then((r) => setUsage(r.me), () => undefined);
    try {
      if (v.kind === 'files') {
        const r = await api.request<{ listFolder: { edges: { node: Item }[] } }>(`query($path: String!) { listFolder(path: $path, first: 500) { edges { node { ${FILE_FIELDS} } } } }`, { path: v.path });
        setItems(r.listFolder.edges.map((e) => e.node));
      } else if (v.kind === 'devices') {
        setItems([]);
      } else if (v.kind === 'trash') {
        const r = await api.request<{ trash: { edges: { node: Item }[] } }>(`query { trash(first: 500) { edges { node { ${FILE_FIELDS} } } } }`);
        setItems(r.trash.edges.map((e) => e.node));
      } else if (v.folder) {
        const r = await api.request<{ listFolderById: { edges: { node: Item }[] } }>(`query($id: ID!) { listFolderById(id: $id, first: 500) { edges { node { ${FILE_FIELDS} } } } }`, { id: v.folder.id });
        setItems(r.listFolderById.edges.map((e) => e.node));
      } else {
        const r = await api.request<{ sharedWithMe: { edges: { node: Item; share: { role: string } | null }[] } }>(`query { sharedWithMe(first: 500) { edges { node { ${FILE_FIELDS} } share { role } } } }`);
        setItems(r.sharedWithMe.edges.map((e) => ({ ...e.node, role: e.share?.role })));
      }
    } catch (e) {
      setError(errorText(e));
    }
  }, []);

  useEffect(() => { void load(); }, [view, load]);
  // ticks of rows that are gone (moved, deleted elsewhere) are dropped
  useEffect(() => setPicked((old) => (old.size ? new Set([...old].filter((id) => items.some((i) => i.id === id))) : old)), [items]);

  // live: any change of what this user can see reloads the listing (debounced)
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stop = watchChanges(() => {
      clearTimeout(timer);
      timer = setTimeout(() => void load(), 150);
    });
    return () => { clearTimeout(timer); stop(); };
  }, [load]);

  const uploads = useUploads(useCallback(() => void load(), [load]));
  const remoteUploads = useRemoteUploads(uploads.own);
  // where picked or dropped files go: the open folder of My files, or a folder shared with me as editor
  const target: { folder: string; folderId?: string } | null = view.kind === 'files' ? { folder: view.path }
    : view.kind === 'shared' && view.folder?.role === 'EDITOR' ? { folder: '/', folderId: view.folder.id } : null;
  const uploadInto = (files: ReturnType<typeof pickedFiles>) => { if (target) void uploads.add(files, target.folder, target.folderId); };

  const run = async (fn: () => Promise<unknown>) => {
    setError('');
    try {
      await fn();
    } catch (e) {
      setError(errorText(e));
    }
    await load();
  };

  /** The browser's own download: a file through its signed URL, a folder as one zip streamed by the server. */
  const download = (item: Item) => run(async () => {
    const field = item.isFolder ? 'zipUrl' : 'downloadUrl';
    const r = await api.request<{ file: Record<string, string | null> | null }>(`query($id: ID!) { file(id: $id) { ${field} } }`, { id: item.id });
    const url = r.file?.[field];
    if (!url) throw new Error('no download URL');
    const a = document.createElement('a');
    a.href = new URL(url, location.origin).href;
    a.download = item.isFolder ? `${item.name}.zip` : item.name;
    document.body.appendChild(a);
    a.click();
    a.remove();
  });

  const sorted = useMemo(() => {
    const dir = sort.asc ? 1 : -1;
    return [...items].sort((a, b) => {
      if (a.isFolder !== b.isFolder) return a.isFolder ? -1 : 1;
      const c = sort.key === 'name' ? a.name.localeCompare(b.name, undefined, { numeric: true })
        : sort.key === 'size' ? Number(a.size) - Number(b.size) : Date.parse(a.updatedAt) - Date.parse(b.updatedAt);
      return c * dir;
    });
  }, [items, sort]);

  // keyboard: ↑/↓ move, Enter opens (a file downloads), Space ticks, Escape unticks all, Backspace goes up, Delete moves to the trash
  const keys = useRef<(e: KeyboardEvent) => void>(() => undefined);
  keys.current = (e: KeyboardEvent) => {
    if (dialog || (e.target as HTMLElement)?.closest?.('input, select, textarea') || e.altKey || e.ctrlKey || e.metaKey) return;
    if (e.key === ' ' && (e.target as HTMLElement)?.closest?.('button, a')) return; // Space presses a focused button
    const item = sorted[cursor];
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      const next = Math.max(0, Math.min(sorted.length - 1, cursor + (e.key === 'ArrowDown' ? 1 : -1)));
      setCursor(next);
      document.querySelector(`tbody tr:nth-child(${next + 1})`)?.scrollIntoView({ block: 'nearest' });
    } else if (e.key === 'Enter' && item && view.kind !== 'trash') {
      e.preventDefault();
      open(item);
    } else if (e.key === 'Backspace' && view.kind === 'files' && view.path !== '/') {
      e.preventDefault();
      setView({ kind: 'files', path: parentOf(view.path) });
    } else if (e.key === ' ' && item && view.kind === 'files') {
      e.preventDefault(); // Space ticks or unticks the row the keyboard is on (multi-select)
      setPicked((old) => { const next = new Set(old); if (next.has(item.id)) next.delete(item.id); else next.add(item.id); return next; });
    } else if (e.key === 'Escape' && picked.size > 0) {
      setPicked(new Set());
    } else if (e.key === 'Delete' && item && view.kind === 'files') {
      e.preventDefault();
      void run(() => api.request('mutation($id: ID!) { deleteFile(id: $id) { id } }', { id: item.id }));
    }
  };
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => keys.current(e);
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, []);
  useEffect(() => { setCursor((c) => Math.min(c, sorted.length - 1)); }, [sorted.length]);

  // drag a row onto a folder row to move it there
  const moveByDrag = (item: Item) => ({
    draggable: true,
    onDragStart: (e: React.DragEvent) => { e.dataTransfer.setData(DRAG_TYPE, JSON.stringify({ id: item.id, name: item.name })); e.dataTransfer.effectAllowed = 'move'; },
    ...(item.isFolder ? {
      onDragOver: (e: React.DragEvent) => { if (e.dataTransfer.types.includes(DRAG_TYPE)) { e.preventDefault(); e.dataTransfer.dropEffect = 'move'; } },
      onDrop: (e: React.DragEvent) => {
        const raw = e.dataTransfer.getData(DRAG_TYPE);
        if (!raw) return;
        e.preventDefault();
        e.stopPropagation();
        const moved = JSON.parse(raw) as { id: string; name: string };
        if (moved.id !== item.id) void run(() => api.request('mutation($id: ID!, $toPath: String!) { moveFile(id: $id, toPath: $toPath) { id } }', { id: moved.id, toPath: joinPath(item.path, moved.name) }));
      },
    } : {}),
  });

  const sortBy = (key: SortKey) => setSort((s) => ({ key, asc: s.key === key ? !s.asc : true }));
  const arrow = (key: SortKey) => (sort.key === key ? (sort.asc ? ' ▲' : ' ▼') : '');

  const onDrop = async (ev: React.DragEvent) => {
    if (!ev.dataTransfer.types.includes('Files')) return;
    ev.preventDefault();
    setDragging(false);
    if (!target) return setError('Open a folder of yours, or one shared with you as editor, to upload into it.');
    const files = await droppedFiles(ev.dataTransfer);
    if (files.length) uploadInto(files);
  };

  const open = (item: Item) => {
    if (!item.isFolder) return void download(item);
    if (view.kind === 'files') setView({ kind: 'files', path: item.path });
    else if (view.kind === 'shared') setView({ kind: 'shared', folder: { id: item.id, name: item.name, role: (item as { role?: string }).role ?? view.folder?.role } });
  };

  return (
    <div className="app" onDragOver={(e) => { if (!e.dataTransfer.types.includes('Files')) return; e.preventDefault(); setDragging(true); }} onDragLeave={(e) => { if (e.currentTarget === e.target) setDragging(false); }} onDrop={onDrop}>
      <header className="top">
        <strong className="logo">Tessera</strong>
        <span className="spacer" />
        <span className="muted user">{user.name || user.email}</span>
        <button onClick={onSignOut}>Sign out</button>
      </header>
      <nav className="side">
        <a href="/files" className={view.kind === 'files' ? 'active' : ''} onClick={(e) => { e.preventDefault(); setView({ kind: 'files', path: '/' }); }}>My files</a>
        <a href="/shared" className={view.kind === 'shared' ? 'active' : ''} onClick={(e) => { e.preventDefault(); setView({ kind: 'shared' }); }}>Shared with me</a>
        <a href="/trash" className={view.kind === 'trash' ? 'active' : ''} onClick={(e) => { e.preventDefault(); setView({ kind: 'trash' }); }}>Trash</a>
        <a href="/devices" className={view.kind === 'devices' ? 'active' : ''} onClick={(e) => { e.preventDefault(); setView({ kind: 'devices' }); }}>Devices</a>
        {usage?.usage != null && (
          <div className="usage" aria-label="Storage used">
            <span>{humanSize(Number(usage.usage))}{usage.quotaBytes != null ? ` of ${humanSize(Number(usage.quotaBytes))}` : ''} used</span>
            {usage.quotaBytes != null && <progress max={Number(usage.quotaBytes) || 1} value={Number(usage.usage)} />}
          </div>
        )}
      </nav>
      <main className="main">
        <div className="bar">
          <Breadcrumbs view={view} go={setView} />
          <span className="spacer" />
          {view.kind === 'files' && picked.size > 0 && <>
            <span className="muted">{picked.size} selected</span>
            <button className="danger" onClick={() => { const ids = [...picked]; setPicked(new Set()); void run(async () => {
              for (const id of ids) await api.request('mutation($id: ID!) { deleteFile(id: $id) { id } }', { id });
            }); }}>Move to trash</button>
          </>}
          {view.kind === 'files' && <button onClick={() => setDialog({ kind: 'folder' })}>New folder</button>}
          {target && <>
            <button onClick={() => fileInput.current?.click()}>Upload files</button>
            <button onClick={() => folderInput.current?.click()}>Upload folder</button>
          </>}
          {view.kind === 'trash' && items.length > 0 && <button onClick={() => run(() => api.request('mutation { emptyTrash }'))}>Empty trash</button>}
        </div>
        <input ref={fileInput} type="file" multiple hidden data-testid="file-input" onChange={(e) => { if (e.target.files) uploadInto(pickedFiles(e.target.files)); e.target.value = ''; }} />
        <input ref={folderInput} type="file" multiple hidden data-testid="folder-input" {...{ webkitdirectory: '' }} onChange={(e) => { if (e.target.files) uploadInto(pickedFiles(e.target.files)); e.target.value = ''; }} />
        {error && <p className="error" role="alert">{error}</p>}
        {view.kind === 'devices' ? <Devices onSignedOutHere={onSignOut} /> : <>
        <table className="files">
          <thead>
            <tr>
              {view.kind === 'files' && <th className="pick"><input type="checkbox" aria-label="Select all" checked={sorted.length > 0 && picked.size === sorted.length}
                onChange={(e) => setPicked(e.target.checked ? new Set(sorted.map((i) => i.id)) : new Set())} /></th>}
              <th className="namecell"><button className="link" onClick={() => sortBy('name')}>Name{arrow('name')}</button></th>
              <th className="num"><button className="link" onClick={() => sortBy('size')}>Size{arrow('size')}</button></th>
              <th className="date"><button className="link" onClick={() => sortBy('updatedAt')}>Modified{arrow('updatedAt')}</button></th>
              <th className="actions" aria-label="Actions" />
            </tr>
          </thead>
          <tbody>
            {sorted.map((item, i) => (
              <tr key={item.id} data-name={item.name} className={i === cursor ? 'selected' : undefined} aria-selected={i === cursor} onClick={() => setCursor(i)}
                {...(view.kind === 'files' ? moveByDrag(item) : {})}>
                {view.kind === 'files' && <td className="pick"><input type="checkbox" aria-label={`Select ${item.name}`} checked={picked.has(item.id)}
                  onChange={(e) => setPicked((old) => { const next = new Set(old); if (e.target.checked) next.add(item.id); else next.delete(item.id); return next; })} /></td>}
                <td className="namecell">
                  <span className={item.isFolder ? 'icon folder' : 'icon file'} aria-hidden="true" />
                  {view.kind === 'trash' ? <span>{item.name}</span>
                    : <a href="#" className="name" onClick={(e) => { e.preventDefault(); open(item); }}>{item.name}</a>}
                  {item.role && <span className="badge">{item.role.toLowerCase()}</span>}
                </td>
                <td className="num">{item.isFolder ? '—' : humanSize(Number(item.size))}</td>
                <td className="date">{humanDate(item.updatedAt)}</td>
                <td className="actions">
                  {view.kind === 'trash'
                    ? <button onClick={() => run(() => api.request('mutation($id: ID!) { restoreFile(id: $id) { id } }', { id: item.id }))}>Restore</button>
                    : <>
                      <button onClick={() => download(item)} aria-label={item.isFolder ? `Download ${item.name} as zip` : `Download ${item.name}`}>{item.isFolder ? 'Download zip' : 'Download'}</button>
                      {view.kind === 'files' && <>
                        <button onClick={() => setDialog({ kind: 'share', item })}>Share</button>
                        {!item.isFolder && <button onClick={() => setDialog({ kind: 'revisions', item })}>Revisions</button>}
                        <button onClick={() => setDialog({ kind: 'rename', item })}>Rename</button>
                        <button onClick={() => setDialog({ kind: 'move', item })}>Move</button>
                        <button className="danger" onClick={() => run(() => api.request('mutation($id: ID!) { deleteFile(id: $id) { id } }', { id: item.id }))}>Delete</button>
                      </>}
                    </>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {sorted.length === 0 && <p className="empty muted">{view.kind === 'trash' ? 'The trash is empty.' : view.kind === 'shared' ? 'Nothing is shared with you yet.' : 'This folder is empty. Drop files or folders here to upload them.'}</p>}
        </>}
      </main>
      {dragging && target && <div className="dropzone">Drop to upload here</div>}
      <UploadPanel uploads={uploads} remote={remoteUploads} />
      {dialog?.kind === 'folder' && view.kind === 'files' && (
        <Dialog title="New folder" label="Folder name" initial="" submit="Create" onClose={() => setDialog(null)}
          onSubmit={(name) => run(() => api.request('mutation($path: String!) { createFolder(path: $path) { id } }', { path: joinPath(view.path, name) }))} />
      )}
      {dialog?.kind === 'rename' && (
        <Dialog title={`Rename ${dialog.item.name}`} label="New name" initial={dialog.item.name} submit="Rename" onClose={() => setDialog(null)}
          onSubmit={(name) => run(() => api.request('mutation($id: ID!, $toPath: String!) { moveFile(id: $id, toPath: $toPath) { id } }', { id: dialog.item.id, toPath: joinPath(parentOf(dialog.item.path), name) }))} />
      )}
      {dialog?.kind === 'move' && (
        <Dialog title={`Move ${dialog.item.name}`} label="Into folder (path)" initial={parentOf(dialog.item.path)} submit="Move" onClose={() => setDialog(null)}
          onSubmit={(folder) => run(() => api.request('mutation($id: ID!, $toPath: String!) { moveFile(id: $id, toPath: $toPath) { id } }', { id: dialog.item.id, toPath: joinPath(folder.replace(/\/+$/, '') || '/', dialog.item.name) }))} />
      )}
      {dialog?.kind === 'share' && <ShareDialog item={dialog.item} onClose={() => setDialog(null)} />}
      {dialog?.kind === 'revisions' && <RevisionsDialog item={dialog.item} onClose={() => setDialog(null)} onRestored={() => void load()} />}
    </div>
  );
}

function Breadcrumbs({ view, go }: { view: View; go: (v: View) => void }) {
  if (view.kind === 'trash') return <h1 className="crumbs">Trash</h1>;
  if (view.kind === 'devices') return <h1 className="crumbs">Devices</h1>;
  if (view.kind === 'shared') {
    return <h1 className="crumbs"><a href="/shared" onClick={(e) => { e.preventDefault(); go({ kind: 'shared' }); }}>Shared with me</a>{view.folder && <> / <span>{view.folder.name}</span></>}</h1>;
  }
  const parts = view.path.split('/').filter(Boolean);
  return (
    <nav className="crumbs" aria-label="Breadcrumbs">
      <a href="/files" onClick={(e) => { e.preventDefault(); go({ kind: 'files', path: '/' }); }}>My files</a>
      {parts.map((p, i) => {
        const path = '/' + parts.slice(0, i + 1).join('/');
        return <span key={path}> / {i === parts.length - 1 ? <span aria-current="page">{p}</span>
          : <a href={urlOf({ kind: 'files', path })} onClick={(e) => { e.preventDefault(); go({ kind: 'files', path }); }}>{p}</a>}</span>;
      })}
    </nav>
  );
}
