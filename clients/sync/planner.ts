import { sameContent, sameStat, type LocalEntry, type RemoteEntry, type SyncedEntry, type Tree } from './entries';
import { findFolderMoves } from './folder-moves';
import { conflictedCopyPath, isInside } from './paths';

/**
 * One step of a sync plan, on relative paths. `local` / `remote` are what the planner saw there
 * (the executor checks the local side again right before it acts, and gives up on the path if it
 * changed: the next cycle plans it again).
 */
export type Action =
  | { type: 'upload'; path: string; local: LocalEntry; baseRevision: number }
  | { type: 'download'; path: string; remote: RemoteEntry; local?: LocalEntry }
  | { type: 'mkdirLocal'; path: string; remote: RemoteEntry }
  | { type: 'mkdirRemote'; path: string; local: LocalEntry }
  | { type: 'deleteLocal'; path: string; local: LocalEntry }
  | { type: 'deleteRemote'; path: string; remote: RemoteEntry }
  /** The local entry at `path` moves to `copyPath` (and is uploaded there); the remote one then takes `path`. */
  | { type: 'conflict'; path: string; copyPath: string; local: LocalEntry; remote: RemoteEntry }
  /**
   * A download whose bytes are already here, in a file being deleted: rename `from` to `path`.
   * For a folder (moved on the server as a whole): rename the folder with all it holds.
   */
  | { type: 'moveLocal'; from: string; path: string; local: LocalEntry; remote: RemoteEntry }
  /**
   * An upload whose content is the remote file being deleted at `from`: move it on the server.
   * For a folder (moved here as a whole): one move of the folder, which keeps its files' ids and revisions.
   */
  | { type: 'moveRemote'; from: string; path: string; local: LocalEntry; remote: RemoteEntry }
  /** Both sides agree: write (or with neither, forget) the synced entry. */
  | { type: 'record'; path: string; local?: LocalEntry; remote?: RemoteEntry };

export interface PlanOptions {
  /** Names conflicted copies. */
  deviceName: string;
  now: Date;
}

/**
 * The sync plan from the three trees, in execution order: folder moves, conflicts and records,
 * mkdirs (parents first), file moves, transfers, then deletions (files, then folders deepest
 * first). Pure: no I/O. A folder moved as a whole on one side is one move (see findFolderMoves);
 * what differs inside it is then planned at its new path. Per path: unchanged on both sides -> nothing; changed on one side -> propagate;
 * both changed to the same thing -> record; both changed differently -> conflicted copy of the
 * local one; an edit beats a delete; a folder deleted on one side survives while the other side
 * holds something new or changed in it. A folder one side replaced by a file (or the reverse)
 * is replaced on the other side, its contents deleted first; when that side has something new
 * or changed inside the folder, the two are a conflict instead (a local folder is moved aside
 * whole, and nothing else is planned inside it this pass).
 */
export function planSync(localNow: Tree<LocalEntry>, remoteNow: Tree<RemoteEntry>, syncedNow: Tree<SyncedEntry>, opts: PlanOptions): Action[] {
  const { moves, local, remote, synced } = findFolderMoves(localNow, remoteNow, syncedNow);
  const folderMoves: Action[] = moves.map((m) => ({ type: m.side === 'remote' ? 'moveLocal' : 'moveRemote', from: m.from, path: m.to, local: m.local, remote: m.remote }));
  const actions: Action[] = [];
  const copies = new Set<string>();
  const taken = (p: string) => local.has(p) || remote.has(p) || synced.has(p) || localNow.has(p) || remoteNow.has(p) || copies.has(p);
  const paths = new Set([...local.keys(), ...remote.keys(), ...synced.keys()]);

  for (const path of paths) {
    const L = local.get(path);
    const R = remote.get(path);
    const S = synced.get(path);
    if (sameContent(L, R)) {
      if (!L || !R) {
        if (S) actions.push({ type: 'record', path });
      } else if (!S || !sameContent(S, L) || S.fileId !== R.fileId || S.revision !== R.revision || (L.kind === 'file' && (!sameStat(S, L) || (L.ino !== undefined && S.ino !== L.ino)))) {
        actions.push({ type: 'record', path, local: L, remote: R });
      }
      continue;
    }
    // a folder the other side replaced by a file counts as changed while anything inside it is new or edited
    // (a folder moved into it counts too: the move is planned apart, from trees without it)
    const movedIn = (side: 'local' | 'remote') => moves.some((m) => m.side === side && isInside(m.to, path));
    const localChanged = !sameContent(L, S) || (L?.kind === 'folder' && R?.kind === 'file' && (changedInside(local, synced, path) || movedIn('local')));
    const remoteChanged = !sameContent(R, S) || (R?.kind === 'folder' && L?.kind === 'file' && (changedInside(remote, synced, path) || movedIn('remote')));
    if (!localChanged) {
      if (!R) actions.push({ type: 'deleteLocal', path, local: L! });
      else actions.push(...materialiseRemote(path, R, L));
    } else if (!remoteChanged) {
      if (!L) actions.push({ type: 'deleteRemote', path, remote: R! });
      else actions.push(...materialiseLocal(path, L, R));
    } else if (L && R) {
      const copyPath = conflictedCopyPath(path, opts.deviceName, opts.now, taken);
      copies.add(copyPath);
      actions.push({ type: 'conflict', path, copyPath, local: L, remote: R });
    } else if (R) {
      actions.push(...materialiseRemote(path, R, undefined));
    } else {
      actions.push(...materialiseLocal(path, L!, undefined));
    }
  }
  return [...folderMoves, ...order(keepFoldersInUse(useMoves(withoutInsideAside(actions)), local, remote))];
}

/** Something at or under `folder` in `tree` that the synced tree does not hold as it is (new or edited; deletions do not count). */
function changedInside<E extends LocalEntry | RemoteEntry>(tree: Tree<E>, synced: Tree<SyncedEntry>, folder: string): boolean {
  for (const [p, e] of tree) if (isInside(p, folder) && !sameContent(e, synced.get(p))) return true;
  return false;
}

/**
 * A conflict that moves a local folder aside (to its conflicted-copy name) takes everything
 * inside it along: the actions planned inside it are dropped (the next pass plans them at the
 * copy's path), so none acts on a path that is a file by then.
 */
function withoutInsideAside(actions: Action[]): Action[] {
  const aside = actions.filter((a) => a.type === 'conflict' && a.local.kind === 'folder').map((a) => a.path);
  if (aside.length === 0) return actions;
  const inside = (p: string) => aside.some((f) => isInside(p, f));
  return actions.filter((a) => !inside(a.path) && !('from' in a && inside(a.from)));
}

function materialiseRemote(path: string, R: RemoteEntry, L: LocalEntry | undefined): Action[] {
  const out: Action[] = [];
  if (L && L.kind !== R.kind) out.push({ type: 'deleteLocal', path, local: L });
  out.push(R.kind === 'folder' ? { type: 'mkdirLocal', path, remote: R } : { type: 'download', path, remote: R, local: L?.kind === 'file' ? L : undefined });
  return out;
}

function materialiseLocal(path: string, L: LocalEntry, R: RemoteEntry | undefined): Action[] {
  const out: Action[] = [];
  if (R && R.kind !== L.kind) out.push({ type: 'deleteRemote', path, remote: R });
  out.push(L.kind === 'folder' ? { type: 'mkdirRemote', path, local: L }
    : { type: 'upload', path, local: L, baseRevision: R && R.kind === 'file' ? R.revision : 0 });
  return out;
}

/** Downloads of content a file being deleted locally holds become renames; likewise uploads and remote deletions. */
function useMoves(actions: Action[]): Action[] {
  const localDeletes = new Map<string, Extract<Action, { type: 'deleteLocal' }>[]>();
  const remoteDeletes = new Map<string, Extract<Action, { type: 'deleteRemote' }>[]>();
  // a path whose entry of the other kind is deleted first (see order) takes part in no rename:
  // the deletion runs before renames, so the rename's target is not free yet, and a source
  // inside it would be gone (a folder flattened into its file, a folder replaced by a file)
  const cleared = clearingDeletes(actions);
  const inCleared = (p: string) => cleared.has(p) || [...cleared].some((c) => isInside(p, c));
  for (const a of actions) {
    if (a.type === 'deleteLocal' && a.local.kind === 'file' && a.local.contentHash && !inCleared(a.path)) push(localDeletes, a.local.contentHash, a);
    if (a.type === 'deleteRemote' && a.remote.kind === 'file' && a.remote.contentHash && !inCleared(a.path)) push(remoteDeletes, a.remote.contentHash, a);
  }
  const used = new Set<Action>();
  const out: Action[] = [];
  for (const a of actions) {
    if (a.type === 'download' && !a.local && a.remote.contentHash && !cleared.has(a.path)) {
      const d = localDeletes.get(a.remote.contentHash)?.find((x) => !used.has(x));
      if (d) {
        used.add(d);
        out.push({ type: 'moveLocal', from: d.path, path: a.path, local: d.local, remote: a.remote });
        continue;
      }
    }
    if (a.type === 'upload' && a.baseRevision === 0 && a.local.contentHash && !cleared.has(a.path)) {
      const d = remoteDeletes.get(a.local.contentHash)?.find((x) => !used.has(x));
      if (d) {
        used.add(d);
        out.push({ type: 'moveRemote', from: d.path, path: a.path, local: a.local, remote: d.remote });
        continue;
      }
    }
    out.push(a);
  }
  return out.filter((a) => !used.has(a));
}

/**
 * A folder deleted on one side while the other side has something new or changed inside it is
 * not deleted: it is re-created on the side that deleted it. A remote folder deletion that
 * takes its whole subtree is one call: the descendants' own deletions are dropped (the executor
 * forgets the subtree once the folder is gone).
 */
function keepFoldersInUse(actions: Action[], local: Tree<LocalEntry>, remote: Tree<RemoteEntry>): Action[] {
  const goneLocal = new Set<string>();
  const goneRemote = new Set<string>();
  const newLocal = new Set<string>();
  const newRemote = new Set<string>();
  for (const a of actions) {
    if (a.type === 'deleteLocal') goneLocal.add(a.path);
    if (a.type === 'deleteRemote') goneRemote.add(a.path);
    if (a.type === 'moveLocal') { goneLocal.add(a.from); newLocal.add(a.path); }
    if (a.type === 'moveRemote') { goneRemote.add(a.from); newRemote.add(a.path); }
    if (a.type === 'download' || a.type === 'mkdirLocal' || a.type === 'conflict') newLocal.add(a.path);
    if (a.type === 'upload' || a.type === 'mkdirRemote') newRemote.add(a.path);
    if (a.type === 'conflict') { newLocal.add(a.copyPath); newRemote.add(a.copyPath); }
  }
  const survives = (folder: string, tree: Iterable<string>, gone: Set<string>, added: Set<string>) =>
    [...tree].some((p) => isInside(p, folder) && !gone.has(p)) || [...added].some((p) => isInside(p, folder));
  const subsumed = new Set<string>();
  const out = actions.map((a): Action => {
    if (a.type === 'deleteLocal' && a.local.kind === 'folder' && !remote.has(a.path) && survives(a.path, local.keys(), goneLocal, newLocal)) {
      return { type: 'mkdirRemote', path: a.path, local: a.local };
    }
    if (a.type === 'deleteRemote' && a.remote.kind === 'folder' && !local.has(a.path)) {
      if (survives(a.path, remote.keys(), goneRemote, newRemote)) return { type: 'mkdirLocal', path: a.path, remote: a.remote };
      subsumed.add(a.path);
    }
    return a;
  });
  return out.filter((a) => !(a.type === 'deleteRemote' && [...subsumed].some((f) => isInside(a.path, f))));
}

/** Paths deleted to clear the way for an entry of the other kind (a folder or file created, uploaded or downloaded there). */
function clearingDeletes(actions: Action[]): Set<string> {
  const made = new Set(actions.filter((a) => a.type === 'mkdirLocal' || a.type === 'mkdirRemote' || a.type === 'upload' || a.type === 'download').map((a) => a.path));
  return new Set(actions.filter((a) => (a.type === 'deleteLocal' || a.type === 'deleteRemote') && made.has(a.path)).map((a) => a.path));
}

const depth = (p: string) => p.split('/').length;

function phase(a: Action): number {
  switch (a.type) {
    case 'record': case 'conflict': return 0;
    case 'mkdirLocal': case 'mkdirRemote': return 2;
    case 'moveLocal': case 'moveRemote': return 3;
    case 'upload': case 'download': return 4;
    case 'deleteRemote': return 5;
    case 'deleteLocal': return a.local.kind === 'file' ? 6 : 7;
  }
}

/**
 * Execution order; a delete that clears the way for a folder or file of the other kind comes
 * first, after the deletions inside it (deepest first), so a folder is empty when it goes.
 */
function order(actions: Action[]): Action[] {
  const isDelete = (a: Action) => a.type === 'deleteLocal' || a.type === 'deleteRemote';
  const clearing = clearingDeletes(actions);
  const insideClearing = (p: string) => clearing.size > 0 && [...clearing].some((c) => isInside(p, c));
  const rank = (a: Action) => (isDelete(a) && (clearing.has(a.path) || insideClearing(a.path)) ? 1 : phase(a));
  return actions
    .map((a, i) => ({ a, i }))
    .sort((x, y) => rank(x.a) - rank(y.a)
      || (rank(x.a) === 7 || rank(x.a) === 1 ? depth(y.a.path) - depth(x.a.path) : rank(x.a) === 2 || rank(x.a) === 5 ? depth(x.a.path) - depth(y.a.path) : 0)
      || x.i - y.i)
    .map(({ a }) => a);
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}
