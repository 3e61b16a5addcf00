/**
 * The storage-adapter contract: S3 multipart semantics, addressed by (key, uploadId) so an
 * upload can span many requests, restarts and server instances.
 *
 * Every method rejects with a `StorageError` (see ./errors) carrying a `StorageErrorCode`;
 * each adapter translates its provider's errors in one place. Keys reaching an adapter
 * have already passed `normaliseKey` (./keys). Sizes and offsets are byte counts (numbers:
 * 50 GiB is far below 2^53). Hashes are lowercase hex.
 */
import type { Readable } from 'node:stream';

export interface StorageLimits {
  /** Smallest size of every part but the last. */
  minPartSize: number;
  maxPartSize: number;
  maxParts: number;
  maxObjectSize: number;
}

/** The per-part checksum the backend itself enforces on a presigned part PUT. */
export type PartChecksum = 'SHA256' | 'MD5' | 'NONE';

export interface PartChecksums {
  /** SHA-256 of the part, lowercase hex (always known to the server). */
  sha256: string;
  /** MD5 of the part, lowercase hex; needed where `checksum` is 'MD5'. */
  md5?: string;
}

/** A request the client makes itself, straight to the store. */
export interface PresignedRequest {
  /** Absolute URL, or a path relative to the Tessera server (local store). */
  url: string;
  method: 'PUT' | 'GET';
  /** Headers the client must send exactly as given (they are bound into the signature). */
  headers: Record<string, string>;
  expiresAt: Date;
}

export interface UploadedPart {
  partNumber: number;
  /** As the store reports it, without surrounding quotes. */
  etag: string;
  size: number;
}

export interface ListPartsPage {
  parts: UploadedPart[];
  /** Pass as `marker` to get the next page; undefined on the last page. */
  nextMarker?: number;
}

export interface ObjectInfo {
  key: string;
  size: number;
  etag?: string;
  contentType?: string;
  lastModified?: Date;
  /**
   * How the store keeps the object encrypted at rest, when the adapter can tell (head):
   * local 'AES-256-GCM' (keyId: the master key's id), S3 'AES256' | 'aws:kms' (keyId: the
   * KMS key), GCS 'gcs-kms' (keyId: the Cloud KMS key name). Undefined: not encrypted by
   * Tessera's configuration (a provider may still encrypt with its own keys).
   */
  encryption?: { algorithm: string; keyId?: string };
}

export interface ByteRange {
  offset: number;
  length: number;
}

export interface MultipartUploadInfo {
  key: string;
  uploadId: string;
  initiated: Date;
}

/** Optional capabilities (as rclone's fs/features.go): what an adapter lacks, it refuses with NOT_SUPPORTED. */
export interface StorageFeatures {
  /** `presignPut` works: a small object can arrive in one PUT instead of a multipart upload. */
  presignPut: boolean;
  /** `listObjects` works: many objects checked with one request per page instead of one `head` each. */
  listObjects: boolean;
}

export interface StorageAdapter {
  /** 'local' | 's3' | 'gcs' */
  readonly name: string;
  readonly limits: StorageLimits;
  readonly checksum: PartChecksum;
  readonly features: StorageFeatures;

  /**
   * Starts a multipart upload; returns its upload id. `partSize`, when the caller knows it,
   * is the size of every part but the last: a store may use it to lay parts out (the local
   * store writes each part straight to its offset in the object). Parts of other sizes must
   * still work.
   */
  createMultipartUpload(key: string, opts?: { contentType?: string; partSize?: number }): Promise<string>;

  /**
   * A URL (+ headers) for one part PUT. Where the backend can, the part's checksum is bound
   * into the request so a part whose bytes differ is refused by the store itself.
   * NO_SUCH_UPLOAD if the upload is unknown (where the backend can tell without I/O, else at PUT).
   */
  presignUploadPart(
    key: string,
    uploadId: string,
    partNumber: number,
    opts: { size: number; checksums: PartChecksums; expiresIn: number },
  ): Promise<PresignedRequest>;

  /**
   * A URL (+ headers) that writes the whole object `key` in one PUT of `size` bytes (at most
   * `limits.minPartSize`), replacing what is there; its checksum is bound as in
   * presignUploadPart. `head` then reports it with the ETag the PUT answered. NOT_SUPPORTED
   * unless `features.presignPut`.
   */
  presignPut(key: string, opts: { size: number; checksums: PartChecksums; contentType?: string; expiresIn: number }): Promise<PresignedRequest>;
  /** One page of uploaded parts, ascending by part number. NO_SUCH_UPLOAD if unknown/aborted. */
  listParts(key: string, uploadId: string, opts?: { marker?: number; maxParts?: number }): Promise<ListPartsPage>;

  /**
   * Server-side copy of a byte range of an existing object into a part (no bytes through us).
   * NOT_FOUND if the source is missing; NO_SUCH_UPLOAD if the upload is unknown.
   */
  uploadPartCopy(
    key: string,
    uploadId: string,
    partNumber: number,
    source: { key: string; range: ByteRange },
  ): Promise<UploadedPart>;

  /**
   * Assembles the listed parts (ascending) into the object, atomically.
   * INVALID_PART if a part is missing or its etag differs; PART_TOO_SMALL if a non-last part is
   * under `limits.minPartSize`; NO_SUCH_UPLOAD if unknown (including already completed).
   */
  completeMultipartUpload(key: string, uploadId: string, parts: { partNumber: number; etag: string }[]): Promise<ObjectInfo>;

  /** Discards the upload and its parts. NO_SUCH_UPLOAD if unknown. */
  abortMultipartUpload(key: string, uploadId: string): Promise<void>;

  /** Multipart uploads in progress (for the janitor), optionally under a key prefix. */
  listMultipartUploads(opts?: { prefix?: string }): AsyncIterable<MultipartUploadInfo>;

  /**
   * A signed GET, optionally ranged, with a download file name (Content-Disposition).
   * `grant` is an opaque string for stores that serve their own URLs (local): it is covered by
   * the signature and handed back on every request (GetClaims.grant) so the server can check
   * that the access the URL was minted under still holds. Presigning stores (S3, GCS) ignore it.
   */
  presignGet(
    key: string,
    opts: { expiresIn: number; range?: ByteRange; fileName?: string; contentType?: string; grant?: string },
  ): Promise<PresignedRequest>;

  /** NOT_FOUND if absent. */
  head(key: string): Promise<ObjectInfo>;

  /**
   * Every object whose key starts with `prefix`, ascending by key, each with the `key`, `size`
   * and `etag` that `head` reports for it at that moment (contentType and encryption are not
   * listed). Objects being written appear once the write succeeded, as with `head`; multipart
   * uploads in progress do not appear. NOT_SUPPORTED unless `features.listObjects`.
   */
  listObjects(prefix: string): AsyncIterable<ObjectInfo>;

  /** Idempotent: deleting an absent key succeeds. */
  delete(key: string): Promise<void>;

  /** Object bytes, optionally a range. NOT_FOUND if absent. */
  getStream(key: string, range?: ByteRange): Promise<Readable>;

  /** Checks the store is reachable (for /readyz). */
  ping(): Promise<void>;

  /** Releases sockets, timers. */
  close?(): Promise<void>;
}
