import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { isStorageError, StorageError } from '../errors';
import { unquoteEtag } from '../etag';
import { normaliseKey } from '../keys';
import type {
  ByteRange,
  ListPartsPage,
  MultipartUploadInfo,
  ObjectInfo,
  PartChecksums,
  PresignedRequest,
  StorageAdapter,
  StorageLimits,
  UploadedPart,
} from '../types';
import { commit, OBJECT_FILE, rollForward, sameParts, settle, type CommitRecord, type Completer } from './completion';
import { crashPoint } from './crash';
import { DEFAULT_SEGMENT_SIZE, KeyRing } from './envelope';
import { ObjectReader } from './object-reader';
import { createEnvelopeFile, writeSealed, writeSealedAt } from './sealed-io';
import { fsCall, isMissing, translateFsError } from './errors';
import { GiB, MiB, TiB, type LocalOptions } from './options';
import { UrlSigner, type GetClaims, type PartClaims } from './signing';
import { Staging, type StagedPart, type UploadMeta } from './staging';
import { writeHashed, writeHashedAt } from './streams';
import { checkRange, expiry, moveIntoPlace, pruneEmptyDirs } from './object-files';

const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * Local-disk store with S3 multipart semantics.
 *
 *   <root>/objects/<key>   completed objects (immutable; replaced only by an atomic rename)
 *   <root>/.uploads/...    uploads in progress: parts written in place or on their own (see ./staging)
 *   <root>/.tmp/...        claimed uploads, assembly and copy scratch space, same file system as objects
 *
 * Given a part size (what Tessera's uploads give), parts land at their offset in one file
 * and completing renames that file into place: 1x disk, each byte written once. Otherwise,
 * or when the parts do not tile, completing copies the parts into a new file.
 *
 * Part PUTs and GETs go through the server's own signed URLs (`blobRoutes`), which call
 * `verifyPartUrl`/`receivePart` and `verifyGetUrl`/`head`/`getStream`. Each part's SHA-256
 * is bound into its URL and checked as the bytes stream in; a part's etag is its SHA-256
 * (lowercase hex). An object's etag is derived from its file (size and mtime), which is
 * enough because objects are never rewritten in place. Because keys map to paths, a key
 * cannot also be a "directory" of other keys (`a` and `a/b`): that is PRECONDITION_FAILED.
 *
 * Crash safety (kill -9 or power cut at any instant; each step is named in ./crash and a
 * test kills the process at every one). Every change of state is one atomic rename, and the
 * bytes or records a rename publishes are fsynced before it:
 * - create: the upload's directory (upload.json, the empty data file) is built under .tmp
 *   and renamed into .uploads: an upload exists whole or not at all.
 * - part: bytes are written and fsynced, then a symlink renamed over `<n>` records the part.
 *   The data file is created only with the upload, never by a part write, so a part link
 *   always describes bytes of the file it was written to. A dead writer's slot marker is stale.
 * - complete: the upload is claimed (renamed to .tmp/claimed-*); the object file is
 *   prepared (copy path: assembled into the claimed directory); then `commit.json` (the
 *   object's file, inode, size and parts) is written durably: the commit point. Before it, a
 *   crash leaves the intact upload (put back when its claimer is found dead). After it, the
 *   completion only rolls forward, idempotently (truncate, fsync, rename into place), by
 *   whoever touches the upload next; the object is recognised as this completion's by inode
 *   and size, never rebuilt. Last, the claimed directory is renamed to trash-* in one step
 *   and removed: a partly removed directory is trash, never mistaken for an upload.
 * - abort: the upload's directory is renamed to trash-*, then removed.
 * So after any crash an upload is either intact (listParts as before, completes) or
 * completed (its object in place with the committed parts' bytes; NO_SUCH_UPLOAD to further
 * part or list calls, and a repeated complete with the same parts answers the object).
 *
 * Encryption at rest (`encryption` option; format in ./envelope): the same state machine on
 * encrypted files. An upload records its segment size; its data file is an envelope from
 * create on, a part goes in place only when partSize is a multiple of the segment size (so
 * parts start on segment boundaries), a part of its own is an envelope of its own. The
 * in-place path seals the object's size into the data file's header before the commit point
 * (a crash before it leaves a seal nothing reads); the copy path decrypts the parts and
 * re-encrypts them into the object's own envelope. Sizes in commit records are bytes on
 * disk; sizes, hashes and ranges the contract speaks of are always the plaintext's.
 */
export class LocalStorageAdapter implements StorageAdapter {
  readonly name = 'local';
  readonly checksum = 'SHA256' as const;
  readonly features = { presignPut: false, listObjects: false };
  readonly limits: StorageLimits;
  readonly root: string;
  readonly urlPrefix: string;
  readonly verifyMaxBytes: number;
  private readonly objectsDir: string;
  private readonly tmpDir: string;
  private readonly signer: UrlSigner;
  /** Master keys (encryption at rest, ./envelope); undefined: new files are plaintext. */
  readonly ring?: KeyRing;
  /** The ring new files are encrypted with; undefined when they are written in plaintext. */
  private readonly writeRing?: KeyRing;
  private readonly segmentSize: number;
  /** Reads objects (plaintext or encrypted; with encryption on, plaintext ones are CORRUPT unless `encryption.allowPlaintext`). */
  private readonly reader: ObjectReader;
  private readonly staging: Staging;
  /** What the completion state machine (./completion) needs of this adapter. */
  private readonly completer: Completer;

  constructor(opts: LocalOptions) {
    this.root = path.resolve(opts.root);
    this.urlPrefix = (opts.urlPrefix ?? '/blobs').replace(/\/+$/, '');
    this.objectsDir = path.join(this.root, 'objects');
    this.tmpDir = path.join(this.root, '.tmp');
    this.signer = new UrlSigner(opts.signingSecret);
    this.ring = opts.encryption ? new KeyRing(opts.encryption.keys) : undefined;
    this.writeRing = opts.encryption?.write === false ? undefined : this.ring;
    this.segmentSize = opts.encryption?.segmentSize ?? DEFAULT_SEGMENT_SIZE;
    this.reader = new ObjectReader(this.ring, this.writeRing && !opts.encryption?.allowPlaintext ? 'refuse' : 'allow');
    this.staging = new Staging(this.root, this.tmpDir, async (uploadId) => (await settle(this.completer, uploadId))?.restored ?? false);
    this.completer = {
      staging: this.staging,
      objectPath: (key) => this.objectPath(key),
      place: (file, target) => moveIntoPlace(file, target),
      head: (key) => this.head(key),
      checkCompletion: (wanted, stored) => this.checkCompletion(wanted, stored),
      ring: this.ring,
      encrypt: this.writeRing !== undefined,
      segmentSize: this.segmentSize,
    };
    this.verifyMaxBytes = opts.verifyMaxBytes ?? 4 * GiB;
    this.limits = { minPartSize: opts.minPartSize ?? 5 * MiB, maxPartSize: 5 * GiB, maxParts: 10_000, maxObjectSize: 5 * TiB };
  }

  async createMultipartUpload(key: string, opts?: { contentType?: string; partSize?: number }): Promise<string> {
    this.objectPath(key);
    const partSize = opts?.partSize;
    if (partSize !== undefined && (!Number.isSafeInteger(partSize) || partSize < 1 || partSize > this.limits.maxPartSize)) {
      throw new StorageError('INVALID_PART', `part size ${partSize} is out of bounds`);
    }
    const uploadId = this.staging.newUploadId();
    const ring = this.writeRing;
    const segmentSize = ring ? this.segmentSize : undefined;
    await fsCall('INTERNAL', () =>
      this.staging.create(
        { key, uploadId, contentType: opts?.contentType, initiated: new Date().toISOString(), partSize, segmentSize },
        ring ? (file) => createEnvelopeFile(file, ring, this.segmentSize) : undefined,
      ),
    );
    return uploadId;
  }

  /** NOT_SUPPORTED: parts are written in place, a one-part upload costs no more than a PUT. */
  async presignPut(): Promise<PresignedRequest> {
    throw new StorageError('NOT_SUPPORTED', 'local: no single-request PUT; use a one-part multipart upload');
  }

  /** NOT_SUPPORTED: nothing here needs many objects checked at once (objects arrive through completeMultipartUpload). */
  async *listObjects(): AsyncIterable<ObjectInfo> {
    throw new StorageError('NOT_SUPPORTED', 'local: no object listing');
  }

  async presignUploadPart(
    key: string,
    uploadId: string,
    partNumber: number,
    opts: { size: number; checksums: PartChecksums; expiresIn: number },
  ): Promise<PresignedRequest> {
    this.checkPartNumber(partNumber);
    if (!Number.isSafeInteger(opts.size) || opts.size < 0 || opts.size > this.limits.maxPartSize) {
      throw new StorageError('INVALID_PART', `part size ${opts.size} is out of bounds`);
    }
    const sha256 = opts.checksums.sha256?.toLowerCase();
    if (!SHA256_HEX.test(sha256 ?? '')) throw new StorageError('BAD_DIGEST', 'a part needs its SHA-256 (hex)');
    await fsCall('NO_SUCH_UPLOAD', () => this.staging.meta(uploadId, key));
    const expires = expiry(opts.expiresIn);
    const query = this.signer.signPart({ key, uploadId, partNumber, size: opts.size, sha256, expires });
    return { url: `${this.urlPrefix}/part?${query}`, method: 'PUT', headers: {}, expiresAt: new Date(expires) };
  }

  async listParts(key: string, uploadId: string, opts?: { marker?: number; maxParts?: number }): Promise<ListPartsPage> {
    const max = Math.max(1, Math.min(opts?.maxParts ?? 1000, 1000));
    const marker = opts?.marker ?? 0;
    return fsCall('NO_SUCH_UPLOAD', async () => {
      await this.staging.meta(uploadId, key);
      const after = await this.staging.parts(uploadId, undefined, { after: marker, limit: max + 1 });
      const page = after.slice(0, max).map(({ partNumber, etag, size }) => ({ partNumber, etag, size }));
      return { parts: page, nextMarker: after.length > max ? page[page.length - 1].partNumber : undefined };
    });
  }

  async uploadPartCopy(
    key: string,
    uploadId: string,
    partNumber: number,
    source: { key: string; range: ByteRange },
  ): Promise<UploadedPart> {
    this.checkPartNumber(partNumber);
    const meta = await fsCall('NO_SUCH_UPLOAD', () => this.staging.meta(uploadId, key));
    if (source.range.length > this.limits.maxPartSize) throw new StorageError('INVALID_PART', 'copied range exceeds maxPartSize');
    const bytes = await this.getStream(source.key, source.range);
    return this.storePart(uploadId, meta, partNumber, bytes, source.range.length);
  }

  async completeMultipartUpload(
    key: string,
    uploadId: string,
    parts: { partNumber: number; etag: string }[],
  ): Promise<ObjectInfo> {
    const target = this.objectPath(key);
    // an earlier completer died past its commit point: finished now; the same parts answer its object
    const earlier = (await fsCall('INTERNAL', () => settle(this.completer, uploadId)))?.completed;
    if (earlier && earlier.key === key && (!earlier.parts || sameParts(earlier.parts, parts))) return earlier.object;
    const meta = await fsCall('NO_SUCH_UPLOAD', () => this.staging.meta(uploadId, key));
    this.checkCompletion(parts, await fsCall('NO_SUCH_UPLOAD', () => this.staging.parts(uploadId)));

    const claimed = await fsCall('NO_SUCH_UPLOAD', () => this.staging.claim(uploadId));
    crashPoint('complete.claimed');
    let record: CommitRecord;
    try {
      record = await commit(this.completer, { key, uploadId, meta, parts, dir: claimed.dir });
    } catch (e) {
      await fs.rm(path.join(claimed.dir, OBJECT_FILE), { force: true });
      await claimed.release().catch(() => undefined);
      throw translateFsError(e, 'NO_SUCH_UPLOAD');
    }
    // past the commit point: only forward
    await fsCall('INTERNAL', () => rollForward(claimed.dir, record, target, moveIntoPlace));
    await this.staging.trash(claimed.dir, 'complete').catch(() => undefined); // what is left is swept later
    return { ...(await this.head(key)), contentType: meta.contentType };
  }

  async abortMultipartUpload(key: string, uploadId: string): Promise<void> {
    await fsCall('NO_SUCH_UPLOAD', () => this.staging.meta(uploadId, key));
    await fsCall('NO_SUCH_UPLOAD', () => this.staging.trash(this.staging.uploadDir(uploadId), 'abort'));
  }

  /**
   * Whether the object's bytes are the given parts (each range's SHA-256), reading it once;
   * past `verifyMaxBytes` only its size is compared. The upload service calls this before
   * an object becomes a revision. False also when the object is missing or of another size.
   */
  async verifyObject(key: string, parts: { offset: number; size: number; sha256: string }[]): Promise<boolean> {
    const size = parts.reduce((n, p) => Math.max(n, p.offset + p.size), 0);
    // the plaintext's hashes (an encrypted object is decrypted, every segment authenticated: CORRUPT is false)
    const info = await this.head(key).catch((e) => (isStorageError(e, 'NOT_FOUND') || isStorageError(e, 'CORRUPT') ? null : Promise.reject(e)));
    if (!info || info.size !== size) return false;
    return size > this.verifyMaxBytes || this.reader.rangesHash(this.objectPath(key), parts);
  }

  async *listMultipartUploads(opts?: { prefix?: string }): AsyncIterable<MultipartUploadInfo> {
    try {
      await this.staging.sweep();
      for await (const upload of this.staging.list()) {
        if (!opts?.prefix || upload.key.startsWith(opts.prefix)) yield upload;
      }
    } catch (e) {
      throw translateFsError(e);
    }
  }

  async presignGet(
    key: string,
    opts: { expiresIn: number; range?: ByteRange; fileName?: string; contentType?: string; grant?: string },
  ): Promise<PresignedRequest> {
    this.objectPath(key);
    if (opts.range) checkRange(opts.range);
    const expires = expiry(opts.expiresIn);
    const query = this.signer.signGet({ key, expires, range: opts.range, fileName: opts.fileName, contentType: opts.contentType, grant: opts.grant });
    return { url: `${this.urlPrefix}/object?${query}`, method: 'GET', headers: {}, expiresAt: new Date(expires) };
  }

  /** The plaintext size; for an encrypted object also its key id (`encryption`). CORRUPT / KEY_UNAVAILABLE per ./envelope. */
  async head(key: string): Promise<ObjectInfo> {
    return this.reader.info(this.objectPath(key), key);
  }

  async delete(key: string): Promise<void> {
    const file = this.objectPath(key);
    try {
      await fs.unlink(file);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (isMissing(e) || code === 'EISDIR' || code === 'EPERM') return;
      throw translateFsError(e);
    }
    await pruneEmptyDirs(this.objectsDir, path.dirname(file));
  }

  /**
   * The object's plaintext bytes. An encrypted object is decrypted segment by segment (only
   * those the range touches); the first is read and authenticated before this resolves, so
   * a tampered header or first segment rejects with CORRUPT, a later one errors the stream
   * with CORRUPT: wrong bytes are never returned.
   */
  async getStream(key: string, range?: ByteRange): Promise<Readable> {
    const file = this.objectPath(key);
    if (range) checkRange(range);
    const { size } = await this.head(key);
    const { offset, length } = range ?? { offset: 0, length: size };
    if (offset + length > size) throw new StorageError('INVALID_RANGE', `range beyond the object's ${size} bytes`);
    if (length === 0) return Readable.from([]);
    return this.reader.stream(file, { offset, length });
  }

  async ping(): Promise<void> {
    await fsCall('UNAVAILABLE', async () => {
      await fs.mkdir(this.objectsDir, { recursive: true });
      await fs.access(this.objectsDir, fs.constants.W_OK);
    });
  }

  /** Checks a part-PUT URL's query; SIGNATURE_INVALID / SIGNATURE_EXPIRED. */
  verifyPartUrl(query: URLSearchParams): PartClaims {
    return this.signer.verifyPart(query);
  }

  /** Checks a GET URL's query; SIGNATURE_INVALID / SIGNATURE_EXPIRED. */
  verifyGetUrl(query: URLSearchParams): GetClaims {
    return this.signer.verifyGet(query);
  }

  /**
   * Streams one part's bytes to disk while hashing them. BAD_DIGEST (nothing stored) if the
   * size or SHA-256 differ from what the URL promised; NO_SUCH_UPLOAD if the upload is gone.
   */
  async receivePart(
    uploadId: string,
    partNumber: number,
    expectedSize: number,
    expectedSha256: string,
    body: Readable,
  ): Promise<UploadedPart> {
    this.checkPartNumber(partNumber);
    const meta = await fsCall('NO_SUCH_UPLOAD', () => this.staging.meta(uploadId));
    return this.storePart(uploadId, meta, partNumber, body, expectedSize, expectedSha256);
  }

  /**
   * Writes a part in place when its slot is free, else to a file of its own, then records it.
   * BAD_DIGEST (nothing recorded) unless exactly `size` bytes arrive, with `sha256` when given.
   */
  private storePart(uploadId: string, meta: UploadMeta, partNumber: number, body: Readable, size: number, sha256?: string): Promise<UploadedPart> {
    const checked = (got: { size: number; sha256: string }): UploadedPart => {
      if (got.size !== size || (sha256 !== undefined && got.sha256 !== sha256)) {
        throw new StorageError('BAD_DIGEST', 'part does not match the size and SHA-256 it was signed for');
      }
      return { partNumber, etag: got.sha256, size };
    };
    return fsCall('NO_SUCH_UPLOAD', async () => {
      const S = meta.segmentSize;
      const ring = S ? this.needRing() : undefined;
      // an encrypted data file takes parts in place only when they start on segment boundaries
      const inPlace = !S || (meta.partSize ?? 0) % S === 0;
      const slot = inPlace ? await this.staging.claimSlot(uploadId, meta, partNumber, size, this.limits.maxObjectSize) : null;
      if (slot) {
        try {
          const written = ring ? await writeSealedAt(body, slot.file, ring, slot.offset, size) : await writeHashedAt(body, slot.file, slot.offset, size);
          const part = checked(written);
          crashPoint('part.written');
          await this.staging.installInPlace(uploadId, part, slot.offset);
          crashPoint('part.linked');
          return part;
        } finally {
          await slot.release();
        }
      }
      const tmp = this.staging.tempFile(uploadId);
      try {
        const part = checked(ring ? await writeSealed(body, tmp, ring, S!, size) : await writeHashed(body, tmp, size));
        crashPoint('part.own-written');
        await this.staging.install(uploadId, part, tmp);
        crashPoint('part.linked');
        return part;
      } catch (e) {
        await fs.rm(tmp, { force: true });
        throw e;
      }
    });
  }

  private needRing(): KeyRing {
    if (!this.ring) throw new StorageError('KEY_UNAVAILABLE', 'local: this upload is encrypted and no master key is configured');
    return this.ring;
  }

  private objectPath(key: string): string {
    return path.join(this.objectsDir, ...normaliseKey(key).split('/'));
  }

  private checkPartNumber(n: number): void {
    if (!Number.isSafeInteger(n) || n < 1 || n > this.limits.maxParts) {
      throw new StorageError('INVALID_PART', `part number ${n} is not in 1..${this.limits.maxParts}`);
    }
  }

  /** INVALID_PART / PART_TOO_SMALL per the contract; returns the parts to join, in order. */
  private checkCompletion(wanted: { partNumber: number; etag: string }[], stored: StagedPart[]): StagedPart[] {
    if (wanted.length === 0) throw new StorageError('INVALID_PART', 'no parts given');
    const byNumber = new Map(stored.map((p) => [p.partNumber, p]));
    let total = 0;
    return wanted.map((w, i) => {
      const p = byNumber.get(w.partNumber);
      if (i > 0 && w.partNumber <= wanted[i - 1].partNumber) throw new StorageError('INVALID_PART', 'parts must be ascending');
      if (!p || p.etag !== unquoteEtag(w.etag)) throw new StorageError('INVALID_PART', `part ${w.partNumber} is missing or differs`);
      if (i < wanted.length - 1 && p.size < this.limits.minPartSize) {
        throw new StorageError('PART_TOO_SMALL', `part ${w.partNumber} is under ${this.limits.minPartSize} bytes`);
      }
      total += p.size;
      if (total > this.limits.maxObjectSize) throw new StorageError('INVALID_PART', 'object would exceed maxObjectSize');
      return p;
    });
  }
}
