import { In, type DataSource } from 'typeorm';
import { Change, Chunk, FileNode, FileRevision } from '../entities';
import { queueObjects } from './trash';
import type { AccessService } from './access';
import { AppError, notFound } from './errors';
import type { JournalService } from './journal';
import { addUsage } from './quota';
import { lockOwner, transaction, writeLock } from './tx';

/**
 * A file's revisions. Objects are immutable per revision, so restoring an old revision makes a
 * new revision that points at the old object and copies its chunk list: no byte moves.
 */
export class RevisionService {
  constructor(
    private readonly ds: DataSource,
    private readonly access: AccessService,
    private readonly journal: JournalService,
  ) {}

  /**
   * Deletes the revisions of live files that a newer revision replaced before `before` (the
   * current revision always stays; a trashed file keeps all of its until the trash is purged)
   * and queues their objects for collection at `gcDueAt` (an object another revision still
   * uses, e.g. after restoreRevision or dedup, is never deleted). Returns how many went.
   */
  async pruneReplaced(before: Date, gcDueAt: Date): Promise<number> {
    let total = 0;
    for (;;) {
      const qb = this.ds.getRepository(FileRevision).createQueryBuilder('r');
      const replaced = qb.subQuery().select('1').from(FileRevision, 'n')
        .where('n.fileId = r.fileId AND n.revision > r.revision AND n.createdAt < :before').getQuery();
      const batch = await qb.innerJoin(FileNode, 'f', 'f.id = r.fileId')
        .where('r.createdAt < :before', { before })
        .andWhere('f.status <> :deleted', { deleted: 'DELETED' })
        .andWhere('(f.currentRevisionId IS NULL OR f.currentRevisionId <> r.id)')
        .andWhere(`EXISTS ${replaced}`)
        .orderBy('r.createdAt', 'ASC').limit(500).getMany();
      if (!batch.length) return total;
      await transaction(this.ds, async (m) => {
        await queueObjects(m, batch, gcDueAt);
        await m.delete(Chunk, { revisionId: In(batch.map((r) => r.id)) });
        await m.delete(FileRevision, { id: In(batch.map((r) => r.id)) });
      });
      total += batch.length;
    }
  }

  /** Newest first. NOT_FOUND unless the caller may read the file. */
  async list(userId: string, file: FileNode): Promise<FileRevision[]> {
    await this.access.authorize(userId, file, 'read');
    if (file.isFolder) return [];
    return this.ds.getRepository(FileRevision).find({ where: { fileId: file.id }, order: { revision: 'DESC' } });
  }

  /**
   * Makes `revision`'s content current again as a new revision (journaled UPDATED). Restoring the
   * current revision changes nothing. NOT_FOUND for an unknown revision or a file the caller
   * cannot see; FORBIDDEN for a viewer; PRECONDITION_FAILED for a trashed file or a folder.
   */
  async restore(userId: string, deviceId: string | null, fileId: string, revision: number): Promise<FileNode> {
    const changes: Change[] = [];
    const ownerId = (await this.ds.getRepository(FileNode).findOneBy({ id: fileId }))?.ownerId; // never changes
    const node = await transaction(this.ds, async (m) => {
      if (ownerId) await lockOwner(m, ownerId); // the owner's tree and usage change
      const file = await m.findOne(FileNode, { where: { id: fileId }, ...writeLock(m) });
      await this.access.authorize(userId, file, 'write', m);
      if (file!.isFolder) throw new AppError('PRECONDITION_FAILED', 'folders have no revisions');
      if (file!.status !== 'AVAILABLE') throw new AppError('PRECONDITION_FAILED', 'restore the file from the trash first');
      const old = await m.findOneBy(FileRevision, { fileId, revision });
      if (!old) throw notFound('revision');
      if (old.id === file!.currentRevisionId) return file!;
      const rev = m.create(FileRevision, {
        fileId, ownerId: file!.ownerId, revision: file!.revision + 1, size: old.size, contentHash: old.contentHash,
        storageKey: old.storageKey, partSize: old.partSize, mimeType: old.mimeType, deviceId,
      });
      await m.insert(FileRevision, rev);
      const chunks = await m.find(Chunk, { where: { revisionId: old.id }, order: { index: 'ASC' } });
      const rows = chunks.map(({ createdAt: _c, ...c }) => m.create(Chunk, { ...c, revisionId: rev.id }));
      for (let i = 0; i < rows.length; i += 500) await m.insert(Chunk, rows.slice(i, i + 500));
      await addUsage(m, file!.ownerId, old.size - file!.size);
      Object.assign(file!, { size: old.size, contentHash: old.contentHash, mimeType: old.mimeType, revision: rev.revision, currentRevisionId: rev.id });
      await m.update(FileNode, { id: fileId }, { size: old.size, contentHash: old.contentHash, mimeType: old.mimeType, revision: rev.revision, currentRevisionId: rev.id });
      changes.push(await this.journal.append(m, { kind: 'UPDATED', file: file!, deviceId }));
      return file!;
    });
    await this.journal.notify(changes);
    return node;
  }
}
