import crypto from 'node:crypto';
import { In, LessThan, LessThanOrEqual, type DataSource, type EntityManager } from 'typeorm';
import { Change, Chunk, FileNode, FileRevision, Mount, OrphanObject, Share, ShareLink } from '../entities';
import { isStorageError } from '../storage/errors';
import type { StorageAdapter } from '../storage/types';
import { AppError, badInput, notFound } from './errors';
import type { FileService, Page } from './files';
import { decodeKeyset, encodeKeyset, pageSize, toPage } from './files';
import type { JournalService } from './journal';
import { ROOT, parentOf, pathKey } from './paths';
import { addUsage, countedBytes } from './quota';
import { lockOwner, transaction } from './tx';

/**
 * The trash: `deleteFile` puts a node (with everything inside) here; `restore` brings it back,
 * `emptyTrash` and the retention purge delete it for good. Purging drops the rows and queues
 * the revisions' store objects for garbage collection, which deletes an object only when no
 * revision references it any more (dedup and restoreRevision share objects between
 * revisions) and only after a grace period (a dedup that found the object just before the purge).
 */
export class TrashService {
  constructor(
    private readonly ds: DataSource,
    private readonly storage: StorageAdapter,
    private readonly files: FileService,
    private readonly journal: JournalService,
    private readonly gcGraceSeconds = 3600,
  ) {}

  /**
   * What the caller deleted (the top of each deletion), most recent first; keyset pages by
   * (deletedAt, id), so a page never skips or repeats an item when others are deleted or
   * restored in between. BAD_USER_INPUT for a cursor this did not make.
   */
  async list(userId: string, first: number | null | undefined, after: string | null | undefined): Promise<Page<FileNode>> {
    const limit = pageSize(first);
    const qb = this.ds.getRepository(FileNode).createQueryBuilder('f')
      .where('f.ownerId = :userId AND f.status = :deleted', { userId, deleted: 'DELETED' })
      .andWhere('(f.trashedWithId IS NULL OR f.trashedWithId = f.id)');
    if (after) {
      const { name: at, id } = decodeKeyset(after);
      if (Number.isNaN(Date.parse(at))) throw badInput('invalid cursor');
      qb.andWhere('(f.deletedAt < :at OR (f.deletedAt = :at AND f.id > :id))', { at: new Date(at), id });
    }
    const rows = await qb.orderBy('f.deletedAt', 'DESC').addOrderBy('f.id', 'ASC').take(limit + 1).getMany();
    return toPage(rows, limit, (n) => encodeKeyset(n.deletedAt!.toISOString(), n.id));
  }

  /**
   * Brings a trashed node back to its path, with what was deleted along with it; missing parent
   * folders are created. A folder whose path holds a live folder again (say, one that restoring a
   * file of it re-created) is merged into it: its contents come back where nothing stands, and
   * the live folder is returned. CONFLICT (extensions.path) if anything else stands at the path.
   * Journals RESTORED for every node, parents first. Runs under the owner lock on the nodes as
   * they are then (a node restored or purged meanwhile: returned as is, or NOT_FOUND); the
   * owner's usage grows by the files brought back (never refused for quota: see quota.ts).
   */
  async restore(userId: string, deviceId: string | null, id: string): Promise<FileNode> {
    const changes: Change[] = [];
    const node = await transaction(this.ds, async (m) => {
      await lockOwner(m, userId); // a node of another owner is NOT_FOUND below
      const node = await m.findOneBy(FileNode, { id });
      if (!node || node.ownerId !== userId) throw notFound();
      if (node.status !== 'DELETED') return node;
      const there = await m.findOneBy(FileNode, { ownerId: userId, pathKey: pathKey(node.path) });
      // a folder comes back into a live folder at its path (e.g. one a restored file of it re-created): merged
      const into = there && node.isFolder && there.isFolder ? there : null;
      if (there && !into) throw new AppError('CONFLICT', 'something already exists at this path', { path: node.path });
      if (!there) await this.files.assertNoMount(m, userId, node.path); // a shared folder mounted there meanwhile
      if (!into && parentOf(node.path) !== ROOT) await this.files.ensureFolder(m, userId, deviceId, parentOf(node.path), changes);
      const batch = node.trashedWithId ?? node.id;
      const members = node.isFolder
        ? (await m.findBy(FileNode, { ownerId: userId, status: 'DELETED', trashedWithId: batch })).filter((n) => n.path.startsWith(node.path + '/'))
        : [];
      const all = [...(into ? [] : [node]), ...members].sort((a, b) => a.path.split('/').length - b.path.split('/').length || (a.path < b.path ? -1 : 1));
      const taken = new Set<string>();
      const restored: FileNode[] = [];
      for (const n of all) {
        // merging: what the live tree already has at a path stays, and what was under it stays in the trash
        if ([...taken].some((t) => n.path.startsWith(t + '/'))) continue;
        const live = into ? await m.findOneBy(FileNode, { ownerId: userId, pathKey: pathKey(n.path) }) : null;
        if (live) {
          if (!(live.isFolder && n.isFolder)) taken.add(n.path); // a folder is merged into, anything else stays
          continue;
        }
        Object.assign(n, { status: 'AVAILABLE', pathKey: pathKey(n.path), deletedAt: null, trashedWithId: null });
        await m.update(FileNode, { id: n.id }, { status: 'AVAILABLE', pathKey: n.pathKey, deletedAt: null, trashedWithId: null });
        restored.push(n);
        changes.push(await this.journal.append(m, { kind: 'RESTORED', file: n, deviceId }));
      }
      await addUsage(m, userId, countedBytes(restored));
      return into ?? node;
    });
    await this.journal.notify(changes);
    return node;
  }

  /** Deletes everything in the caller's trash for good. Returns how many nodes went. */
  async empty(userId: string): Promise<number> {
    let total = 0;
    for (;;) {
      const batch = await this.ds.getRepository(FileNode).find({ where: { ownerId: userId, status: 'DELETED' }, take: 500 });
      if (!batch.length) return total;
      total += await this.purge(batch);
    }
  }

  /** Retention: purges nodes trashed before `before`. Returns how many. */
  async purgeExpired(before: Date): Promise<number> {
    let total = 0;
    for (;;) {
      const batch = await this.ds.getRepository(FileNode).find({ where: { status: 'DELETED', deletedAt: LessThan(before) }, take: 500 });
      if (!batch.length) return total;
      total += await this.purge(batch);
    }
  }

  /**
   * Deletes queued store objects whose grace period is over and that no revision references.
   * Returns how many objects were deleted.
   */
  async collectGarbage(now = new Date()): Promise<number> {
    let deleted = 0;
    for (;;) {
      const due = await this.ds.getRepository(OrphanObject).find({ where: { dueAt: LessThanOrEqual(now) }, take: 200 });
      if (!due.length) return deleted;
      for (const o of due) {
        const used = await this.ds.getRepository(FileRevision).exists({ where: { ownerId: o.ownerId, contentHash: o.contentHash, storageKey: o.storageKey } });
        if (!used) {
          try {
            await this.storage.delete(o.storageKey);
            deleted++;
          } catch (e) {
            if (!isStorageError(e, 'NOT_FOUND')) throw e;
          }
        }
        await this.ds.getRepository(OrphanObject).delete({ keyHash: o.keyHash });
      }
    }
  }

  /** When an object queued now may be collected (after the grace period). */
  gcDueAt(): Date {
    return new Date(Date.now() + this.gcGraceSeconds * 1000);
  }

  /**
   * Drops trashed nodes with their revisions, chunks, shares and links; queues their objects.
   * One transaction per owner, under the owner lock, on the nodes still in the trash then (one
   * restored meanwhile stays, with its revisions). Returns how many went.
   */
  private async purge(nodes: FileNode[]): Promise<number> {
    const byOwner = new Map<string, string[]>();
    for (const n of nodes) byOwner.set(n.ownerId, [...(byOwner.get(n.ownerId) ?? []), n.id]);
    let total = 0;
    for (const [ownerId, candidates] of byOwner) total += await this.purgeOwned(ownerId, candidates);
    return total;
  }

  private async purgeOwned(ownerId: string, candidates: string[]): Promise<number> {
    const dueAt = this.gcDueAt();
    return transaction(this.ds, async (m) => {
      await lockOwner(m, ownerId);
      const ids = (await m.findBy(FileNode, { id: In(candidates), ownerId, status: 'DELETED' })).map((n) => n.id);
      if (!ids.length) return 0;
      const revs = await m.findBy(FileRevision, { fileId: In(ids) });
      await queueObjects(m, revs, dueAt);
      if (revs.length) await m.delete(Chunk, { revisionId: In(revs.map((r) => r.id)) });
      await m.delete(FileRevision, { fileId: In(ids) });
      await m.delete(Share, { fileId: In(ids) });
      await m.delete(Mount, { fileId: In(ids) }); // the members' mounts of it go with the shares (their paths are free again)
      await m.delete(ShareLink, { fileId: In(ids) });
      await m.delete(FileNode, { id: In(ids), status: 'DELETED' });
      return ids.length;
    });
  }
}

/** Queues the store objects of `revs` for collection at `dueAt` (collected only if no revision references them then). */
export async function queueObjects(m: EntityManager, revs: FileRevision[], dueAt: Date): Promise<void> {
  for (const r of uniqueBy(revs, (r) => r.storageKey)) await queue(m, r, dueAt);
}

async function queue(m: EntityManager, r: FileRevision, dueAt: Date): Promise<void> {
  const keyHash = crypto.createHash('sha256').update(r.storageKey).digest('hex');
  const row = { keyHash, storageKey: r.storageKey, ownerId: r.ownerId, contentHash: r.contentHash, dueAt };
  if (await m.findOneBy(OrphanObject, { keyHash })) await m.update(OrphanObject, { keyHash }, { dueAt });
  else await m.insert(OrphanObject, row);
}

function uniqueBy<T>(items: T[], key: (t: T) => string): T[] {
  const seen = new Map<string, T>();
  for (const t of items) if (!seen.has(key(t))) seen.set(key(t), t);
  return [...seen.values()];
}
