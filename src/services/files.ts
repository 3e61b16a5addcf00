import type { DataSource, EntityManager } from 'typeorm';
import { addUsage, countedBytes } from './quota';
import { lockOwner, transaction } from './tx';
import { Change, Chunk, FileNode, FileRevision } from '../entities';
import type { StorageAdapter } from '../storage/types';
import type { AccessService } from './access';
import { encodeGrant, type UrlHolder } from './download-grants';
import { AppError, badInput, notFound } from './errors';
import type { JournalService } from './journal';
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
    private readonly downloadUrlTtl: number,
    private readonly downloadUrlMaxTtl = 3600,
  ) {}

  async get(userId: string, id: string, m: EntityManager = this.ds.manager): Promise<FileNode> {
    const node = await m.findOneBy(FileNode, { id });
    await this.access.authorize(userId, node, 'read', m);
    return node!;
  }

  /** A live node at a path of the caller's own tree, or null. */
  async findByPath(userId: string, path: string): Promise<FileNode | null> {
    const p = normalisePath(path);
    if (p === ROOT) return null;
    return this.ds.getRepository(FileNode).findOneBy({ ownerId: userId, pathKey: pathKey(p) });
  }

  async list(userId: string, path: string, first: number | null | undefined, after: string | null | undefined): Promise<Page<FileNode>> {
    const p = normalisePath(path);
    if (p !== ROOT) {
      const folder = await this.findByPath(userId, p);
      if (!folder) throw notFound('folder');
      if (!folder.isFolder) throw badInput('not a folder', { path: p });
    }
    return this.listIn(userId, p, first, after);
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
    if (!folderId) return { ownerId: userId, path: rel };
    const folder = await this.get(userId, folderId, m);
    if (!folder.isFolder || folder.status !== 'AVAILABLE') throw badInput('folderId is not a folder', { folderId });
    const full = rel === ROOT ? folder.path : folder.path + rel;
    await this.access.authorizeAt(userId, folder.ownerId, full, 'write', m);
    return { ownerId: folder.ownerId, path: full };
  }

  private async listIn(ownerId: string, p: string, first: number | null | undefined, after: string | null | undefined): Promise<Page<FileNode>> {
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
    const rows = await qb.orderBy('f.name', 'ASC').addOrderBy('f.id', 'ASC').limit(limit + 1).getMany();
    return toPage(rows, limit, (f) => encodeKeyset(f.name, f.id));
  }

  /**
   * Creates a folder and any missing parents; an existing folder is returned as is. Runs under
   * the owner lock (tx.ts `lockOwner`), resolving `folderId` again inside it.
   */
  async createFolder(userId: string, deviceId: string | null, path: string, folderId?: string | null): Promise<FileNode> {
    const { ownerId } = await this.resolveTarget(userId, folderId, path);
    const changes: Change[] = [];
    const folder = await transaction(this.ds, async (m) => {
      await lockOwner(m, ownerId);
      const { path: p } = await this.resolveTarget(userId, folderId, path, m);
      if (p === ROOT) throw badInput('the root folder always exists');
      return this.ensureFolder(m, ownerId, deviceId, p, changes);
    });
    await this.journal.notify(changes);
    return folder;
  }

  /**
   * Inside a transaction holding the owner lock: returns the folder at `path`, creating it and
   * its parents. CONFLICT if a file stands at the path or one of its ancestors.
   */
  async ensureFolder(m: EntityManager, ownerId: string, deviceId: string | null, path: string, changes: Change[]): Promise<FileNode> {
    let folder: FileNode | null = null;
    for (const p of [...ancestorsOf(path), path]) {
      folder = await m.findOneBy(FileNode, { ownerId, pathKey: pathKey(p) });
      if (folder && !folder.isFolder) throw new AppError('CONFLICT', 'a file stands where a folder is needed', { path: p });
      if (!folder) {
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
   */
  async move(userId: string, deviceId: string | null, id: string, toPath: string, folderId?: string | null, baseRevision?: number | null): Promise<FileNode> {
    const ownerId = await this.ownerOf(userId, id);
    if (folderId) {
      const dest = await this.resolveTarget(userId, folderId, toPath);
      if (dest.ownerId !== ownerId) throw badInput("cannot move between two users' trees");
    } else if (normalisePath(toPath) === ROOT) throw badInput('cannot move onto the root folder');
    const changes: Change[] = [];
    const moved = await transaction(this.ds, async (m) => {
      await lockOwner(m, ownerId);
      // toPath is in the moved node's owner's tree, or relative to folderId (same tree only), as they are now
      const target = folderId ? (await this.resolveTarget(userId, folderId, toPath, m)).path : normalisePath(toPath);
      if (target === ROOT) throw badInput('cannot move onto the root folder');
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
      changes.push(await this.journal.append(m, { kind: 'MOVED', file: node, deviceId, fromPath: from }));
      return node;
    });
    await this.journal.notify(changes);
    return moved;
  }

  /**
   * Moves a file or folder (with everything inside) to the trash. Under the owner lock, on the
   * node as it is then: NOT_FOUND if it is no longer live (already in the trash). With
   * `baseRevision`, a file no longer at that revision is CONFLICT (`extensions.currentRevision`)
   * and stays. With `ifUnchangedSince` (a cursor of the caller's change feed), a node of the
   * subtree that changed after that cursor is CONFLICT (`extensions.changedPath`) and nothing is
   * deleted. The owner's usage drops by the live files trashed, in the same transaction.
   */
  async delete(userId: string, deviceId: string | null, id: string, baseRevision?: number | null, ifUnchangedSince?: string | null): Promise<FileNode> {
    const ownerId = await this.ownerOf(userId, id);
    const changes: Change[] = [];
    const deleted = await transaction(this.ds, async (m) => {
      await lockOwner(m, ownerId);
      const node = await this.liveNode(m, userId, id, 'remove');
      checkRevision(node, baseRevision);
      const members = [...(node.isFolder ? await this.descendants(m, node) : []), node];
      await checkUnchangedSince(m, userId, ifUnchangedSince, members);
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
