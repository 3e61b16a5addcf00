import { Brackets, In, type DataSource, type EntityManager } from 'typeorm';
import { Change, FileNode, Mount, Share } from '../entities';
import { AppError, badInput } from './errors';
import type { JournalService } from './journal';
import { lockOwner, transaction } from './tx';
import { decodeKeyset, encodeKeyset, toPage, type Page } from './files';
import { ROOT, ancestorsOf, isInside, nameOf, normalisePath, parentKeyOf, parentOf, pathKey } from './paths';

/** Where a path of a user's tree lives: in their own tree, or inside a mount (the shared node's owner's tree). */
export interface Resolved {
  ownerId: string;
  ownerPath: string;
  /** The mount the path crosses, with its shared node as it is now; null for the user's own tree. */
  mount: { mount: Mount; root: FileNode | null } | null;
}

/** A user's mounts with their shared nodes, to present foreign nodes at the user's own paths. */
export class MountIndex {
  constructor(readonly userId: string, readonly mounts: { mount: Mount; root: FileNode }[]) {}

  /**
   * Where `node` (any owner's) appears in this user's tree: its own path for the user's own
   * nodes; mount path + the node's path below the shared node otherwise (the outermost mount
   * when shares nest); null when no mount covers it.
   */
  view(node: Pick<FileNode, 'id' | 'ownerId' | 'path' | 'name'>): { path: string; name: string } | null {
    if (node.ownerId === this.userId) return { path: node.path, name: node.name };
    let best: { mount: Mount; root: FileNode } | null = null;
    for (const x of this.mounts) {
      if (x.root.ownerId !== node.ownerId) continue;
      if (x.root.id !== node.id && x.root.path !== node.path && !isInside(node.path, x.root.path)) continue;
      // a trashed shared folder presents nothing, not even a live folder restored out of it (it has its own mount)
      if (x.root.id !== node.id && x.root.status !== 'AVAILABLE') continue;
      if (!best || x.root.path.length < best.root.path.length) best = x;
    }
    if (!best) return null;
    if (best.root.id === node.id || best.root.path === node.path) return { path: best.mount.path, name: best.mount.name };
    return { path: best.mount.path + node.path.slice(best.root.path.length), name: node.name };
  }
}

/**
 * Mounts: a file or folder shared with a member appears in the member's own tree at
 * `/<name>` (` (2)`, ` (3)`… when taken), and the member may move it within their own tree.
 * Path-based operations go through `resolve`; nodes and change paths are presented through
 * `index(...).view`. A mount is created with its share and removed with it (`unshareIn`).
 */
export class MountService {
  constructor(private readonly ds: DataSource, private readonly journal: JournalService) {}

  /**
   * Resolves a path of `userId`'s tree (normalised here: BAD_USER_INPUT if malformed). A path at
   * or below a mount lands in the shared node's owner's tree; `mount.root` is null or not live
   * when the shared node is gone (callers answer NOT_FOUND). One indexed query, plus one when a
   * mount is crossed.
   */
  async resolve(userId: string, path: string, m: EntityManager = this.ds.manager): Promise<Resolved> {
    const p = normalisePath(path);
    if (p === ROOT) return { ownerId: userId, ownerPath: ROOT, mount: null };
    const keys = [p, ...ancestorsOf(p)].map(pathKey);
    return this.resolveIn(m, userId, p, await m.getRepository(Mount).findBy({ memberId: userId, pathKey: In(keys) }));
  }

  /**
   * For a listing: resolves `path` (as `resolve`) and, in the same query, finds the mounts shown
   * directly in it when it is a folder of the user's own tree (with their live shared nodes).
   */
  async listing(userId: string, path: string): Promise<{ resolved: Resolved; mounted: { mount: Mount; root: FileNode }[] }> {
    const p = normalisePath(path);
    const keys = p === ROOT ? [] : [p, ...ancestorsOf(p)].map(pathKey);
    const rows = await this.ds.getRepository(Mount).createQueryBuilder('x').where('x.memberId = :userId', { userId })
      .andWhere(new Brackets((w) => {
        w.where(p === ROOT ? 'x.parentKey IS NULL' : 'x.parentKey = :parent', { parent: p === ROOT ? null : pathKey(p) });
        if (keys.length) w.orWhere('x.pathKey IN (:...keys)', { keys });
      })).getMany();
    const hits = rows.filter((x) => keys.includes(x.pathKey));
    if (hits.length) return { resolved: await this.resolveIn(this.ds.manager, userId, p, hits), mounted: [] };
    const roots = rows.length ? await this.ds.getRepository(FileNode).findBy({ id: In(rows.map((x) => x.fileId)), status: 'AVAILABLE' }) : [];
    const byId = new Map(roots.map((r) => [r.id, r]));
    const live = rows.flatMap((mount) => (byId.has(mount.fileId) ? [{ mount, root: byId.get(mount.fileId)! }] : []));
    const outer = live.length ? await this.liveRoots(this.ds.manager, userId, [...new Set(live.map((x) => x.mount.ownerId))]) : [];
    return { resolved: { ownerId: userId, ownerPath: p, mount: null }, mounted: live.filter((x) => !coveredBy(x.root, outer)) };
  }

  /**
   * A folder of the member's own tree that holds mounts: its children and the mounts (named as
   * mounted) in ONE ordered query (a UNION), so the database orders and pages both as it orders
   * any listing (its collation: byte order on SQLite, case-insensitive on a `_ci` MariaDB
   * column; ties by id in the id column's order). A JavaScript merge could not: it would page
   * differently from the database and skip or repeat entries. `ownerId` is the member (the
   * folder's owner), `mounted` the mounts shown in folder `p` (from `listing`).
   */
  async listMerged(ownerId: string, p: string, limit: number, after: string | null | undefined,
    mounted: { mount: { id: string; name: string }; root: FileNode }[]): Promise<Page<FileNode>> {
    const start = after ? decodeKeyset(after) : null;
    const keyset = (name: string, id: string) => (start ? ` AND (${name} > ? OR (${name} = ? AND ${id} > ?))` : '');
    const keyArgs = start ? [start.name, start.name, start.id] : [];
    const own = 'SELECT f.id AS id, f.name AS name FROM files f WHERE f.ownerId = ? AND f.status = ? AND f.pathKey IS NOT NULL AND '
      + (p === ROOT ? 'f.parentKey IS NULL' : 'f.parentKey = ?') + keyset('f.name', 'f.id');
    const mountIds = mounted.map((x) => x.mount.id);
    const mine = `SELECT f.id AS id, x.name AS name FROM mounts x INNER JOIN files f ON f.id = x.fileId WHERE f.status = ? AND x.id IN (${mountIds.map(() => '?').join(', ')})`
      + keyset('x.name', 'f.id');
    const rows: { id: string; name: string }[] = await this.ds.query(`SELECT u.id, u.name FROM (${own} UNION ALL ${mine}) u ORDER BY u.name ASC, u.id ASC LIMIT ${limit + 1}`, [
      ownerId, 'AVAILABLE', ...(p === ROOT ? [] : [pathKey(p)]), ...keyArgs, 'AVAILABLE', ...mountIds, ...keyArgs,
    ]);
    const nodes = new Map((rows.length ? await this.ds.getRepository(FileNode).findBy({ id: In(rows.map((r) => r.id)) }) : []).map((n) => [n.id, n]));
    const named = rows.flatMap((r) => (nodes.has(r.id) ? [{ name: r.name, node: nodes.get(r.id)! }] : []));
    const names = new Map(named.map((x) => [x.node, x.name]));
    return toPage(named.map((x) => x.node), limit, (f) => encodeKeyset(names.get(f)!, f.id));
  }

  private async resolveIn(m: EntityManager, userId: string, p: string, hits: Mount[]): Promise<Resolved> {
    if (!hits.length) return { ownerId: userId, ownerPath: p, mount: null };
    const mount = hits.sort((a, b) => a.path.length - b.path.length)[0];
    const root = await m.findOneBy(FileNode, { id: mount.fileId });
    // a covered mount (nested shares) shows nothing at its own path: its node is reached through the outer mount
    if (root && coveredBy(root, await this.liveRoots(m, userId, [mount.ownerId]))) return { ownerId: userId, ownerPath: p, mount: null };
    const ownerPath = root ? root.path + p.slice(mount.path.length) : p;
    return { ownerId: mount.ownerId, ownerPath, mount: { mount, root } };
  }

  /** The user's mounts and their shared nodes (two queries). */
  async index(userId: string, m: EntityManager = this.ds.manager): Promise<MountIndex> {
    const mounts = await m.getRepository(Mount).findBy({ memberId: userId });
    const roots = mounts.length ? await m.getRepository(FileNode).findBy({ id: In(mounts.map((x) => x.fileId)) }) : [];
    const byId = new Map(roots.map((r) => [r.id, r]));
    return new MountIndex(userId, mounts.flatMap((mount) => (byId.has(mount.fileId) ? [{ mount, root: byId.get(mount.fileId)! }] : [])));
  }

  /** The member's mount of a shared node, if any (covered or not). */
  mountOf(m: EntityManager, memberId: string, fileId: string): Promise<Mount | null> {
    return m.findOneBy(Mount, { memberId, fileId });
  }

  /**
   * The member's mount of a shared node when it is in view (not covered by an outer mount, see
   * `coveredBy`): moving or deleting that node by id acts on the mount. A covered mount's node
   * is an ordinary node inside the outer mount (moved or trashed in the owner's tree, by role).
   */
  async activeMountOf(m: EntityManager, memberId: string, fileId: string): Promise<Mount | null> {
    const mount = await this.mountOf(m, memberId, fileId);
    if (!mount) return null;
    const root = await m.findOneBy(FileNode, { id: fileId });
    return root && coveredBy(root, await this.liveRoots(m, memberId, [mount.ownerId])) ? null : mount;
  }

  /** The member's mounts of nodes of `ownerIds`, with their shared nodes, where those are live (one query). */
  private async liveRoots(m: EntityManager, memberId: string, ownerIds: string[]): Promise<{ mount: Mount; root: FileNode }[]> {
    if (!ownerIds.length) return [];
    const rows = await m.getRepository(Mount).createQueryBuilder('x').innerJoinAndMapOne('x.root', FileNode, 'f', 'f.id = x.fileId')
      .where('x.memberId = :memberId AND x.ownerId IN (:...ownerIds) AND f.status = :live', { memberId, ownerIds, live: 'AVAILABLE' })
      .getMany();
    return rows.map((x) => ({ mount: x, root: (x as Mount & { root: FileNode }).root }));
  }

  /**
   * Nested shares, when a share starts (after its SHARED is journalled): the member's mounts
   * that were in view and whose nodes lie inside `node` are covered by the new mount from now
   * on; each one's node moves, in the member's feed only, from that mount's path to its path
   * through the new mount (one MOVED each, so a synced copy is renamed, not fetched again).
   */
  async coverIn(m: EntityManager, memberId: string, node: FileNode, deviceId: string | null): Promise<Change[]> {
    const all = await this.liveRoots(m, memberId, [node.ownerId]);
    const mine = all.find((x) => x.root.id === node.id);
    if (!mine || coveredBy(node, all)) return [];
    const before = all.filter((x) => x !== mine);
    const out: Change[] = [];
    for (const x of before) {
      if (!isInside(x.root.path, node.path) || coveredBy(x.root, before)) continue;
      out.push(await this.journalMoved(m, memberId, x.root, x.mount.path, mine.mount.path + x.root.path.slice(node.path.length), deviceId));
    }
    return out;
  }

  /**
   * Nested shares, before the member's mount of `node` goes (unshare, leave): the member's
   * mounts covered only by it come into view again; each one's node moves, in the member's feed
   * only, from its path through the going mount to its own mount's path. Journalled before the
   * going mount's UNSHARED, which leaves those subtrees out (they stay shared).
   */
  private async uncoverIn(m: EntityManager, memberId: string, node: FileNode, deviceId: string | null): Promise<Change[]> {
    const all = await this.liveRoots(m, memberId, [node.ownerId]);
    const going = all.find((x) => x.root.id === node.id);
    if (!going || coveredBy(node, all)) return [];
    const rest = all.filter((x) => x !== going);
    const out: Change[] = [];
    for (const x of rest) {
      if (!isInside(x.root.path, node.path) || coveredBy(x.root, rest)) continue;
      out.push(await this.journalMoved(m, memberId, x.root, going.mount.path + x.root.path.slice(node.path.length), x.mount.path, deviceId));
    }
    return out;
  }

  private journalMoved(m: EntityManager, memberId: string, root: FileNode, from: string, to: string, deviceId: string | null): Promise<Change> {
    return this.journal.append(m, {
      kind: 'MOVED', file: { id: root.id, ownerId: memberId, path: to, revision: root.revision, isFolder: root.isFolder }, deviceId, fromPath: from,
    }, { fanOut: false });
  }

  /** The member's mounts at or below a path of their own tree (a folder being moved or deleted). */
  async under(m: EntityManager, memberId: string, path: string): Promise<Mount[]> {
    const all = await m.getRepository(Mount).findBy({ memberId });
    return all.filter((x) => x.path === path || isInside(x.path, path));
  }

  /** True when a live own node or a mount already stands at `path` of the member's tree. */
  async taken(m: EntityManager, memberId: string, path: string): Promise<boolean> {
    const key = pathKey(path);
    return Boolean(await m.findOneBy(FileNode, { ownerId: memberId, pathKey: key }) || await m.findOneBy(Mount, { memberId, pathKey: key }));
  }

  /**
   * Inside a transaction holding `ownerId`'s lock, before a new node is created at `path` of
   * that user's own tree: CONFLICT if one of their mounts stands there (a share that got there
   * first, or a path resolved before the mount was made).
   */
  async assertFree(m: EntityManager, ownerId: string, path: string): Promise<void> {
    if (await m.findOneBy(Mount, { memberId: ownerId, pathKey: pathKey(path) })) {
      throw new AppError('CONFLICT', 'a shared folder is mounted at this path', { path });
    }
  }

  /**
   * Inside the share's transaction (holding the member's owner lock): mounts `node` in the
   * member's tree at `/<name>`, or `/<name> (n)` (files: `/<base> (n).<ext>`) when taken.
   * Does nothing if the member already has a mount of it.
   */
  async create(m: EntityManager, memberId: string, node: FileNode): Promise<Mount> {
    const existing = await this.mountOf(m, memberId, node.id);
    if (existing) return existing;
    for (let n = 1; ; n++) {
      const path = '/' + numbered(node.name, node.isFolder, n);
      if (await this.taken(m, memberId, path)) continue;
      return m.save(m.create(Mount, {
        memberId, ownerId: node.ownerId, fileId: node.id, path, pathKey: pathKey(path), parentKey: null, name: nameOf(path),
      }));
    }
  }

  /**
   * Inside a transaction: removes a share, journals UNSHARED (at the member's paths: the mount
   * still stands while the journal is written) and then removes the member's mount. Mounts it
   * covered (nested shares) come back into view first (`uncoverIn`). Returns the changes made.
   */
  async unshareIn(m: EntityManager, share: Share, deviceId: string | null): Promise<Change[]> {
    const node = await m.findOneBy(FileNode, { id: share.fileId });
    const moved = node ? await this.uncoverIn(m, share.userId, node, deviceId) : [];
    await m.delete(Share, { id: share.id });
    const change = node ? await this.journal.append(m, { kind: 'UNSHARED', file: node, deviceId, subjectUserId: share.userId }) : null;
    await m.delete(Mount, { memberId: share.userId, fileId: share.fileId });
    return change ? [...moved, change] : moved;
  }

  /**
   * Inside a transaction holding the member's owner lock: moves the member's mount to `target`
   * (normalised) of their own tree; the shared node does not move. CONFLICT if something stands
   * there; BAD_USER_INPUT inside another mount. Journals MOVED in the member's feed only.
   * `ensureParent` creates missing parent folders in the member's tree.
   */
  async move(m: EntityManager, mount: Mount, root: FileNode, target: string, deviceId: string | null,
    ensureParent: (path: string) => Promise<unknown>): Promise<Change | null> {
    if (target === mount.path) return null;
    if (target === ROOT) throw badInput('cannot move onto the root folder');
    const there = await this.resolve(mount.memberId, target, m);
    if (there.mount && there.mount.mount.path !== target) throw badInput('a shared folder cannot be moved into another shared folder');
    if (await this.taken(m, mount.memberId, target)) throw new AppError('CONFLICT', 'something already exists at the target path', { path: target });
    if (parentOf(target) !== ROOT) await ensureParent(parentOf(target));
    const from = mount.path;
    await m.update(Mount, { id: mount.id }, { path: target, pathKey: pathKey(target), parentKey: parentKeyOf(target), name: nameOf(target) });
    return this.journal.append(m, {
      kind: 'MOVED', file: { id: root.id, ownerId: mount.memberId, path: target, revision: root.revision, isFolder: root.isFolder }, deviceId, fromPath: from,
    }, { fanOut: false });
  }

  /** Inside the member's tree move of folder `from` to `to`: the mounts below it move along (no journal: the folder's MOVED covers them). */
  async followFolder(m: EntityManager, memberId: string, from: string, to: string): Promise<void> {
    for (const x of await this.under(m, memberId, from)) {
      if (x.path === from) continue;
      const p = to + x.path.slice(from.length);
      await m.update(Mount, { id: x.id }, { path: p, pathKey: pathKey(p), parentKey: parentKeyOf(p), name: nameOf(p) });
    }
  }

  /**
   * Mounts for shares made before mounts existed (server start-up; idempotent, and safe when
   * several instances start at once): each share is mounted in its own transaction that first
   * takes the member's owner lock (as sharing and every change of the member's tree do) and then
   * re-reads the share and the member's mounts, so a concurrent backfill, share or folder of the
   * member is seen and never duplicated or overlaid. Returns how many mounts this call made.
   */
  async backfill(): Promise<number> {
    const shares = await this.ds.getRepository(Share).createQueryBuilder('s')
      .leftJoin(Mount, 'x', 'x.memberId = s.userId AND x.fileId = s.fileId')
      .where('x.id IS NULL').getMany();
    let made = 0;
    for (const s of shares) {
      made += await transaction(this.ds, async (m) => {
        await lockOwner(m, s.userId);
        if (!(await m.findOneBy(Share, { id: s.id })) || (await this.mountOf(m, s.userId, s.fileId))) return 0;
        const node = await m.findOneBy(FileNode, { id: s.fileId });
        if (!node) return 0;
        await this.create(m, s.userId, node);
        return 1;
      });
    }
    return made;
  }
}

/**
 * Nested shares: the outermost other mount in `mounts` whose live shared node is an ancestor of
 * `root` (same owner), if any. A mount so covered is out of view: its node and everything below
 * are presented through the outer mount only (one path each in the member's tree, MountIndex.view),
 * it neither lists nor resolves paths, and it keeps its name reserved for when it comes back
 * into view (the outer share ends, or the owner moves the node out of the outer folder).
 */
export function coveredBy(root: Pick<FileNode, 'id' | 'ownerId' | 'path'>, mounts: { mount: Mount; root: FileNode }[]): { mount: Mount; root: FileNode } | null {
  let best: { mount: Mount; root: FileNode } | null = null;
  for (const x of mounts) {
    if (x.root.id === root.id || x.root.ownerId !== root.ownerId || x.root.status !== 'AVAILABLE' || !isInside(root.path, x.root.path)) continue;
    if (!best || x.root.path.length < best.root.path.length) best = x;
  }
  return best;
}

/** `name`, then `name (2)`…; a file keeps its extension last: `a (2).txt`. */
export function numbered(name: string, isFolder: boolean, n: number): string {
  if (n === 1) return name;
  const dot = isFolder ? -1 : name.lastIndexOf('.');
  return dot > 0 ? `${name.slice(0, dot)} (${n})${name.slice(dot)}` : `${name} (${n})`;
}
