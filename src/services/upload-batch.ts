import crypto from 'node:crypto';
import { In, type DataSource, type EntityManager } from 'typeorm';
import { Change, Chunk, FileNode, FileRevision, Mount, UploadPart, UploadSession, User } from '../entities';
import { unquoteEtag } from '../storage/etag';
import type { StorageAdapter } from '../storage/types';
import { AppError, badInput, notFound } from './errors';
import { batchStorageKey, checkBatchObjects } from './upload-batch-store';
import { insertRows } from './sql-rows';
import type { EventBus } from './events';
import type { JournalService, ChangeInput } from './journal';
import { checkMediaType } from './media-type';
import { ROOT, ancestorsOf, nameOf, normalisePath, parentKeyOf, pathKey } from './paths';
import { addUsage, releaseReservation, type QuotaService } from './quota';
import { lockOwner, transaction } from './tx';
import { sessionEnded } from './session-locks';
import { checkSize, planUpload, validateParts } from './upload-plan';
import { checkBase, reservationFor, uploaderOf, type BeginUploadInput, type SessionView, type UploadService } from './uploads';

/** Items one beginUploads or completeUploads call takes at most. */
export const MAX_BATCH = 100;

/** One item's outcome: its value, or the coded error that item alone got (nothing of it was written). */
export type ItemResult<T> = { ok: T; error?: undefined } | { ok?: undefined; error: AppError };

export interface CompleteItem {
  sessionId: string;
  /** ETags of parts not confirmed yet, as completeUpload takes them. */
  parts?: { partNumber: number; etag: string }[] | null;
}

/**
 * Many uploads begun, and many completed, in one request and one transaction (the batch API:
 * `beginUploads`, `completeUploads`). Results are per item, in input order: an item that fails
 * gets its own coded error (the codes of beginUpload / completeUpload) and writes nothing, and
 * the other items go on as if it had not been in the batch. Each item keeps every guarantee of
 * the single-file calls: parts validated, quota reserved under the owner lock (items are
 * reserved in input order; one that does not fit gets PAYLOAD_TOO_LARGE, later smaller ones may
 * still fit), resume of an ACTIVE session, dedup, the object checked in the store before its
 * revision, preconditions (`baseRevision`), one journal entry per file and per folder created.
 *
 * The common case (a new one-PUT file of the caller's own tree, no mount on its way) is done
 * set-wise: a handful of statements for the whole batch. Every other item (a resumed or
 * deduplicated upload, a multipart file, a folderId, a mount on the path, a file that replaces
 * another) runs the single-file code: for begin one call per item after the batch; for
 * complete inside the batch's transaction, each in its own savepoint, so its failure rolls back
 * only its own writes. An error that is not a coded one (the database failing) fails the whole
 * request, and nothing of it is written.
 */
export class UploadBatchService {
  constructor(
    private readonly ds: DataSource,
    private readonly storage: StorageAdapter,
    private readonly uploads: UploadService,
    private readonly journal: JournalService,
    private readonly bus: EventBus,
    private readonly quota: QuotaService,
    private readonly sessionTtl: number,
  ) {}

  async begin(userId: string, deviceId: string | null, inputs: BeginUploadInput[]): Promise<ItemResult<SessionView>[]> {
    if (inputs.length > MAX_BATCH) throw badInput(`at most ${MAX_BATCH} uploads per call`);
    const out: (ItemResult<SessionView> | undefined)[] = new Array(inputs.length);
    const slow: number[] = [];
    const fast: Fast[] = [];
    const settings = this.uploads.planSettings();
    for (let i = 0; i < inputs.length; i++) {
      const input = inputs[i];
      try {
        if (input.folderId) { slow.push(i); continue; } // another owner's tree: the single-file path decides
        const mimeType = checkMediaType(input.mimeType);
        const path = normalisePath(input.path);
        if (path === ROOT) throw badInput('cannot upload onto the root folder');
        checkSize(input.size, settings);
        const plan = planUpload(input.size, settings);
        const parts = validateParts(input.size, input.contentHash, input.parts, plan);
        if (plan.partCount !== 1 || !this.storage.features.presignPut) { slow.push(i); continue; }
        fast.push({ i, path, key: pathKey(path), mimeType, input, parts, partSize: plan.partSize });
      } catch (e) {
        out[i] = failed(e);
      }
    }
    if (fast.length) {
      const keys = [...new Set(fast.map((f) => f.key))];
      const mountKeys = [...new Set(fast.flatMap((f) => [f.path, ...ancestorsOf(f.path)].map(pathKey)))];
      const [mounts, active, same] = await Promise.all([
        inChunks(mountKeys, (k) => this.ds.getRepository(Mount).findBy({ memberId: userId, pathKey: In(k) })),
        inChunks(keys, (k) => this.ds.getRepository(UploadSession).findBy({ ownerId: userId, pathKey: In(k), status: 'ACTIVE' })),
        inChunks([...new Set(fast.map((f) => f.input.contentHash))], (h) => this.ds.getRepository(FileRevision).findBy({ ownerId: userId, contentHash: In(h) })),
      ]);
      const mounted = new Set(mounts.map((x) => x.pathKey));
      const resumable = new Set(active.filter((s) => uploaderOf(s) === userId).map((s) => `${s.pathKey}:${s.contentHash}:${s.size}`));
      const stored = new Set(same.map((r) => `${r.contentHash}:${r.size}`));
      const batch = fast.filter((f) => {
        const special = [f.path, ...ancestorsOf(f.path)].some((p) => mounted.has(pathKey(p)))
          || resumable.has(`${f.key}:${f.input.contentHash}:${f.input.size}`) || stored.has(`${f.input.contentHash}:${f.input.size}`);
        if (special) slow.push(f.i);
        return !special;
      });
      const made = await this.beginSet(userId, deviceId, batch);
      for (const [i, r] of made) out[i] = r;
    }
    for (const i of slow.sort((a, b) => a - b)) {
      try {
        out[i] = { ok: await this.uploads.begin(userId, deviceId, inputs[i]) };
      } catch (e) {
        out[i] = failed(e);
      }
    }
    return out as ItemResult<SessionView>[];
  }

  /** New one-PUT sessions for `batch`, in one transaction: reservations in input order, sessions and parts inserted set-wise. */
  private async beginSet(userId: string, deviceId: string | null, batch: Fast[]): Promise<Map<number, ItemResult<SessionView>>> {
    const results = await transaction(this.ds, async (m) => {
      const res = new Map<number, ItemResult<SessionView>>();
      await lockOwner(m, userId);
      const current = new Map((await inChunks([...new Set(batch.map((f) => f.key))], (k) => m.findBy(FileNode, { ownerId: userId, pathKey: In(k) })))
        .map((n) => [n.pathKey!, n]));
      const user = await m.findOneByOrFail(User, { id: userId });
      let room = this.quota.roomOf(user);
      let reservedTotal = 0;
      const now = new Date();
      const batchId = crypto.randomUUID(); // the objects of this call share a key prefix: completeUploads lists it once
      const sessions: UploadSession[] = [];
      const parts: UploadPart[] = [];
      for (const f of batch) {
        try {
          const node = current.get(f.key) ?? null;
          if (node?.isFolder) throw new AppError('CONFLICT', 'a folder exists at this path', { path: f.path });
          checkBase(node, f.input.baseRevision);
          const reservedBytes = reservationFor(node, f.input.size);
          if (reservedBytes > room) {
            throw new AppError('PAYLOAD_TOO_LARGE', 'storage quota exceeded', {
              quotaBytes: String(this.quota.quotaOf(user)), usageBytes: String(user.usedBytes ?? 0),
              reservedBytes: String(user.reservedBytes + reservedTotal), requestedBytes: String(reservedBytes),
            });
          }
          room -= reservedBytes;
          reservedTotal += reservedBytes;
          const id = crypto.randomUUID();
          const s = m.create(UploadSession, {
            id, ownerId: userId, uploaderId: userId, deviceId, path: f.path, pathKey: f.key, size: f.input.size, partSize: f.partSize,
            contentHash: f.input.contentHash, mimeType: f.mimeType, status: 'ACTIVE', storageKey: batchStorageKey(userId, batchId, id), storageUploadId: null, singlePut: true,
            baseRevision: f.input.baseRevision ?? null, fileId: null, expiresAt: new Date(now.getTime() + this.sessionTtl * 1000), reservedBytes,
            createdAt: now, updatedAt: now,
          });
          const rows = f.parts.map((p) => m.create(UploadPart, {
            sessionId: id, partNumber: p.partNumber, offset: p.offset, size: p.size, sha256: p.sha256, md5: p.md5 ?? null, status: 'PENDING', etag: null, updatedAt: now,
          }));
          sessions.push(s);
          parts.push(...rows);
          res.set(f.i, { ok: this.uploads.view(s, rows, true) });
        } catch (e) {
          res.set(f.i, failed(e));
        }
      }
      if (reservedTotal) await m.increment(User, { id: userId }, 'reservedBytes', reservedTotal);
      await insertRows(m, UploadSession, sessions);
      await insertRows(m, UploadPart, parts);
      return res;
    });
    if ([...results.values()].some((r) => r.ok)) await this.uploads.announce(userId);
    return results;
  }

  async complete(userId: string, deviceId: string | null, items: CompleteItem[]): Promise<ItemResult<FileNode>[]> {
    if (items.length > MAX_BATCH) throw badInput(`at most ${MAX_BATCH} uploads per call`);
    const out: (ItemResult<FileNode> | undefined)[] = new Array(items.length);
    const sessions = new Map((await inChunks([...new Set(items.map((it) => it.sessionId))], (ids) => this.ds.getRepository(UploadSession).findBy({ id: In(ids) })))
      .map((s) => [s.id, s]));
    const slow: number[] = [];
    const todo: { i: number; session: UploadSession; reported: Map<number, string> }[] = [];
    const seen = new Set<string>();
    for (let i = 0; i < items.length; i++) {
      const s = sessions.get(items[i].sessionId);
      const reported = new Map((items[i].parts ?? []).map((c) => [c.partNumber, unquoteEtag(c.etag)]));
      if (!s || uploaderOf(s) !== userId) out[i] = { error: notFound('upload session') };
      else if (seen.has(s.id)) out[i] = { error: badInput('this upload session is twice in the batch', { sessionId: s.id }) };
      else if (s.status === 'ACTIVE' && s.singlePut && s.ownerId === userId && [...reported.keys()].every((n) => n === 1)) todo.push({ i, session: s, reported });
      else slow.push(i); // completed already (idempotent), ended, multipart, another owner's tree, bad part numbers: the single-file path answers
      if (s) seen.add(s.id);
    }

    // the fast items' session locks (UploadService.locks) until they are committed: no resume,
    // refresh or abort of one of them runs in between
    await this.uploads.guard.locks.run(todo.map((t) => t.session.id), () => this.completeSet(userId, deviceId, todo, out));
    for (const i of slow) {
      try {
        out[i] = { ok: await this.uploads.complete(userId, deviceId, items[i].sessionId, items[i].parts ?? []) };
      } catch (e) {
        out[i] = failed(e);
      }
    }
    return out as ItemResult<FileNode>[];
  }

  /** The one-PUT items of a completeUploads call, their session locks held: each object checked, then all committed in one transaction. */
  private async completeSet(
    userId: string, deviceId: string | null, todo: { i: number; session: UploadSession; reported: Map<number, string> }[], out: (ItemResult<FileNode> | undefined)[],
  ): Promise<void> {
    // the store first, outside the transaction: each object as declared (size, ETag; bytes on the local store)
    const parts = groupBy(await inChunks(todo.map((t) => t.session.id), (ids) => this.ds.getRepository(UploadPart).findBy({ sessionId: In(ids) })), (p) => p.sessionId);
    const verified: typeof todo = [];
    const checkable: typeof todo = [];
    for (const t of todo) {
      if ((parts.get(t.session.id) ?? []).length === 1) checkable.push(t);
      else out[t.i] = { error: new AppError('INTERNAL', 'a one-PUT session without its part') };
    }
    const checked = await checkBatchObjects(this.storage, checkable.map((t) => {
      const part = parts.get(t.session.id)![0];
      return { session: t.session, part, etag: t.reported.get(1) ?? part.etag };
    }), (session) => this.uploads.expireSession(session));
    checkable.forEach((t, k) => {
      const error = checked[k];
      if (error) out[t.i] = { error };
      else verified.push(t);
    });
    verified.sort((a, b) => a.i - b.i);
    for (const t of verified) await this.uploads.guard.hook('complete:assembled', t.session.id);

    const changes: Change[] = [];
    if (verified.length) {
      const done = await transaction(this.ds, async (m) => {
        changes.length = 0;
        await lockOwner(m, userId);
        return this.commitSet(m, userId, deviceId, verified.map((t) => ({ ...t, part: parts.get(t.session.id)![0] })), changes);
      });
      for (const [i, r] of done) out[i] = r;
      for (const t of verified) this.uploads.guard.markEnded(t.session.id);
      await this.journal.notify(changes);
      for (const t of verified) await this.bus.publish({ type: 'upload', sessionId: t.session.id });
      await this.uploads.announce(userId);
    }
  }

  /**
   * Inside the owner-locked transaction: new files (and the folders they need) set-wise; every
   * other item through RevisionCommitter.finish in its own savepoint.
   */
  private async commitSet(
    m: EntityManager, ownerId: string, deviceId: string | null,
    items: { i: number; session: UploadSession; part: UploadPart }[], changes: Change[],
  ): Promise<Map<number, ItemResult<FileNode>>> {
    const res = new Map<number, ItemResult<FileNode>>();
    const fresh = new Map((await inChunks(items.map((t) => t.session.id), (ids) => m.findBy(UploadSession, { id: In(ids) }))).map((s) => [s.id, s]));
    const keys = [...new Set(items.flatMap((t) => [t.session.path, ...ancestorsOf(t.session.path)].map(pathKey)))];
    const nodes = await inChunks(keys, (k) => m.findBy(FileNode, { ownerId, pathKey: In(k) }));
    const mounts = await inChunks(keys, (k) => m.findBy(Mount, { memberId: ownerId, pathKey: In(k) }));
    const byKey = new Map<string, Pick<FileNode, 'isFolder'>>(nodes.map((n) => [n.pathKey!, n]));
    const mounted = new Set(mounts.map((x) => x.pathKey));
    const now = new Date();
    const folders: FileNode[] = [];
    const files: FileNode[] = [];
    const revisions: FileRevision[] = [];
    const chunks: Chunk[] = [];
    const journal: ChangeInput[] = [];
    const done: { session: UploadSession; node: FileNode; part: UploadPart; reserved: number }[] = [];
    const single: typeof items = [];
    for (const t of items) {
      const f = fresh.get(t.session.id)!;
      if (f.status !== 'ACTIVE') { single.push(t); continue; } // completed or ended meanwhile: the single-file path answers
      const path = t.session.path;
      const chain = [...ancestorsOf(path), path];
      // only a new file whose folders are free of mounts and of files, within its reservation, is done set-wise
      if (byKey.has(pathKey(path)) || chain.some((p) => mounted.has(pathKey(p))) || t.session.size > f.reservedBytes || t.session.baseRevision) {
        single.push(t);
        continue;
      }
      const blocker = ancestorsOf(path).find((p) => byKey.get(pathKey(p))?.isFolder === false);
      if (blocker) {
        res.set(t.i, { error: new AppError('CONFLICT', 'a file stands where a folder is needed', { path: blocker }) });
        continue;
      }
      for (const p of ancestorsOf(path)) {
        if (p === ROOT || byKey.has(pathKey(p))) continue;
        const folder = m.create(FileNode, {
          id: crypto.randomUUID(), ownerId, path: p, pathKey: pathKey(p), parentKey: parentKeyOf(p), name: nameOf(p), isFolder: true,
          size: 0, mimeType: null, contentHash: null, status: 'AVAILABLE', revision: 0, currentRevisionId: null, deletedAt: null, trashedWithId: null,
          createdAt: now, updatedAt: now,
        });
        byKey.set(folder.pathKey!, folder);
        folders.push(folder);
        journal.push({ kind: 'CREATED', file: folder, deviceId });
      }
      const s = t.session;
      const revisionId = crypto.randomUUID();
      const node = m.create(FileNode, {
        id: crypto.randomUUID(), ownerId, path, pathKey: pathKey(path), parentKey: parentKeyOf(path), name: nameOf(path), isFolder: false,
        size: s.size, mimeType: s.mimeType, contentHash: s.contentHash, status: 'AVAILABLE', revision: 1, currentRevisionId: revisionId,
        deletedAt: null, trashedWithId: null, createdAt: now, updatedAt: now,
      });
      byKey.set(node.pathKey!, node);
      files.push(node);
      revisions.push(m.create(FileRevision, {
        id: revisionId, fileId: node.id, ownerId, revision: 1, size: s.size, contentHash: s.contentHash, storageKey: s.storageKey,
        partSize: s.partSize, mimeType: s.mimeType, deviceId, createdAt: now,
      }));
      chunks.push(m.create(Chunk, { revisionId, index: 0, offset: 0, size: t.part.size, sha256: t.part.sha256, etag: t.part.etag, createdAt: now }));
      journal.push({ kind: 'CREATED', file: node, deviceId });
      done.push({ session: s, node, part: t.part, reserved: f.reservedBytes });
      res.set(t.i, { ok: node });
    }
    if (done.length) {
      await insertRows(m, FileNode, [...folders, ...files]);
      await insertRows(m, FileRevision, revisions);
      await insertRows(m, Chunk, chunks);
      await addUsage(m, ownerId, done.reduce((n, d) => n + d.session.size, 0));
      await releaseReservation(m, ownerId, done.reduce((n, d) => n + d.reserved, 0));
      for (let i = 0; i < done.length; i += 200) {
        const slice = done.slice(i, i + 200);
        await caseUpdate(m, 'upload_sessions', 'id', slice.map((d) => [d.session.id, d.node.id]), `status = 'COMPLETED', updatedAt = CURRENT_TIMESTAMP`, 'fileId');
        await caseUpdate(m, 'upload_parts', 'sessionId', slice.map((d) => [d.session.id, d.part.etag ?? '']), `status = 'VERIFIED', updatedAt = CURRENT_TIMESTAMP`, 'etag');
      }
      changes.push(...await this.journal.appendMany(m, ownerId, journal));
    }
    for (const t of single) {
      const own: Change[] = [];
      try {
        const node = await m.transaction(async (sp) => { // a savepoint: this item's failure undoes only its own writes
          const f = await sp.findOneByOrFail(UploadSession, { id: t.session.id });
          if (f.status === 'COMPLETED' && f.fileId) return sp.findOneByOrFail(FileNode, { id: f.fileId });
          if (f.status !== 'ACTIVE') throw sessionEnded(f);
          return this.uploads.committer.finish(sp, deviceId, t.session, f.reservedBytes, [Object.assign(t.part, { status: 'VERIFIED' })], own);
        });
        changes.push(...own);
        res.set(t.i, { ok: node });
      } catch (e) {
        if (!(e instanceof AppError)) throw e; // the database failing: the whole batch is retried or fails
        res.set(t.i, { error: e });
      }
    }
    return res;
  }
}

interface Fast {
  i: number;
  path: string;
  key: string;
  mimeType: string | null;
  input: BeginUploadInput;
  parts: ReturnType<typeof validateParts>;
  partSize: number;
}

/** A coded error as an item's result; anything else (a bug, the database failing) fails the whole call. */
function failed(e: unknown): { error: AppError } {
  if (e instanceof AppError) return { error: e };
  throw e;
}

/** Runs `query` over `values` in slices of 500 (SQL IN lists) and concatenates the rows. */
async function inChunks<V, R>(values: V[], query: (slice: V[]) => Promise<R[]>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < values.length; i += 500) out.push(...await query(values.slice(i, i + 500)));
  return out;
}

/** `UPDATE table SET <set>, column = CASE key WHEN k THEN v ... END WHERE key IN (...)`: one statement for many rows. */
async function caseUpdate(m: EntityManager, table: string, key: string, pairs: [string, string][], set: string, column: string): Promise<void> {
  if (!pairs.length) return;
  const q = (n: string) => m.connection.driver.escape(n);
  const when = pairs.map(() => 'WHEN ? THEN ?').join(' ');
  const params = [...pairs.flat(), ...pairs.map(([k]) => k)];
  await m.query(`UPDATE ${q(table)} SET ${set}, ${q(column)} = CASE ${q(key)} ${when} END WHERE ${q(key)} IN (${pairs.map(() => '?').join(', ')})`, params);
}

function groupBy<T>(rows: T[], key: (r: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const r of rows) out.set(key(r), [...(out.get(key(r)) ?? []), r]);
  return out;
}
