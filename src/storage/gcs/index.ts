/**
 * Google Cloud Storage adapter.
 *
 * Multipart scheme: GCS's XML API multipart upload (S3-compatible: initiate, upload part,
 * list parts, complete, abort, list uploads), addressed by (object name, upload id) exactly
 * like the StorageAdapter contract. Clients PUT parts straight to GCS through V4 signed URLs
 * that bind `partNumber`, `uploadId` and the part's `Content-MD5`; GCS itself refuses a part
 * whose MD5 differs, hence `checksum = 'MD5'`. The XML calls go through the
 * @google-cloud/storage client's auth client; object reads, metadata and deletes use the
 * library's JSON API calls.
 *
 * uploadPartCopy: GCS has no UploadPartCopy, and neither compose nor rewrite can put a byte
 * range of an object into a multipart part (they produce whole objects, and an object cannot
 * become a part). So this one operation streams the range through this server: a ranged read
 * of the source's current generation piped into the part PUT, with the part's MD5 computed on
 * the way and checked against the ETag GCS returns. No other operation moves object bytes
 * through the API server.
 */
import type { Readable } from 'node:stream';
import { Storage, type Bucket, type File } from '@google-cloud/storage';
import { StorageError } from '../errors';
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
import { translating } from './errors';
import { copyRangeIntoPart } from './part-copy';
import { openReadStream } from './read';
import { signGet, signPartPut } from './signing';
import { XmlMultipartClient } from './xml-multipart';

export interface GcsOptions {
  bucket: string;
  /** Defaults to the credentials' project. */
  projectId?: string;
  /** Path to a service-account JSON key; default: Application Default Credentials. */
  keyFilename?: string;
  /** An inline service-account key (`client_email`, `private_key`, ...). */
  credentials?: object;
  /** Overrides `https://storage.googleapis.com` (JSON API at `<apiEndpoint>/storage/v1`, XML API at the root). */
  apiEndpoint?: string;
  /** Prepended verbatim to every key (e.g. `tenant-a/`); stripped from listed keys. */
  prefix?: string;
  /**
   * GCS_KMS_KEY: a Cloud KMS key (projects/P/locations/L/keyRings/R/cryptoKeys/K) every object
   * is encrypted with (CMEK). Sent when each multipart upload is initiated, which is how every
   * object Tessera writes to GCS is made (parts and copied ranges go into such an upload).
   */
  kmsKeyName?: string;
}

const MiB = 1024 * 1024;

/** https://cloud.google.com/storage/quotas#requests and .../multipart-uploads (XML API limits). */
const LIMITS: StorageLimits = {
  minPartSize: 5 * MiB,
  maxPartSize: 5 * 1024 * MiB,
  maxParts: 10_000,
  maxObjectSize: 5 * 1024 * 1024 * MiB,
};

export class GcsStorageAdapter implements StorageAdapter {
  readonly name = 'gcs';
  readonly limits = LIMITS;
  readonly checksum = 'MD5' as const;
  readonly features = { presignPut: false, listObjects: false };

  private readonly storage: Storage;
  private readonly bucket: Bucket;
  private readonly xml: XmlMultipartClient;
  private readonly prefix: string;
  private readonly kmsKeyName?: string;

  constructor(options: GcsOptions) {
    if (!options?.bucket) throw new StorageError('INTERNAL', 'gcs: options.bucket is required');
    this.storage = new Storage({
      projectId: options.projectId,
      keyFilename: options.keyFilename,
      credentials: options.credentials,
      apiEndpoint: options.apiEndpoint,
      // A custom endpoint (private endpoint, test stand-in) still gets authenticated requests.
      useAuthWithCustomEndpoint: options.apiEndpoint ? true : undefined,
    });
    this.bucket = this.storage.bucket(options.bucket);
    this.xml = new XmlMultipartClient(this.storage, options.bucket);
    this.prefix = options.prefix ?? '';
    this.kmsKeyName = options.kmsKeyName;
  }

  private file(key: string): File {
    return this.bucket.file(this.prefix + key);
  }

  createMultipartUpload(key: string, opts?: { contentType?: string }): Promise<string> {
    return translating(() => this.xml.initiate(this.prefix + key, opts?.contentType, this.kmsKeyName));
  }

  /** NOT_SUPPORTED (not built yet for GCS): small objects take a one-part multipart upload. */
  async presignPut(): Promise<PresignedRequest> {
    throw new StorageError('NOT_SUPPORTED', 'gcs: no single-request PUT; use a one-part multipart upload');
  }

  /** NOT_SUPPORTED (not built yet for GCS: without presignPut nothing needs it). */
  async *listObjects(): AsyncIterable<ObjectInfo> {
    throw new StorageError('NOT_SUPPORTED', 'gcs: no object listing');
  }

  async presignUploadPart(
    key: string,
    uploadId: string,
    partNumber: number,
    opts: { size: number; checksums: PartChecksums; expiresIn: number },
  ): Promise<PresignedRequest> {
    checkPartNumber(partNumber);
    if (opts.size > LIMITS.maxPartSize) throw new StorageError('INVALID_PART', `gcs: part larger than ${LIMITS.maxPartSize} bytes`);
    return translating(() => signPartPut(this.file(key), uploadId, partNumber, opts.checksums, opts.expiresIn));
  }

  listParts(key: string, uploadId: string, opts?: { marker?: number; maxParts?: number }): Promise<ListPartsPage> {
    return translating(() => this.xml.listParts(this.prefix + key, uploadId, opts?.marker, opts?.maxParts), 'NO_SUCH_UPLOAD');
  }

  async uploadPartCopy(
    key: string,
    uploadId: string,
    partNumber: number,
    source: { key: string; range: ByteRange },
  ): Promise<UploadedPart> {
    checkPartNumber(partNumber);
    if (source.range.length > LIMITS.maxPartSize) throw new StorageError('INVALID_PART', `gcs: part larger than ${LIMITS.maxPartSize} bytes`);
    return copyRangeIntoPart(this.xml, this.bucket, { name: this.prefix + key, uploadId, partNumber }, { name: this.prefix + source.key, range: source.range });
  }

  async completeMultipartUpload(key: string, uploadId: string, parts: { partNumber: number; etag: string }[]): Promise<ObjectInfo> {
    await translating(() => this.xml.complete(this.prefix + key, uploadId, parts), 'NO_SUCH_UPLOAD');
    const info = await this.head(key);
    if (this.kmsKeyName && info.encryption?.keyId !== this.kmsKeyName) {
      // never let an object the store did not encrypt with GCS_KMS_KEY become a revision
      await this.delete(key).catch(() => undefined);
      throw new StorageError('NOT_SUPPORTED', `gcs: the object was not encrypted with GCS_KMS_KEY (it reports ${info.encryption?.keyId ?? 'none'}); removed`);
    }
    return info;
  }

  abortMultipartUpload(key: string, uploadId: string): Promise<void> {
    return translating(() => this.xml.abort(this.prefix + key, uploadId), 'NO_SUCH_UPLOAD');
  }

  async *listMultipartUploads(opts?: { prefix?: string }): AsyncIterable<MultipartUploadInfo> {
    const uploads = this.xml.listUploads(this.prefix + (opts?.prefix ?? ''));
    for (;;) {
      const next = await translating(() => uploads.next());
      if (next.done) return;
      const u = next.value;
      if (u.key.startsWith(this.prefix)) yield { ...u, key: u.key.slice(this.prefix.length) };
    }
  }

  async presignGet(key: string, opts: { expiresIn: number; range?: ByteRange; fileName?: string; contentType?: string }): Promise<PresignedRequest> {
    if (opts.range) checkRange(opts.range);
    return translating(() => signGet(this.file(key), opts));
  }

  async head(key: string): Promise<ObjectInfo> {
    const [meta] = await translating(() => this.file(key).getMetadata());
    return {
      key,
      size: Number(meta.size),
      etag: meta.md5Hash ? Buffer.from(meta.md5Hash, 'base64').toString('hex') : meta.etag,
      contentType: meta.contentType,
      lastModified: meta.updated ? new Date(meta.updated) : undefined,
      encryption: meta.kmsKeyName ? { algorithm: 'gcs-kms', keyId: String(meta.kmsKeyName).replace(/\/cryptoKeyVersions\/\d+$/, '') } : undefined,
    };
  }

  async delete(key: string): Promise<void> {
    await translating(() => this.file(key).delete({ ignoreNotFound: true }));
  }

  async getStream(key: string, range?: ByteRange): Promise<Readable> {
    if (range) checkRange(range);
    return openReadStream(this.file(key), range);
  }

  async ping(): Promise<void> {
    const [exists] = await translating(() => this.bucket.exists());
    if (!exists) throw new StorageError('NOT_FOUND', `gcs: bucket ${this.bucket.name} does not exist`);
  }
}

function checkPartNumber(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > LIMITS.maxParts) throw new StorageError('INVALID_PART', `gcs: part number ${n} outside 1..${LIMITS.maxParts}`);
}

function checkRange(r: ByteRange): void {
  if (!(Number.isInteger(r.offset) && Number.isInteger(r.length) && r.offset >= 0 && r.length > 0)) {
    throw new StorageError('INVALID_RANGE', `gcs: invalid range ${r.offset}+${r.length}`);
  }
}
