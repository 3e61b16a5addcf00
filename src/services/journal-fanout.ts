import type { EntityManager } from 'typeorm';
import { FileNode, Mount, Share, type ChangeKind } from '../entities';
import { pathKey } from './paths';
import { locksRows } from './tx';

/**
 * Which grantees' namespaces a change is copied into, and as what.
 *
 * Design: every user reads exactly one namespace, their own. A change in Alice's tree is
 * appended to Alice's namespace and, in the same transaction, copied into the namespace of
 * every user who can see it through a share. Each namespace keeps its own gapless sequence, so
 * a grantee's feed is exactly as gapless as an owner's, a revoked share simply stops the copies,
 * and a cursor is one number per reader.
 *
 * What a grantee sees (at the grantee's own paths: through their mount of the shared node, see
 * `toMemberPaths`; the owner's path only where no mount covers it):
 * - CREATED / UPDATED / RESTORED / DELETED / MOVED of an item under a folder shared with them;
 * - SHARED for every item of a subtree that becomes visible (a share, a move into a shared
 *   folder), parents first; UNSHARED for every item that stops being visible, children first.
 *   Items the grantee still reaches through another share are left out.
 * - A move or delete of a folder that contains something shared with them (but is not itself
 *   visible to them): MOVED / DELETED of the top-most shared item inside it.
 *
 * Race-free with share changes: the caller holds the owner's journal head lock, and the share
 * and subtree reads below are locking reads (they see the latest commit, not a snapshot), so a
 * share committed just before is seen here and an item committed just before is seen by a share.
 */
export interface FanoutEntry {
  namespaceId: string;
  kind: ChangeKind;
  fileId: string;
  path: string;
  fromPath: string | null;
  revision: number;
  isFolder: boolean;
}

export interface FanoutInput {
  kind: ChangeKind;
  file: Pick<FileNode, 'id' | 'ownerId' | 'path' | 'revision' | 'isFolder'>;
  fromPath?: string | null;
  subjectUserId?: string | null;
}

interface GrantRow {
  userId: string;
  fileId: string;
  path: string;
  status: string;
  isFolder: boolean;
  revision: number;
}

type Item = Pick<FileNode, 'id' | 'path' | 'revision' | 'isFolder'>;

const ancestorOrSelf = (a: string, p: string) => a === p || p.startsWith(a + '/');
const inside = (p: string, folder: string) => p.startsWith(folder + '/');

export async function fanOut(m: EntityManager, input: FanoutInput): Promise<FanoutEntry[]> {
  const raw = await grantEntries(m, input);
  return raw.length ? toMemberPaths(m, input, raw) : [];
}

/** An entry in the owner's coordinates; `old`: its path is from before a move (a move out of sight). */
type RawEntry = FanoutEntry & { old?: boolean };

/**
 * Rewrites owner paths into each grantee's own paths through their mounts (one query for all
 * grantees): mount path + the path below the shared node (the outermost mount when shares
 * nest; a mount of a live shared node before one of a trashed one). Old paths of a move are mapped through where the shared node was before the move. A
 * MOVED that the grantee cannot see (the owner moved the shared node itself) is dropped.
 */
async function toMemberPaths(m: EntityManager, input: FanoutInput, raw: RawEntry[]): Promise<FanoutEntry[]> {
  const members = [...new Set(raw.map((e) => e.namespaceId))];
  const rows = await m.getRepository(Mount).createQueryBuilder('x').innerJoin(FileNode, 'f', 'f.id = x.fileId')
    .select('x.memberId', 'memberId').addSelect('x.path', 'mountPath').addSelect('f.path', 'rootPath').addSelect('f.status', 'status')
    .where('x.ownerId = :owner AND x.memberId IN (:...members)', { owner: input.file.ownerId, members })
    .getRawMany<{ memberId: string; mountPath: string; rootPath: string; status: string }>();
  const moved = input.kind === 'MOVED' && input.fromPath ? { from: input.fromPath, to: input.file.path } : null;
  const before = (root: string) => (moved && ancestorOrSelf(moved.to, root) ? moved.from + root.slice(moved.to.length) : root);
  // through live shared folders first; through trashed ones only when none is live (the entries of a trash itself)
  const tr = (g: string, p: string, old: boolean) => {
    let best: { mountPath: string; root: string; live: boolean } | null = null;
    for (const r of rows) {
      if (r.memberId !== g) continue;
      const root = old ? before(r.rootPath) : r.rootPath;
      const live = r.status === 'AVAILABLE';
      if (!ancestorOrSelf(root, p)) continue;
      if (!best || (live && !best.live) || (live === best.live && root.length < best.root.length)) best = { mountPath: r.mountPath, root, live };
    }
    return best ? best.mountPath + p.slice(best.root.length) : p;
  };
  const out: FanoutEntry[] = [];
  for (const { old, ...e } of raw) {
    const path = tr(e.namespaceId, e.path, Boolean(old));
    const fromPath = e.fromPath === null ? null : tr(e.namespaceId, e.fromPath, true);
    if (e.kind === 'MOVED' && fromPath === path) continue;
    out.push({ ...e, path, fromPath });
  }
  return out;
}

async function grantEntries(m: EntityManager, input: FanoutInput): Promise<RawEntry[]> {
  const node = input.file;
  const owner = node.ownerId;
  const grants = await sharesOf(m, owner);
  const entry = (g: string, kind: ChangeKind, it: Item, fromPath: string | null = null): FanoutEntry =>
    ({ namespaceId: g, kind, fileId: it.id, path: it.path, fromPath, revision: it.revision, isFolder: it.isFolder });
  let subtreeCache: Item[] | undefined;
  const subtree = async () => (subtreeCache ??= [node, ...(node.isFolder ? await descendants(m, owner, node.path) : [])]);

  if (input.kind === 'SHARED' || input.kind === 'UNSHARED') {
    const g = input.subjectUserId;
    if (!g || g === owner) return [];
    const fresh = await m.findOneBy(FileNode, { id: node.id });
    if (!fresh || fresh.status === 'DELETED') return [];
    // visible before a share / still visible after an unshare: through another share
    const others = grants.filter((s) => s.userId === g && s.fileId !== node.id && s.status !== 'DELETED');
    const items = (await subtree()).filter((it) => !others.some((s) => ancestorOrSelf(s.path, it.path)));
    const out = items.map((it) => entry(g, input.kind, it));
    return input.kind === 'UNSHARED' ? out.reverse() : out;
  }

  const byUser = new Map<string, GrantRow[]>();
  for (const s of grants) if (s.userId !== owner) byUser.set(s.userId, [...(byUser.get(s.userId) ?? []), s]);
  const oldPath = input.kind === 'MOVED' && input.fromPath ? input.fromPath : node.path;
  const out: RawEntry[] = [];
  for (const [g, all] of byUser) {
    const self = all.some((s) => s.fileId === node.id);
    // shares on the node's subtree (its current paths) and on its ancestors
    const inSubtree = node.isFolder ? all.filter((s) => s.fileId !== node.id && inside(s.path, node.path)) : [];
    const above = all.filter((s) => s.fileId !== node.id && s.status !== 'DELETED' && !inSubtree.includes(s));
    const seesNew = self || above.some((s) => ancestorOrSelf(s.path, node.path));
    if (input.kind !== 'MOVED' && input.kind !== 'DELETED') {
      if (seesNew) out.push(entry(g, input.kind, node));
      continue;
    }
    if (input.kind === 'DELETED') {
      if (seesNew) out.push(entry(g, 'DELETED', node));
      else for (const s of topmost(inSubtree)) out.push(entry(g, 'DELETED', { id: s.fileId, path: s.path, isFolder: s.isFolder, revision: s.revision }));
      continue;
    }
    const seesOld = self || above.some((s) => ancestorOrSelf(s.path, oldPath));
    if (seesOld && seesNew) { out.push(entry(g, 'MOVED', node, oldPath)); continue; }
    const live = inSubtree.filter((s) => s.status !== 'DELETED');
    if (!seesOld && !seesNew && !live.length) continue;
    const items = await subtree();
    const covered = (it: Item) => live.some((s) => ancestorOrSelf(s.path, it.path));
    const fromOf = (p: string) => oldPath + p.slice(node.path.length);
    for (const s of topmost(live)) {
      const it = items.find((i) => i.id === s.fileId);
      if (it) out.push(entry(g, 'MOVED', it, fromOf(it.path)));
    }
    const rest = items.filter((it) => !covered(it));
    if (seesOld) out.push(...rest.reverse().map((it) => ({ ...entry(g, 'UNSHARED', it), path: fromOf(it.path), old: true })));
    if (seesNew) out.push(...rest.map((it) => entry(g, 'SHARED', it)));
  }
  return out;
}

/** Shares that do not sit inside another share of the same list. */
function topmost(shares: GrantRow[]): GrantRow[] {
  return shares.filter((s) => !shares.some((o) => o !== s && inside(s.path, o.path)));
}

/** Every share the owner has made, with its file's current path (a locking read). */
/** The owner's shares with their nodes (a locking read, see above); empty: no change of theirs fans out. */
export async function sharesOf(m: EntityManager, ownerId: string): Promise<GrantRow[]> {
  const qb = m.getRepository(Share).createQueryBuilder('s')
    .innerJoin(FileNode, 'f', 'f.id = s.fileId')
    .select('s.userId', 'userId').addSelect('s.fileId', 'fileId').addSelect('f.path', 'path').addSelect('f.status', 'status')
    .addSelect('f.isFolder', 'isFolder').addSelect('f.revision', 'revision')
    .where('s.ownerId = :ownerId', { ownerId });
  if (locksRows(m)) qb.setLock('pessimistic_read');
  const rows = await qb.getRawMany<GrantRow>();
  return rows.map((r) => ({ ...r, isFolder: Boolean(Number(r.isFolder)), revision: Number(r.revision) }));
}

/** Live descendants of a folder, parents first (a locking read). */
async function descendants(m: EntityManager, ownerId: string, folderPath: string): Promise<Item[]> {
  const out: Item[] = [];
  let frontier = [folderPath];
  while (frontier.length) {
    const keys = frontier.map(pathKey);
    const children: FileNode[] = [];
    for (let i = 0; i < keys.length; i += 500) {
      const qb = m.getRepository(FileNode).createQueryBuilder('f')
        .where('f.ownerId = :ownerId AND f.parentKey IN (:...keys) AND f.pathKey IS NOT NULL', { ownerId, keys: keys.slice(i, i + 500) })
        .orderBy('f.path', 'ASC');
      if (locksRows(m)) qb.setLock('pessimistic_read');
      children.push(...await qb.getMany());
    }
    out.push(...children);
    frontier = children.filter((c) => c.isFolder).map((c) => c.path);
  }
  return out;
}
