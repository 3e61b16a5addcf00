import { sameContent, type LocalEntry, type RemoteEntry, type SyncedEntry, type Tree } from './entries';
import { isInside } from './paths';

/**
 * A folder that moved as a whole on one side: `side` 'remote' moved it on the server (rename it
 * here), 'local' moved it here (one `moveFile` on the server). `local` / `remote` are the
 * folder's entries (local at `from` for a remote move, at `to` for a local one).
 */
export interface FolderMove { side: 'local' | 'remote'; from: string; to: string; local: LocalEntry; remote: RemoteEntry }

/** The moves, and the three trees as they will be once the moves are done (inputs are not modified). */
export interface FolderMoves {
  moves: FolderMove[];
  local: Tree<LocalEntry>;
  remote: Tree<RemoteEntry>;
  synced: Tree<SyncedEntry>;
}

/**
 * Finds folders moved as a whole, so that each is one rename instead of one per file.
 *
 * Remote moves are known by file id: a synced folder whose id the remote tree now holds at
 * another path, while the local folder is still at the old path and nothing is at the new one.
 *
 * Local moves are guessed from content: a synced folder gone locally (its remote folder still
 * where it was synced) and a new local folder (neither synced nor remote) match when more than
 * half of the synced folder's descendants and more than half of the new folder's descendants
 * are the same relative path with the same content (files: same hash; folders: a folder), or
 * when the two paths differ only in case. Biggest matches win; each folder is used once, and
 * never together with its ancestor or descendant. A wrong guess loses nothing: the planner
 * reconciles the moved subtree path by path afterwards (deleting remotely only what was synced,
 * with its revision; uploading what is new).
 *
 * Inside a moved folder, local changes and remote changes stay to be planned as usual on the
 * returned trees (local and synced re-keyed for a remote move; remote and synced for a local one).
 */
export function findFolderMoves(local: Tree<LocalEntry>, remote: Tree<RemoteEntry>, synced: Tree<SyncedEntry>): FolderMoves {
  const trees = { local, remote, synced };
  const copied = new Set<string>();
  const edit = <K extends keyof typeof trees>(k: K): (typeof trees)[K] => {
    if (!copied.has(k)) {
      copied.add(k);
      trees[k] = new Map(trees[k] as Map<string, never>) as (typeof trees)[K];
    }
    return trees[k];
  };
  const moves: FolderMove[] = [];

  const remoteFolders = new Map<string, string>();
  for (const [p, e] of remote) if (e.kind === 'folder') remoteFolders.set(e.fileId, p);
  const syncedFolders = [...synced].filter(([, s]) => s.kind === 'folder').sort(([a], [b]) => depth(a) - depth(b));
  for (const [original, s] of syncedFolders) {
    const to = remoteFolders.get(s.fileId);
    if (to === undefined) continue;
    let from = original;
    for (const m of moves) if (from === m.from || isInside(from, m.from)) from = m.to + from.slice(m.from.length);
    const L = trees.local.get(from);
    if (from === to || L?.kind !== 'folder' || trees.local.has(to) || isInside(to, from)) continue;
    moves.push({ side: 'remote', from, to, local: L, remote: remote.get(to)! });
    rekey(edit('local'), from, to);
    rekey(edit('synced'), from, to);
  }
  for (const m of localMoves(trees.local, trees.remote, trees.synced)) {
    moves.push(m);
    rekey(edit('remote'), m.from, m.to);
    rekey(edit('synced'), m.from, m.to);
  }
  return { moves, ...trees };
}

function localMoves(local: Tree<LocalEntry>, remote: Tree<RemoteEntry>, synced: Tree<SyncedEntry>): FolderMove[] {
  const sources = new Set<string>();
  for (const [p, s] of synced) {
    const R = remote.get(p);
    if (s.kind === 'folder' && !local.has(p) && R?.kind === 'folder' && R.fileId === s.fileId) sources.add(p);
  }
  const targets = new Set<string>();
  for (const [p, l] of local) if (l.kind === 'folder' && !synced.has(p) && !remote.has(p)) targets.add(p);
  if (sources.size === 0 || targets.size === 0) return [];

  const sourceItems = descendants(synced, sources);
  const targetItems = descendants(local, targets);
  const pairs: { from: string; to: string; matched: number; caseOnly: boolean }[] = [];
  for (const from of sources) {
    const s = sourceItems.get(from)!;
    for (const to of targets) {
      const l = targetItems.get(to)!;
      const caseOnly = from.toLowerCase() === to.toLowerCase();
      if (!caseOnly && 2 * Math.min(s.size, l.size) <= Math.max(s.size, l.size)) continue;
      let matched = 0;
      for (const [rel, e] of s) if (sameContent(e, l.get(rel))) matched++;
      if (caseOnly || (2 * matched > s.size && 2 * matched > l.size)) pairs.push({ from, to, matched, caseOnly });
    }
  }
  pairs.sort((a, b) => b.matched - a.matched || Number(b.caseOnly) - Number(a.caseOnly) || depth(a.from) - depth(b.from)
    || (a.from < b.from ? -1 : a.from > b.from ? 1 : a.to < b.to ? -1 : a.to > b.to ? 1 : 0));
  const related = (x: string, y: string) => x === y || isInside(x, y) || isInside(y, x);
  const chosen: FolderMove[] = [];
  for (const p of pairs) {
    if (chosen.some((c) => related(c.from, p.from) || related(c.to, p.to))) continue;
    chosen.push({ side: 'local', from: p.from, to: p.to, local: local.get(p.to)!, remote: remote.get(p.from)! });
  }
  return chosen;
}

/** For each folder in `roots`: its descendants in `tree`, keyed by path relative to it. */
function descendants<E>(tree: Tree<E>, roots: Set<string>): Map<string, Map<string, E>> {
  const out = new Map<string, Map<string, E>>([...roots].map((r) => [r, new Map<string, E>()]));
  for (const [p, e] of tree) {
    for (let i = p.lastIndexOf('/'); i > 0; i = p.lastIndexOf('/', i - 1)) {
      out.get(p.slice(0, i))?.set(p.slice(i), e);
    }
  }
  return out;
}

/** Moves the entries at and under `from` to `to`, replacing what was at and under `to`. */
export function rekey<E>(tree: Tree<E>, from: string, to: string): void {
  const moved: [string, E][] = [];
  for (const [p, e] of tree) if (p === from || isInside(p, from)) moved.push([to + p.slice(from.length), e]);
  for (const p of [...tree.keys()]) if (p === from || isInside(p, from) || p === to || isInside(p, to)) tree.delete(p);
  for (const [p, e] of moved) tree.set(p, e);
}

const depth = (p: string) => p.split('/').length;
