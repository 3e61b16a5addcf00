import crypto from 'node:crypto';
import { lockOwner, transaction } from './tx';
import { In, type DataSource } from 'typeorm';
import { Change, Chunk, FileNode, FileRevision, UploadPart, UploadSession } from '../entities';
import { unquoteEtag } from '../storage/etag';
import type { StorageAdapter } from '../storage/types';
import type { AccessService } from './access';
import { AppError, badInput, notFound } from './errors';
import type { EventBus } from './events';
import type { FileService } from './files';
import type { JournalService } from './journal';
import type { QuotaService } from './quota';
import { ROOT, pathKey } from './paths';
import { checkSize, planUpload, uniformPartSize, validateParts, type PlanSettings, type UploadPlan } from './upload-plan';
import { checkMediaType } from './media-type';
import { UploadStore, storedAsDeclared, type PresignedPart } from './upload-store';
import { PartCopier } from './upload-copy';
import { RevisionCommitter, checkBase, reservationFor } from './revision-commit';
import { SessionEnder } from './upload-end';
export { checkBase, reservationFor } from './revision-commit';
import { isStorageError } from '../storage/errors';
import { SessionGuard, sessionEnded } from './session-locks';
import { MAX_CONFIRMED_PARTS, MAX_COPY_PARTS, MAX_REFRESH_PARTS, once, uploaderOf, type BeginUploadInput, type PartView, type SessionView, type UploadSettings } from './upload-types';

export { MAX_COPY_PARTS, MAX_REFRESH_PARTS, uploaderOf, type BeginUploadInput, type PartView, type PresignedPart, type SessionView, type UploadSettings } from './upload-types';

/**
 * The upload protocol (DESIGN.md): sessions and their parts live in the database; bytes go
 * straight to the store; every part is checked against the store's own listing before it
 * counts, and completion writes the revision, its chunks and the journal in one transaction.
 */
export class UploadService {
  constructor(
    private readonly ds: DataSource,
    private readonly storage: StorageAdapter,
    private readonly access: AccessService,
    private readonly files: FileService,
    private readonly journal: JournalService,
    private readonly bus: EventBus,
    private readonly settings: UploadSettings,
    private readonly quota: QuotaService,
  ) {
    this.store = new UploadStore(storage, settings.partUrlTtl);
    this.copier = new PartCopier(ds, storage);
    this.committer = new RevisionCommitter(files, journal, quota);
    this.ender = new SessionEnder(ds, this.store, bus, this.guard);
  }

  /** Aborts and expires sessions (./upload-end.ts). */
  private readonly ender: SessionEnder;

  /** Turns verified objects into revisions (./revision-commit.ts). */
  readonly committer: RevisionCommitter;

  /** Finds and copies parts the owner already stores. */
  private readonly copier: PartCopier;

  /** What this service asks of the store about a session (listing, assembling, presigning, aborting). */
  private readonly store: UploadStore;

  /**
   * One call at a time per session in this process (completion, batch completion, resume,
   * refreshPartUrls, copyParts, confirmParts, abort, expiry), the sessions ended lately, and the
   * test hooks: ./session-locks.ts SessionGuard. A call that waited re-reads the session.
   */
  readonly guard = new SessionGuard();

  /**
   * The coded error for a session the store no longer knows (NO_SUCH_UPLOAD while presigning):
   * read once any call holding its lock (a completion under way) is done, so a completed
   * session answers UPLOAD_COMPLETED, an ended one UPLOAD_ENDED, else UPLOAD_GONE.
   */
  private async goneError(sessionId: string, locked: boolean): Promise<AppError> {
    const read = () => this.ds.getRepository(UploadSession).findOneByOrFail({ id: sessionId });
    return sessionEnded(await (locked ? read() : this.guard.locks.run(sessionId, read)), true);
  }

  /** `store.presign`, with NO_SUCH_UPLOAD answered as a coded error (goneError). */
  private async presignPart(session: UploadSession, part: UploadPart, locked: boolean): Promise<PresignedPart> {
    try {
      return await this.store.presign(session, part);
    } catch (e) {
      if (isStorageError(e, 'NO_SUCH_UPLOAD')) throw await this.goneError(session.id, locked);
      throw e;
    }
  }

  plan(size: number): UploadPlan {
    return planUpload(size, this.planSettings());
  }

  async begin(userId: string, deviceId: string | null, input: BeginUploadInput): Promise<SessionView> {
    const mimeType = checkMediaType(input.mimeType);
    // the tree written to: the caller's, or the owner's of a folder shared with the caller
    const { ownerId, path } = await this.files.resolveTarget(userId, input.folderId, input.path);
    if (path === ROOT) throw badInput('cannot upload onto the root folder');
    checkSize(input.size, this.planSettings());
    const plan = this.plan(input.size);
    const parts = validateParts(input.size, input.contentHash, input.parts, plan);
    const partSize = uniformPartSize(parts, plan.partSize); // 0: content-defined parts of varying sizes
    const existing = await this.ds.getRepository(FileNode).findOneBy({ ownerId, pathKey: pathKey(path) });
    if (existing?.isFolder) throw new AppError('CONFLICT', 'a folder exists at this path', { path });
    checkBase(existing, input.baseRevision);
    await this.quota.precheck(ownerId, reservationFor(existing, input.size)); // refused before the store is asked for anything

    const resumable = await this.ds.getRepository(UploadSession).findOne({
      where: { ownerId, pathKey: pathKey(path), contentHash: input.contentHash, status: 'ACTIVE' },
      order: { createdAt: 'DESC' },
    });
    if (resumable && resumable.expiresAt > new Date() && resumable.size === input.size && uploaderOf(resumable) === userId) {
      const resumed = await this.guard.locks.run(resumable.id, async () => {
        const fresh = await this.ds.getRepository(UploadSession).findOneByOrFail({ id: resumable.id });
        return fresh.status === 'ACTIVE' ? this.resume(fresh) : null; // completed or ended while this call waited: as if none were resumable
      });
      if (resumed) return resumed;
    }

    // dedup only within the caller's own tree: an editor must never get the owner's bytes by naming a hash
    const same = ownerId === userId
      ? await this.ds.getRepository(FileRevision).findOne({ where: { ownerId: userId, contentHash: input.contentHash, size: input.size } })
      : null;
    if (same && await this.store.objectExists(same.storageKey, same.size)) return this.dedup(userId, deviceId, path, mimeType, input, same);

    const sessionId = crypto.randomUUID();
    const storageKey = `u/${ownerId}/${sessionId}`;
    // a one-part file goes to the store in one PUT where the store can take one (no multipart upload to create, list and complete);
    // a store's single PUT takes at most its minimum part size (S3 adapter's presignPut), a larger one part goes multipart
    const singlePut = parts.length === 1 && parts[0].size <= this.storage.limits.minPartSize && this.storage.features.presignPut;
    const storageUploadId = singlePut ? null : await this.storage.createMultipartUpload(storageKey, { contentType: mimeType ?? undefined, partSize: partSize || undefined });
    try {
      const session = await transaction(this.ds, async (m) => {
        // the reservation, under the owner lock and against the file at the path as it is now
        await lockOwner(m, ownerId);
        const current = await m.findOneBy(FileNode, { ownerId, pathKey: pathKey(path) });
        if (current?.isFolder) throw new AppError('CONFLICT', 'a folder exists at this path', { path });
        const reservedBytes = reservationFor(current, input.size);
        await this.quota.reserve(m, ownerId, reservedBytes);
        const s = m.create(UploadSession, {
          id: sessionId, ownerId, uploaderId: userId, deviceId, path, pathKey: pathKey(path), size: input.size, partSize,
          contentHash: input.contentHash, mimeType, status: 'ACTIVE', storageKey, storageUploadId, singlePut,
          baseRevision: input.baseRevision ?? null, fileId: null, expiresAt: new Date(Date.now() + this.settings.sessionTtl * 1000), reservedBytes,
        });
        await m.insert(UploadSession, s);
        const rows = parts.map((p) => m.create(UploadPart, {
          sessionId, partNumber: p.partNumber, offset: p.offset, size: p.size, sha256: p.sha256, md5: p.md5 ?? null, status: 'PENDING', etag: null,
        }));
        for (let i = 0; i < rows.length; i += 500) await m.insert(UploadPart, rows.slice(i, i + 500));
        return s;
      });
      await this.announce(userId);
      return this.view(session, null, true);
    } catch (e) {
      if (storageUploadId) await this.storage.abortMultipartUpload(storageKey, storageUploadId).catch(() => undefined);
      throw e;
    }
  }

  async get(userId: string, sessionId: string): Promise<SessionView> {
    const session = await this.owned(userId, sessionId);
    return this.view(session, null, false);
  }

  /**
   * The caller's ACTIVE upload sessions (begun by any of their devices), newest first, at most
   * `limit`: what the web app shows as uploads running elsewhere (their progress then comes
   * from `uploadProgress`). Expired-but-not-yet-reaped sessions are left out.
   */
  async active(userId: string, limit = 20): Promise<SessionView[]> {
    const sessions = await this.ds.getRepository(UploadSession).createQueryBuilder('s')
      .where("s.status = 'ACTIVE' AND s.expiresAt > :now", { now: new Date() })
      .andWhere('(s.uploaderId = :u OR (s.uploaderId IS NULL AND s.ownerId = :u))', { u: userId })
      .orderBy('s.createdAt', 'DESC').limit(Math.max(1, Math.min(limit, 100)))
      .getMany();
    return sessions.map((s) => this.view(s, null, false));
  }

  /** Tells `userId`'s activeUploads watchers that one of their sessions began or ended. */
  announce(userId: string): Promise<void> {
    return this.bus.publish({ type: 'uploads', userId });
  }

  /**
   * Marks parts verified once the store lists them with the same size and ETag. Reads only
   * the confirmed parts and the store's listing around them, so confirming in batches costs
   * the same whatever the file size.
   */
  async confirmParts(userId: string, sessionId: string, confirmed: { partNumber: number; etag: string }[]): Promise<SessionView> {
    return this.guard.locks.run(sessionId, () => this.confirmLocked(userId, sessionId, confirmed));
  }

  private async confirmLocked(userId: string, sessionId: string, confirmed: { partNumber: number; etag: string }[]): Promise<SessionView> {
    const session = await this.owned(userId, sessionId);
    if (session.status !== 'ACTIVE') return this.view(session, null, false);
    if (confirmed.length > MAX_CONFIRMED_PARTS) throw badInput('too many parts');
    const numbers = [...new Set(confirmed.map((c) => c.partNumber))];
    const parts = numbers.length ? await this.ds.getRepository(UploadPart).findBy({ sessionId, partNumber: In(numbers) }) : [];
    const byNumber = new Map(parts.map((p) => [p.partNumber, p]));
    for (const c of confirmed) if (!byNumber.has(c.partNumber)) throw badInput(`no part ${c.partNumber} in this upload`, { partNumber: c.partNumber });
    const stored = numbers.length ? await this.store.listStored(session, { from: Math.min(...numbers), to: Math.max(...numbers) }) : new Map();
    const changed: UploadPart[] = [];
    for (const c of confirmed) {
      const part = byNumber.get(c.partNumber)!;
      const s = stored.get(c.partNumber);
      const etag = s && storedAsDeclared(part, s, unquoteEtag(c.etag)) ? s.etag : null;
      const status = etag ? 'VERIFIED' : 'PENDING';
      if (part.status !== status || part.etag !== etag) {
        Object.assign(part, { status, etag });
        changed.push(part);
      }
    }
    if (changed.length) {
      await transaction(this.ds, async (m) => {
        for (const p of changed) await m.update(UploadPart, { sessionId, partNumber: p.partNumber }, { status: p.status, etag: p.etag });
      });
      await this.bus.publish({ type: 'upload', sessionId });
    }
    return this.view(session, null, true);
  }

  /**
   * Copies, inside the store, parts of the session whose bytes the owner already stores (found
   * by SHA-256: see PartCopier, ./upload-copy.ts). At most MAX_COPY_PARTS per call. Returns the
   * parts asked for, as they are now (VERIFIED when copied; a part still to send comes with its URL).
   */
  async copyParts(userId: string, sessionId: string, partNumbers: number[]): Promise<PartView[]> {
    return this.guard.locks.run(sessionId, () => this.copyLocked(userId, sessionId, partNumbers));
  }

  private async copyLocked(userId: string, sessionId: string, partNumbers: number[]): Promise<PartView[]> {
    const session = await this.owned(userId, sessionId);
    if (session.status !== 'ACTIVE') throw sessionEnded(session);
    const numbers = [...new Set(partNumbers)];
    if (numbers.length > MAX_COPY_PARTS) throw badInput(`at most ${MAX_COPY_PARTS} parts per call`);
    const parts = numbers.length ? await this.ds.getRepository(UploadPart).findBy({ sessionId, partNumber: In(numbers) }) : [];
    if (parts.length !== numbers.length) throw badInput('unknown part number');
    if (await this.copier.copy(session, parts, uploaderOf(session))) await this.bus.publish({ type: 'upload', sessionId });
    parts.sort((a, b) => a.partNumber - b.partNumber);
    return (await this.view(session, parts, true).parts());
  }

  /**
   * Fresh PUT URLs for parts of an ACTIVE session. PRECONDITION_FAILED with `reason`
   * UPLOAD_COMPLETED (and `fileId`) once the session is completed, UPLOAD_ENDED once aborted or
   * expired, UPLOAD_GONE when the store no longer knows the upload (never INTERNAL).
   */
  async refreshPartUrls(userId: string, sessionId: string, partNumbers: number[]): Promise<PartView[]> {
    return this.guard.locks.run(sessionId, () => this.refreshLocked(userId, sessionId, partNumbers));
  }

  private async refreshLocked(userId: string, sessionId: string, partNumbers: number[]): Promise<PartView[]> {
    const session = await this.owned(userId, sessionId);
    if (session.status !== 'ACTIVE') throw sessionEnded(session);
    if (partNumbers.length > MAX_REFRESH_PARTS) throw badInput(`at most ${MAX_REFRESH_PARTS} part numbers per call`);
    const parts = await this.ds.getRepository(UploadPart).findBy({ sessionId, partNumber: In([...new Set(partNumbers)]) });
    if (parts.length !== new Set(partNumbers).size) throw badInput('unknown part number');
    parts.sort((a, b) => a.partNumber - b.partNumber);
    await this.guard.hook('presign', session.id);
    return Promise.all(parts.map(async (p) => {
      const presigned = await this.presignPart(session, p, true);
      return { part: p, presigned: async () => presigned };
    }));
  }

  /**
   * Verifies every part with the store, assembles the object, checks its size and, in one
   * transaction, creates the revision and its chunks, points the file at it and journals it.
   * `confirmed` are ETags the client saw for parts it has not confirmed yet (its last batch):
   * checked against the store's listing here, as confirmParts would, saving a round trip.
   * Idempotent: completing a completed session returns its file. An aborted or expired one is
   * PRECONDITION_FAILED with `reason` UPLOAD_ENDED. Holds the session lock throughout (`locks`).
   */
  async complete(userId: string, deviceId: string | null, sessionId: string, confirmed: { partNumber: number; etag: string }[] = []): Promise<FileNode> {
    return this.guard.locks.run(sessionId, () => this.completeLocked(userId, deviceId, sessionId, confirmed));
  }

  private async completeLocked(userId: string, deviceId: string | null, sessionId: string, confirmed: { partNumber: number; etag: string }[] = []): Promise<FileNode> {
    const session = await this.owned(userId, sessionId);
    if (session.status === 'COMPLETED' && session.fileId) return this.files.get(userId, session.fileId);
    if (session.status !== 'ACTIVE') throw sessionEnded(session);
    if (confirmed.length > MAX_CONFIRMED_PARTS) throw badInput('too many parts');
    await this.access.authorizeAt(userId, session.ownerId, session.path, 'write'); // a share revoked meanwhile
    const parts = await this.parts(session.id);
    const reported = new Map(confirmed.map((c) => [c.partNumber, unquoteEtag(c.etag)]));
    const numbers = new Set(parts.map((p) => p.partNumber));
    for (const n of reported.keys()) if (!numbers.has(n)) throw badInput(`no part ${n} in this upload`, { partNumber: n });
    // the store's listing first: a missing upload (already assembled, or gone) is the rare case
    const stored = await this.store.listStored(session, { nullIfGone: true });
    if (stored) {
      await this.store.assemble(session, parts, stored, reported);
      await this.guard.hook('complete:assembled', session.id);
    } else if (!(await this.store.objectExists(session.storageKey, session.size))) {
      throw new AppError('PRECONDITION_FAILED', `${parts.length} part(s) missing or not as declared`, { missingParts: parts.slice(0, 1000).map((p) => p.partNumber) });
    }
    await this.verifyObject(session, parts);
    const changes: Change[] = [];
    const file = await transaction(this.ds, async (m) => {
      await lockOwner(m, session.ownerId);
      const fresh = await m.findOneByOrFail(UploadSession, { id: session.id });
      if (fresh.status === 'COMPLETED' && fresh.fileId) return m.findOneByOrFail(FileNode, { id: fresh.fileId });
      if (fresh.status !== 'ACTIVE') throw sessionEnded(fresh); // aborted or expired meanwhile (by another server instance)
      return this.committer.finish(m, deviceId, session, fresh.reservedBytes, parts, changes);
    });
    this.guard.markEnded(sessionId);
    await this.journal.notify(changes);
    await this.bus.publish({ type: 'upload', sessionId });
    await this.announce(uploaderOf(session));
    return file;
  }

  /**
   * Before an object becomes a revision: its size (every store; a HEAD) and, on the local
   * store, where reading it costs no network, that its bytes are the declared parts (each
   * part's SHA-256, hence the contentHash). An object that is not is deleted and the session
   * expired (the client starts afresh): PRECONDITION_FAILED, nothing committed.
   */
  private async verifyObject(session: UploadSession, parts: UploadPart[]): Promise<void> {
    if (await this.store.isAsDeclared(session, parts)) return;
    await this.storage.delete(session.storageKey);
    await this.ender.expire(session);
    throw new AppError('PRECONDITION_FAILED', 'the stored object does not match the declared size and parts; upload again', { sessionId: session.id });
  }

  /**
   * Aborts an ACTIVE session (store and database); false if it had already ended. A completed
   * one is PRECONDITION_FAILED with `reason` UPLOAD_COMPLETED. Holds the session lock.
   */
  async abort(userId: string, sessionId: string): Promise<boolean> {
    await this.owned(userId, sessionId);
    return this.ender.abort(sessionId);
  }

  /** Expires an ACTIVE session with nothing to abort in the store (see SessionEnder.expire). */
  expireSession(session: UploadSession): Promise<void> {
    return this.ender.expire(session);
  }

  /** Expires sessions past their deadline, aborting them on the store. Returns how many. */
  expireStale(now = new Date()): Promise<number> {
    return this.ender.expireStale(now);
  }

  /**
   * Reports which parts the store holds. If the store no longer knows the upload (a crash
   * between assembling and committing, or an abort behind our back), a fully assembled object
   * is committed now; otherwise the session is expired and null tells the caller to start afresh.
   */
  private async resume(session: UploadSession): Promise<SessionView | null> {
    const parts = await this.parts(session.id);
    const stored = await this.store.listStored(session, { nullIfGone: true });
    await this.guard.hook('resume:listed', session.id);
    if (!stored) {
      if (await this.store.objectExists(session.storageKey, session.size)) {
        await this.completeLocked(uploaderOf(session), session.deviceId, session.id);
        return this.get(uploaderOf(session), session.id);
      }
      await this.ender.expire(session);
      return null;
    }
    const changed = parts.filter((p) => {
      const ok = storedAsDeclared(p, stored.get(p.partNumber));
      const status = ok ? (p.status === 'VERIFIED' ? 'VERIFIED' : 'UPLOADED') : 'PENDING';
      if (status === p.status) return false;
      p.status = status;
      return true;
    });
    await transaction(this.ds, async (m) => {
      for (const p of changed) await m.update(UploadPart, { sessionId: session.id, partNumber: p.partNumber }, { status: p.status });
    });
    return this.view(session, parts, true);
  }

  /** The owner already stores these bytes: a new revision pointing at the same object. */
  private async dedup(userId: string, deviceId: string | null, path: string, mimeType: string | null, input: BeginUploadInput, same: FileRevision): Promise<SessionView> {
    const chunks = await this.ds.getRepository(Chunk).find({ where: { revisionId: same.id }, order: { index: 'ASC' } });
    const changes: Change[] = [];
    const session = await transaction(this.ds, async (m) => {
      await lockOwner(m, userId);
      const node = await this.committer.commitRevision(m, userId, deviceId, path, mimeType, input.baseRevision ?? null, 0, {
        size: same.size, contentHash: same.contentHash, storageKey: same.storageKey, partSize: same.partSize,
        chunks: chunks.map((c) => ({ index: c.index, offset: c.offset, size: c.size, sha256: c.sha256, etag: c.etag })),
      }, changes);
      const s = m.create(UploadSession, {
        ownerId: userId, uploaderId: userId, deviceId, path, pathKey: pathKey(path), size: same.size, partSize: same.partSize, contentHash: same.contentHash,
        mimeType, status: 'COMPLETED', storageKey: same.storageKey, storageUploadId: null, baseRevision: input.baseRevision ?? null,
        fileId: node.id, expiresAt: new Date(),
      });
      await m.insert(UploadSession, s);
      return s;
    });
    await this.journal.notify(changes);
    return this.view(session, [], false);
  }

  /**
   * The session with its parts (`parts`, or read when first asked for); with `withUrls`, a
   * part not yet verified mints its PUT when first asked for.
   */
  view(session: UploadSession, parts: UploadPart[] | null, withUrls: boolean): SessionView {
    const presign = withUrls && session.status === 'ACTIVE';
    return {
      session,
      parts: once(async () => (parts ?? (await this.parts(session.id))).map((part) => ({
        part,
        presigned: once(async () => {
          if (!presign || part.status === 'VERIFIED') return null;
          if (this.guard.hasEnded(session.id)) throw await this.goneError(session.id, false); // completed or ended since this view was read
          await this.guard.hook('presign', session.id);
          return this.presignPart(session, part, false);
        }),
      }))),
    };
  }

  private async owned(userId: string, sessionId: string): Promise<UploadSession> {
    const session = await this.ds.getRepository(UploadSession).findOneBy({ id: sessionId });
    if (!session || uploaderOf(session) !== userId) throw notFound('upload session');
    return session;
  }

  private parts(sessionId: string): Promise<UploadPart[]> {
    return this.ds.getRepository(UploadPart).find({ where: { sessionId }, order: { partNumber: 'ASC' } });
  }

  planSettings(): PlanSettings {
    return { ...this.settings, limits: this.storage.limits, checksum: this.storage.checksum, singlePut: this.storage.features.presignPut };
  }
}
