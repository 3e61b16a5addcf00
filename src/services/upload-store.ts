import { AppError } from './errors';
import type { UploadPart, UploadSession } from '../entities';
import { isStorageError } from '../storage/errors';
import { localAdapterOf } from '../storage/registry';
import type { StorageAdapter, UploadedPart } from '../storage/types';

/** A part's PUT as a client sends it: URL, method, headers, and when the URL expires. */
export interface PresignedPart {
  url: string;
  method: string;
  headers: { name: string; value: string }[];
  urlExpiresAt: Date;
}

/**
 * The store's side of an upload session: which parts it holds, assembling them, checking the
 * object, presigning part PUTs and aborting. Reads and changes nothing in the database (the
 * UploadService does, around these calls). Storage errors other than the ones handled here
 * (NO_SUCH_UPLOAD, NOT_FOUND) are thrown as they come.
 */
export class UploadStore {
  constructor(private readonly storage: StorageAdapter, private readonly partUrlTtl: number) {}

  /** Completes the multipart upload once every part is stored as declared (and as `reported`, where the client reported an ETag). */
  async assemble(session: UploadSession, parts: UploadPart[], stored: Map<number, UploadedPart>, reported: Map<number, string>): Promise<void> {
    const missing = parts.filter((p) => !storedAsDeclared(p, stored.get(p.partNumber), reported.get(p.partNumber) ?? p.etag)).map((p) => p.partNumber);
    if (missing.length) {
      throw new AppError('PRECONDITION_FAILED', `${missing.length} part(s) missing or not as declared`, { missingParts: missing.slice(0, 1000) });
    }
    for (const p of parts) Object.assign(p, { etag: stored.get(p.partNumber)!.etag, status: 'VERIFIED' });
    if (session.singlePut) return; // the object is there, of the part's (= the file's) size
    let object: { size: number } | null = null;
    try {
      object = await this.storage.completeMultipartUpload(session.storageKey, session.storageUploadId!, parts.map((p) => ({ partNumber: p.partNumber, etag: p.etag! })));
    } catch (e) {
      if (!isStorageError(e, 'NO_SUCH_UPLOAD')) throw e;
    }
    const size = object?.size ?? (await this.objectExists(session.storageKey, session.size) ? session.size : -1);
    if (size !== session.size) throw new AppError('PRECONDITION_FAILED', 'the assembled object does not have the declared size');
  }

  /**
   * Whether the object has the session's size and, on the local store, where reading it costs
   * no network, bytes that are the declared parts (each part's SHA-256, hence the contentHash).
   */
  async isAsDeclared(session: UploadSession, parts: UploadPart[]): Promise<boolean> {
    const local = localAdapterOf(this.storage);
    return (await this.objectExists(session.storageKey, session.size))
      && (!local || await local.verifyObject(session.storageKey, parts.map((p) => ({ offset: p.offset, size: p.size, sha256: p.sha256 }))));
  }

  /** Aborts the session's upload on the store (deletes a single-PUT object); an upload the store no longer knows is fine. */
  async abort(session: UploadSession): Promise<void> {
    if (session.singlePut) return this.storage.delete(session.storageKey);
    if (!session.storageUploadId) return;
    try {
      await this.storage.abortMultipartUpload(session.storageKey, session.storageUploadId);
    } catch (e) {
      if (!isStorageError(e, 'NO_SUCH_UPLOAD')) throw e;
    }
  }

  /** The PUT a client sends for `part` (single-PUT object or multipart part), bound to its checksums. */
  async presign(session: UploadSession, part: UploadPart): Promise<PresignedPart> {
    const checksums = { sha256: part.sha256, md5: part.md5 ?? undefined };
    const req = session.singlePut
      ? await this.storage.presignPut(session.storageKey, { size: part.size, checksums, contentType: session.mimeType ?? undefined, expiresIn: this.partUrlTtl })
      : await this.storage.presignUploadPart(session.storageKey, session.storageUploadId!, part.partNumber, { size: part.size, checksums, expiresIn: this.partUrlTtl });
    return {
      url: req.url, method: req.method, urlExpiresAt: req.expiresAt,
      headers: Object.entries(req.headers).map(([name, value]) => ({ name, value })),
    };
  }

  /**
   * The parts the store holds (those numbered `from`..`to` at least, when given: pages
   * outside are not read). With `nullIfGone`, null when the store no longer knows the upload.
   */
  async listStored(session: UploadSession, opts?: { from?: number; to?: number }): Promise<Map<number, UploadedPart>>;
  async listStored(session: UploadSession, opts: { nullIfGone: true }): Promise<Map<number, UploadedPart> | null>;
  async listStored(session: UploadSession, opts: { nullIfGone?: boolean; from?: number; to?: number } = {}): Promise<Map<number, UploadedPart> | null> {
    const out = new Map<number, UploadedPart>();
    if (session.singlePut) {
      const object = await this.storage.head(session.storageKey).catch((e) => {
        if (isStorageError(e, 'NOT_FOUND')) return null;
        throw e;
      });
      if (object) out.set(1, { partNumber: 1, etag: object.etag ?? '', size: object.size });
      return out;
    }
    if (!session.storageUploadId) return out;
    let marker = opts.from && opts.from > 1 ? opts.from - 1 : undefined;
    try {
      do {
        const page = await this.storage.listParts(session.storageKey, session.storageUploadId, { marker });
        for (const p of page.parts) out.set(p.partNumber, p);
        marker = page.nextMarker;
      } while (marker !== undefined && !(opts.to !== undefined && marker >= opts.to));
    } catch (e) {
      if (isStorageError(e, 'NO_SUCH_UPLOAD')) return opts.nullIfGone ? null : out;
      throw e;
    }
    return out;
  }

  /** Whether the store holds an object at `key` of exactly `size` bytes. */
  async objectExists(key: string, size: number): Promise<boolean> {
    try {
      return (await this.storage.head(key)).size === size;
    } catch (e) {
      if (isStorageError(e, 'NOT_FOUND')) return false;
      throw e;
    }
  }
}

/**
 * Whether the store holds a part as declared: its size, and the ETag already recorded for it
 * (or `etag`, one a client reports). Store ETags come unquoted (the storage contract).
 */
export function storedAsDeclared(part: UploadPart, stored: UploadedPart | undefined, etag = part.etag): boolean {
  return !!stored && stored.size === part.size && (etag === null || stored.etag === etag);
}

