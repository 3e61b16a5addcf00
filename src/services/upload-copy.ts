import type { DataSource } from 'typeorm';
import { Chunk, FileNode, FileRevision, UploadPart, type UploadSession } from '../entities';
import { isStorageError } from '../storage/errors';
import type { StorageAdapter } from '../storage/types';
import { transaction } from './tx';

/** A byte range of a stored object that holds a part's bytes. */
interface CopySource { storageKey: string; offset: number; size: number }

/** Places a part's copy is tried from before the client is left to send it. */
const COPY_SOURCES_PER_PART = 3;
/** Copies in flight at once. */
const COPY_CONCURRENCY = 8;

/**
 * Server-side reuse of stored bytes (dedup by part): a part of an upload whose SHA-256 and size
 * the owner already stores, in any revision of any of their files and wherever it sits there, is
 * copied inside the store (the adapter's uploadPartCopy: S3 UploadPartCopy of a byte range, a
 * local copy, GCS through the server) instead of sent. For an editor uploading into a shared
 * folder only the current revision of the file at the session's path counts: dedup never hands
 * anyone bytes they could not read, and never crosses owners. Every part but the last is at
 * least the minimum part size (validateParts), so a copy meets the store's rules. A copied part
 * is VERIFIED once the store reports its size; completeUpload checks every part's SHA-256 on the
 * local store as for sent parts. A part that cannot be copied (no such content, the source gone,
 * the store refusing) is left as it was, for the client to send. NO_SUCH_UPLOAD from the store
 * (the session's upload is gone) is thrown.
 */
export class PartCopier {
  constructor(private readonly ds: DataSource, private readonly storage: StorageAdapter) {}

  /** Copies what it can of `parts` (updated in place: VERIFIED with the copy's ETag); true if any was. */
  async copy(session: UploadSession, parts: UploadPart[], uploaderId: string): Promise<boolean> {
    const todo = session.singlePut ? [] : parts.filter((p) => p.status !== 'VERIFIED'); // one PUT: nothing to copy into
    if (todo.length === 0) return false;
    const sources = await this.sources(session, todo, uploaderId !== session.ownerId);
    const copied: UploadPart[] = [];
    const copyOne = async (p: UploadPart) => {
      for (const c of sources.get(`${p.sha256}:${p.size}`) ?? []) {
        try {
          const done = await this.storage.uploadPartCopy(session.storageKey, session.storageUploadId!, p.partNumber, {
            key: c.storageKey, range: { offset: c.offset, length: c.size },
          });
          if (done.size === p.size) return void copied.push(Object.assign(p, { status: 'VERIFIED', etag: done.etag }));
        } catch (e) {
          if (isStorageError(e, 'NO_SUCH_UPLOAD')) throw e;
          // the source is gone or the store refused: the next source, else the client sends this part
        }
      }
    };
    for (let i = 0; i < todo.length; i += COPY_CONCURRENCY) await Promise.all(todo.slice(i, i + COPY_CONCURRENCY).map(copyOne));
    if (copied.length === 0) return false;
    await transaction(this.ds, async (m) => {
      for (const p of copied) await m.update(UploadPart, { sessionId: session.id, partNumber: p.partNumber }, { status: p.status, etag: p.etag });
    });
    return true;
  }

  /**
   * Where the owner already stores the bytes of `parts`, keyed `sha256:size`: newest revision
   * first, at most COPY_SOURCES_PER_PART places each. One indexed query (ix_chunks_sha256) joined
   * to the owner's revisions; `editor`: only the current revision of the file at the session's path.
   */
  private async sources(session: UploadSession, parts: UploadPart[], editor: boolean): Promise<Map<string, CopySource[]>> {
    const q = this.ds.getRepository(Chunk).createQueryBuilder('c')
      .innerJoin(FileRevision, 'r', 'r.id = c.revisionId')
      .select(['c.sha256 AS chunkSha', 'c.size AS chunkSize', 'c.offset AS chunkOffset', 'r.storageKey AS objectKey'])
      .where('c.sha256 IN (:...shas)', { shas: [...new Set(parts.map((p) => p.sha256))] })
      .andWhere('r.ownerId = :owner', { owner: session.ownerId })
      .orderBy('r.createdAt', 'DESC');
    if (editor) {
      const node = await this.ds.getRepository(FileNode).findOneBy({ ownerId: session.ownerId, pathKey: session.pathKey });
      if (!node || node.status === 'DELETED' || node.isFolder || !node.currentRevisionId) return new Map();
      q.andWhere('r.id = :rev', { rev: node.currentRevisionId });
    }
    const out = new Map<string, CopySource[]>();
    for (const row of await q.getRawMany<{ chunkSha: string; chunkSize: string | number; chunkOffset: string | number; objectKey: string }>()) {
      const key = `${row.chunkSha}:${Number(row.chunkSize)}`;
      const list = out.get(key) ?? [];
      if (list.length < COPY_SOURCES_PER_PART) list.push({ storageKey: row.objectKey, offset: Number(row.chunkOffset), size: Number(row.chunkSize) });
      out.set(key, list);
    }
    return out;
  }
}
