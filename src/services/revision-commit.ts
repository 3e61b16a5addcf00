import type { EntityManager } from 'typeorm';
import { Change, Chunk, FileNode, FileRevision, UploadPart, UploadSession } from '../entities';
import { AppError } from './errors';
import type { FileService } from './files';
import type { JournalService } from './journal';
import { addUsage, releaseReservation, type QuotaService } from './quota';
import { ROOT, nameOf, parentKeyOf, parentOf, pathKey } from './paths';
import { checkRevision } from './preconditions';
import { writeLock } from './tx';

/**
 * The last step of every upload (single, batch, or a deduplicated begin): a verified object
 * becomes the file's new revision. Every method runs inside the caller's transaction, which
 * must hold the owner lock (tx.ts lockOwner); nothing here commits or publishes.
 */
export class RevisionCommitter {
  constructor(
    private readonly files: FileService,
    private readonly journal: JournalService,
    private readonly quota: QuotaService,
  ) {}

  /**
   * Inside a transaction holding the owner lock, for an ACTIVE session whose object is verified
   * (its parts VERIFIED with their ETags): commits the revision (commitRevision), marks the parts
   * and the session COMPLETED and releases the session's reservation (`reserved`).
   */
  async finish(m: EntityManager, deviceId: string | null, session: UploadSession, reserved: number, parts: UploadPart[], changes: Change[]): Promise<FileNode> {
    const node = await this.commitRevision(m, session.ownerId, deviceId, session.path, session.mimeType, session.baseRevision, reserved, {
      size: session.size, contentHash: session.contentHash, storageKey: session.storageKey, partSize: session.partSize,
      chunks: parts.map((p) => ({ index: p.partNumber - 1, offset: p.offset, size: p.size, sha256: p.sha256, etag: p.etag })),
    }, changes);
    for (const p of parts) await m.update(UploadPart, { sessionId: session.id, partNumber: p.partNumber }, { status: 'VERIFIED', etag: p.etag });
    await m.update(UploadSession, { id: session.id }, { status: 'COMPLETED', fileId: node.id });
    await releaseReservation(m, session.ownerId, reserved);
    return node;
  }

  /**
   * Inside a transaction holding the owner lock: the file at `path` gets a new revision with
   * this content (unless it already has exactly this content), and the owner's usage changes by
   * the size difference. CONFLICT when `baseRevision` is not the current one; PAYLOAD_TOO_LARGE
   * when the growth exceeds `reserved` (the session's reservation) and the quota has no room for it.
   */
  async commitRevision(
    m: EntityManager, ownerId: string, deviceId: string | null, path: string, mimeType: string | null, baseRevision: number | null, reserved: number,
    content: { size: number; contentHash: string; storageKey: string; partSize: number; chunks: Omit<Chunk, 'revisionId' | 'createdAt'>[] },
    changes: Change[],
  ): Promise<FileNode> {
    if (parentOf(path) !== ROOT) await this.files.ensureFolder(m, ownerId, deviceId, parentOf(path), changes);
    let node = await m.findOne(FileNode, { where: { ownerId, pathKey: pathKey(path) }, ...writeLock(m) });
    if (node?.isFolder) throw new AppError('CONFLICT', 'a folder exists at this path', { path });
    if (!node) await this.files.assertNoMount(m, ownerId, path);
    checkBase(node, baseRevision);
    if (node && node.contentHash === content.contentHash && node.size === content.size) return node;
    const delta = content.size - (node?.status === 'AVAILABLE' ? node.size : 0);
    await this.quota.checkCommit(m, ownerId, delta, reserved);
    await addUsage(m, ownerId, delta);
    const created = !node;
    node ??= m.create(FileNode, {
      ownerId, path, pathKey: pathKey(path), parentKey: parentKeyOf(path), name: nameOf(path), isFolder: false,
      revision: 0, currentRevisionId: null, deletedAt: null, status: 'AVAILABLE',
    });
    Object.assign(node, { size: content.size, contentHash: content.contentHash, mimeType, status: 'AVAILABLE', revision: node.revision + 1 });
    node = await m.save(node);
    const rev = m.create(FileRevision, {
      fileId: node.id, ownerId, revision: node.revision, size: content.size, contentHash: content.contentHash,
      storageKey: content.storageKey, partSize: content.partSize, mimeType, deviceId,
    });
    await m.insert(FileRevision, rev);
    const rows = content.chunks.map((c) => m.create(Chunk, { ...c, revisionId: rev.id }));
    for (let i = 0; i < rows.length; i += 500) await m.insert(Chunk, rows.slice(i, i + 500));
    node.currentRevisionId = rev.id;
    await m.update(FileNode, { id: node.id }, { currentRevisionId: rev.id });
    changes.push(await this.journal.append(m, { kind: created ? 'CREATED' : 'UPDATED', file: node, deviceId }));
    return node;
  }
}

/** What a session of `size` bytes reserves: the growth over the live file it replaces (never negative). */
export function reservationFor(existing: FileNode | null, size: number): number {
  return Math.max(0, size - (existing && !existing.isFolder && existing.status === 'AVAILABLE' ? existing.size : 0));
}

export function checkBase(node: FileNode | null, baseRevision: number | null | undefined): void {
  checkRevision({ isFolder: false, revision: node && !node.isFolder ? node.revision : 0 }, baseRevision); // no file: revision 0
}
