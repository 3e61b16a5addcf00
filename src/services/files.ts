import type { DataSource, EntityManager } from 'typeorm';
import { addUsage, countedBytes } from './quota';
import { lockOwner, transaction } from './tx';
import { Change, Chunk, FileNode, FileRevision, Share } from '../entities';
import type { StorageAdapter } from '../storage/types';
import type { AccessService } from './access';
import { encodeGrant, type UrlHolder } from './download-grants';
import { AppError, badInput, notFound } from './errors';
import type { JournalService } from './journal';
import type { MountService } from './mounts';
import { checkRevision, checkUnchangedSince } from './preconditions';
import { ROOT, ancestorsOf, isInside, nameOf, normalisePath, parentKeyOf, parentOf, pathKey } from './paths';
import { safeMediaType } from './media-type';

export interface Page<T> {
  items: { cursor: string; node: T }[];
  hasNextPage: boolean;
  endCursor: string | null;
}

export const MAX_PAGE_SIZE = 1000;

/** Files and folders of a user's tree: lookups, listing, folders, moves, deletes, download URLs. */
export class FileService {
  constructor(
    private readonly ds: DataSource,
    private readonly storage: StorageAdapter,
    private readonly access: AccessService,
    private readonly journal: JournalService,
    private readonly mounts: MountService,
    private readonly downloadUrlTtl: number,
    private readonly downloadUrlMaxTtl = 3600,
  ) {}

  async get(userId: string, id: string, m: EntityManager = this.ds.manager): Promise<FileNode> {
    const node = await m.findOneBy(FileNode, { id });
    await this.access.authorize(userId, node, 'read', m);
    return node!;
  }

  /** A live node at a path of the caller's tree (own, or inside a mount: mounts.ts), or null. */
  async findByPath(userId: string, path: string): Promise<FileNode | null> {
    const r = await this.mounts.resolve(userId, path);
    if (r.ownerPath === ROOT) return null;
    if (r.mount && r.mount.root?.status !== 'AVAILABLE') return null;
    const node = await this.ds.getRepository(FileNode).findOneBy({ ownerId: r.ownerId, pathKey: pathKey(r.ownerPath) });
    if (node && r.mount && !await this.access.roleOn(userId, node)) return null;
    return node;
  }

  /**
   * A folder's children by a path of the caller's tree. A folder of the caller's own tree also
   * shows the mounts placed in it (as their shared nodes); inside a mount, the owner's folder.
   */
  async list(userId: string, path: string, first: number | null | undefined, after: string | null | undefined): Promise<Page<FileNode>> {
    const p = normalisePath(path);
    pageSize(first);
    const { resolved: r, mounted } = await this.mounts.listing(userId, p);
    if (r.ownerPath !== ROOT) {
      const folder = r.mount ? await this.findByPath(userId, p) : await this.ds.getRepository(FileNode).findOneBy({ ownerId: userId, pathKey: pathKey(p) });
      if (!folder) throw notFound('folder');
      if (!folder.isFolder) throw badInput('not a folder', { path: p });
    }
    return this.listIn(r.ownerId, r.ownerPath, first, after, mounted);
  }

  /** The children of a folder the caller may read (own, or shared with them), by the folder's id. */
  async listById(userId: string, id: string, first: number | null | undefined, after: string | null | undefined): Promise<Page<FileNode>> {
    const folder = await this.get(userId, id);
    if (!folder.isFolder) throw badInput('not a folder', { id });
    if (folder.status !== 'AVAILABLE') throw notFound('folder');
    return this.listIn(folder.ownerId, folder.path, first, after);
  }

  /**
   * Where a path given with an optional `folderId` lands: without it, the caller's own tree;
   * with it, `path` is relative to that folder (which may be shared with the caller) in its
   * owner's tree. Authorises writing there. With `m`, reads inside that transaction.
   */
  async resolveTarget(userId: string, folderId: string | null | undefined, path: string, m?: EntityManager): Promise<{ ownerId: string; path: string }> {
    const rel = normalisePath(path);
    if (!folderId) {
      const r = await this.mounts.resolve(userId, rel, m);
      if (!r.mount) return { ownerId: userId, path: rel };
      if (!r.mount.root) throw notFound('folder');
      // the owner trashed the shared folder: hidden until restored, it still holds its name in the member's tree
      if (r.mount.root.status !== 'AVAILABLE') throw new AppError('FORBIDDEN', 'a shared folder its owner has trashed holds this name', { reason: 'SHARE_TRASHED', path: r.mount.mount.path });
      await this.access.authorizeAt(userId, r.ownerId, r.ownerPath, 'write', m);
      return { ownerId: r.ownerId, path: r.ownerPath };
    }
    const folder = await this.get(userId, folderId, m);
    if (!folder.isFolder || folder.status !== 'AVAILABLE') throw badInput('folderId is not a folder', { folderId });
    const full = rel === ROOT ? folder.path : folder.path + rel;
    await this.access.authorizeAt(userId, folder.ownerId, full, 'write', m);
    return { ownerId: folder.ownerId, path: full };
  }

  /** Children of `p` in `ownerId`'s tree, together with `mounted` (mounts shown there, named as mounted; see MountService.listMerged). */
  private async listIn(ownerId: string, p: string, first: number | null | undefined, after: string | null | undefined,
    mounted: { mount: { id: string; name: string }; root: FileNode }[] = []): Promise<Page<FileNode>> {
    const userId = ownerId;
    const limit = pageSize(first);
    const qb = this.ds.getRepository(FileNode).createQueryBuilder('f')
      .where('f.ownerId = :userId AND f.status = :status', { userId, status: 'AVAILABLE' })
      .andWhere(p === ROOT ? 'f.parentKey IS NULL' : 'f.parentKey = :parent', { parent: p === ROOT ? null : pathKey(p) })
      .andWhere('f.pathKey IS NOT NULL');
    if (after) {
      const { name, id } = decodeKeyset(after);
      qb.andWhere('(f.name > :name OR (f.name = :name AND f.id > :id))', { name, id });
    }
    if (!mounted.length) {
      const rows = await qb.orderBy('f.name', 'ASC').addOrderBy('f.id', 'ASC').limit(limit + 1).getMany();
      return toPage(rows, limit, (f) => encodeKeyset(f.name, f.id));
    }
    return this.mounts.listMerged(ownerId, p, limit, after, mounted);
  }

  /**
   * Creates a folder and any missing parents; an existing folder is returned as is. Runs under
   * the owner lock (tx.ts `lockOwner`), resolving `folderId` again inside it.
   */
  async createFolder(userId: string, deviceId: string | null, path: string, folderId?: string | null): Promise<FileNode> {
    for (let attempt = 1; ; attempt++) {
      const { ownerId } = await this.resolveTarget(userId, folderId, path);
      const changes: Change[] = [];
      const folder = await transaction(this.ds, async (m) => {
        await lockOwner(m, ownerId);
        const target = await this.resolveTarget(userId, folderId, path, m);
        // a mount made (or moved) meanwhile took the path into another tree: resolve again
        if (target.ownerId !== ownerId) return null;
        if (target.path === ROOT) throw badInput('the root folder always exists');
        return this.ensureFolder(m, ownerId, deviceId, target.path, changes);
      });
      if (!folder && attempt < 3) continue;
      if (!folder) throw new AppError('CONFLICT', 'the path changed hands meanwhile; try again');
      await this.journal.notify(changes);
      return folder;
    }
  }

  /**
   * Inside a transaction holding the owner lock: returns the folder at `path`, creating it and
   * its parents. CONFLICT if a file or one of the owner's mounts stands at the path or one of
   * its ancestors.
   */
  async ensureFolder(m: EntityManager, ownerId: string, deviceId: string | null, path: string, changes: Change[]): Promise<FileNode> {
    let folder: FileNode | null = null;
    for (const p of [...ancestorsOf(path), path]) {
      folder = await m.findOneBy(FileNode, { ownerId, pathKey: pathKey(p) });
      if (folder && !folder.isFolder) throw new AppError('CONFLICT', 'a file stands where a folder is needed', { path: p });
      if (!folder) {
        await this.mounts.assertFree(m, ownerId, p);
        folder = await m.save(m.create(FileNode, {
          ownerId, path: p, pathKey: pathKey(p), parentKey: parentKeyOf(p), name: nameOf(p), isFolder: true,
          size: 0, mimeType: null, contentHash: null, status: 'AVAILABLE', revision: 0, currentRevisionId: null, deletedAt: null,
        }));
        changes.push(await this.journal.append(m, { kind: 'CREATED', file: folder, deviceId }));
      }
    }
    return folder!;
  }

  /**
   * Moves or renames a file or folder (with everything inside). Under the owner lock, on the
   * node as it is then: NOT_FOUND if it is no longer live (deleted meanwhile), CONFLICT if the
   * target exists, or with `baseRevision`, if the file is no longer at that revision (nothing
   * moves); BAD_USER_INPUT for a folder moved into itself. Missing parents of the target are created.
   *
   * `toPath` is a path of the caller's tree (crossing mounts), or relative to `folderId`. A
   * member moving the shared node of one of their mounts moves the mount only (mounts.ts). A
   * move between two owners' trees (the caller's own tree and a mount, or two mounts) is
   * BAD_USER_INPUT: nothing is copied.
   */
  async move(userId: string, deviceId: string | null, id: string, toPath: string, folderId?: string | null, baseRevision?: number | null): Promise<FileNode> {
    const ownerId = await this.ownerOf(userId, id);
    if (!folderId && ownerId !== userId) {
      const mount = await this.mounts.activeMountOf(this.ds.manager, userId, id);
      if (mount) return this.moveMount(userId, deviceId, id, toPath);
    }
    const dest = await this.resolveTarget(userId, folderId, toPath).catch((e) => {
      if (!folderId && ownerId !== userId && e?.code === 'NOT_FOUND') throw badInput("cannot move between two users' trees");
      throw e;
    });
    if (dest.ownerId !== ownerId) throw badInput("cannot move between two users' trees: copy and delete instead");
    if (dest.path === ROOT) throw badInput('cannot move onto the root folder');
    const changes: Change[] = [];
    const moved = await transaction(this.ds, async (m) => {
      await lockOwner(m, ownerId);
      // toPath in the caller's tree, or relative to folderId, as they are now
      const again = await this.resolveTarget(userId, folderId, toPath, m);
      if (again.ownerId !== ownerId) throw badInput("cannot move between two users' trees: copy and delete instead");
      const target = again.path;
      if (target === ROOT) throw badInput('cannot move onto the root folder');
      if (ownerId === userId && !folderId && await this.mounts.taken(m, userId, target)) {
        throw new AppError('CONFLICT', 'something already exists at the target path', { path: target });
      }
      const node = await this.liveNode(m, userId, id, 'remove');
      await this.access.authorizeAt(userId, ownerId, target, 'write', m);
      checkRevision(node, baseRevision);
      if (node.path === target) return node;
      if (node.isFolder && isInside(target, node.path)) throw badInput('cannot move a folder into itself');
      if (await m.findOneBy(FileNode, { ownerId, pathKey: pathKey(target) })) {
        throw new AppError('CONFLICT', 'something already exists at the target path', { path: target });
      }
      if (parentOf(target) !== ROOT) await this.ensureFolder(m, ownerId, deviceId, parentOf(target), changes);
      const from = node.path;
      for (const d of node.isFolder ? await this.descendants(m, node) : []) {
        const p = target + d.path.slice(from.length);
        await m.update(FileNode, { id: d.id }, { path: p, pathKey: pathKey(p), parentKey: parentKeyOf(p) });
      }
      Object.assign(node, { path: target, pathKey: pathKey(target), parentKey: parentKeyOf(target), name: nameOf(target) });
      await m.save(node);
      if (node.isFolder) await this.mounts.followFolder(m, ownerId, from, target);
      changes.push(await this.journal.append(m, { kind: 'MOVED', file: node, deviceId, fromPath: from }));
      return node;
    });
    await this.journal.notify(changes);
    return moved;
  }

  /** Inside a transaction holding `ownerId`'s lock: CONFLICT if one of their mounts stands at `path` (see MountService.assertFree). */
  assertNoMount(m: EntityManager, ownerId: string, path: string): Promise<void> {
    return this.mounts.assertFree(m, ownerId, path);
  }

  /** A member moves their mount of shared node `id` within their own tree (mounts.ts `move`). */
  private async moveMount(userId: string, deviceId: string | null, id: string, toPath: string): Promise<FileNode> {
    const target = normalisePath(toPath);
    const changes: Change[] = [];
    const root = await transaction(this.ds, async (m) => {
      await lockOwner(m, userId);
      const mount = await this.mounts.mountOf(m, userId, id);
      const node = await m.findOneBy(FileNode, { id });
      if (!mount || !node || node.status !== 'AVAILABLE') throw notFound();
      const change = await this.mounts.move(m, mount, node, target, deviceId, (p) => this.ensureFolder(m, userId, deviceId, p, changes));
      if (change) changes.push(change);
      return node;
    });
    await this.journal.notify(changes);
    return root;
  }

  /**
   * Moves a file or folder (with everything inside) to the trash. Under the owner lock, on the
   * node as it is then: NOT_FOUND if it is no longer live (already in the trash). With
   * `baseRevision`, a file no longer at that revision is CONFLICT (`extensions.currentRevision`)
   * and stays. With `ifUnchangedSince` (a cursor of the caller's change feed), a node of the
   * subtree that changed after that cursor is CONFLICT (`extensions.changedPath`) and nothing is
   * deleted. The owner's usage drops by the live files trashed, in the same transaction.
   *
   * Mounts (as Dropbox does): a member deleting the shared node of their mount leaves the share
   * (the owner's node stays; the answer is the node at the member's former path), and deleting
   * a folder that holds mounts of its tree's owner leaves those shares (UNSHARED in the feed).
   */
  async delete(userId: string, deviceId: string | null, id: string, baseRevision?: number | null, ifUnchangedSince?: string | null): Promise<FileNode> {
    const ownerId = await this.ownerOf(userId, id);
    if (ownerId !== userId && await this.mounts.activeMountOf(this.ds.manager, userId, id)) return this.leave(userId, deviceId, id);
    const changes: Change[] = [];
    const deleted = await transaction(this.ds, async (m) => {
      await lockOwner(m, ownerId);
      const node = await this.liveNode(m, userId, id, 'remove');
      checkRevision(node, baseRevision);
      const members = [...(node.isFolder ? await this.descendants(m, node) : []), node];
      await checkUnchangedSince(m, userId, ifUnchangedSince, members);
      if (node.isFolder) {
        // mounts the tree's owner placed in this folder (whoever deletes it) leave with it
        for (const x of await this.mounts.under(m, ownerId, node.path)) {
          const share = await m.findOneBy(Share, { fileId: x.fileId, userId: ownerId });
          if (share) changes.push(...await this.mounts.unshareIn(m, share, deviceId));
        }
      }
      const now = new Date();
      await addUsage(m, ownerId, -countedBytes(members));
      for (const n of members) {
        await m.update(FileNode, { id: n.id }, { status: 'DELETED', pathKey: null, deletedAt: now, trashedWithId: node.id });
      }
      Object.assign(node, { status: 'DELETED', pathKey: null, deletedAt: now, trashedWithId: node.id });
      changes.push(await this.journal.append(m, { kind: 'DELETED', file: node, deviceId }));
      return node;
    });
    await this.journal.notify(changes);
    return deleted;
  }

  /** A member leaves the share behind their mount of `id` (see `delete`). */
  private async leave(userId: string, deviceId: string | null, id: string): Promise<FileNode> {
    const changes: Change[] = [];
    const node = await transaction(this.ds, async (m) => {
      await lockOwner(m, userId);
      const mount = await this.mounts.mountOf(m, userId, id);
      const share = await m.findOneBy(Share, { fileId: id, userId });
      const root = await m.findOneBy(FileNode, { id });
      if (!mount || !share || !root) throw notFound();
      changes.push(...await this.mounts.unshareIn(m, share, deviceId));
      return Object.assign(root, { presented: { path: mount.path, name: mount.name } });
    });
    await this.journal.notify(changes);
    return node;
  }

  /**
   * The owner of a node the caller may read (NOT_FOUND otherwise), read before the transaction
   * that locks that owner: a node never changes owner, so this value is never stale.
   */
  private async ownerOf(userId: string, id: string): Promise<string> {
    const node = await this.ds.getRepository(FileNode).findOneBy({ id });
    await this.access.authorize(userId, node, 'read');
    return node!.ownerId;
  }

  /** Inside a locked transaction: the node as it is now, if live and the caller may `action` it; else NOT_FOUND (or FORBIDDEN). */
  private async liveNode(m: EntityManager, userId: string, id: string, action: 'remove'): Promise<FileNode> {
    const node = await m.findOneBy(FileNode, { id });
    await this.access.authorize(userId, node, action, m);
    if (node!.status !== 'AVAILABLE' || node!.pathKey === null) throw notFound();
    return node!;
  }

  async chunks(node: FileNode): Promise<Chunk[]> {
    if (!node.currentRevisionId) return [];
    return this.ds.getRepository(Chunk).find({ where: { revisionId: node.currentRevisionId }, order: { index: 'ASC' } });
  }

  /**
   * A signed GET of the current revision for `holder` (the asking device, or a public link);
   * null for folders and files still uploading. `expiresIn` (default DOWNLOAD_URL_TTL) above
   * DOWNLOAD_URL_MAX_TTL is clamped to it; below 1 second it is BAD_USER_INPUT. On the local
   * store the URL also dies as soon as the holder's access does (see DownloadGrantService).
   */
  async downloadUrl(node: FileNode, expiresIn: number | null | undefined, holder: UrlHolder): Promise<string | null> {
    if (node.isFolder || node.status !== 'AVAILABLE' || !node.currentRevisionId) return null;
    const asked = expiresIn ?? this.downloadUrlTtl;
    if (!Number.isInteger(asked) || asked < 1) throw badInput('expiresIn must be a whole number of seconds, at least 1', { field: 'expiresIn' });
    let ttl = Math.min(asked, this.downloadUrlMaxTtl);
    if ('until' in holder && holder.until) ttl = Math.max(1, Math.min(ttl, Math.ceil((holder.until.getTime() - Date.now()) / 1000)));
    const rev = await this.ds.getRepository(FileRevision).findOneByOrFail({ id: node.currentRevisionId });
    const signed = await this.storage.presignGet(rev.storageKey, {
      expiresIn: ttl, fileName: node.name, contentType: node.mimeType ? safeMediaType(node.mimeType) : undefined, grant: encodeGrant(holder, rev.id),
    });
    return signed.url;
  }

  /** Live descendants of a folder, breadth first (by parent key, so collation never matters). */
  async descendants(m: EntityManager, folder: FileNode): Promise<FileNode[]> {
    const out: FileNode[] = [];
    let frontier = [folder];
    while (frontier.length) {
      const keys = frontier.map((f) => pathKey(f.path));
      const children: FileNode[] = [];
      for (let i = 0; i < keys.length; i += 500) {
        children.push(...await m.getRepository(FileNode).createQueryBuilder('f')
          .where('f.ownerId = :owner AND f.parentKey IN (:...keys) AND f.pathKey IS NOT NULL', { owner: folder.ownerId, keys: keys.slice(i, i + 500) })
          .getMany());
      }
      out.push(...children);
      frontier = children.filter((c) => c.isFolder);
    }
    return out;
  }
}

export function pageSize(first: number | null | undefined): number {
  if (first === null || first === undefined) return 100;
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) throw badInput(`first must be between 1 and ${MAX_PAGE_SIZE}`);
  return first;
}

export function toPage<T>(rows: T[], limit: number, cursorOf: (row: T) => string): Page<T> {
  const hasNextPage = rows.length > limit;
  const items = rows.slice(0, limit).map((node) => ({ cursor: cursorOf(node), node }));
  return { items, hasNextPage, endCursor: items.length ? items[items.length - 1].cursor : null };
}

/** A Relay cursor for keyset pagination by (name, id). */
export function encodeKeyset(name: string, id: string): string {
  return Buffer.from(JSON.stringify([name, id])).toString('base64url');
}

export function decodeKeyset(cursor: string): { name: string; id: string } {
  try {
    const [name, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (typeof name === 'string' && typeof id === 'string') return { name, id };
  } catch { /* fall through */ }
  throw badInput('invalid cursor');
}
