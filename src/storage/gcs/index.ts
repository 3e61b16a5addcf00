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
import { createHash } from 'node:crypto';
import { PassThrough, type Readable } from 'node:stream';
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
import { toStorageError, translating } from './errors';
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

  private readonly storage: Storage;
  private readonly bucket: Bucket;
  private readonly xml: XmlMultipartClient;
  private readonly prefix: string;

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
  }

  private file(key: string, generation?: number | string): File {
    return this.bucket.file(this.prefix + key, generation === undefined ? undefined : { generation });
  }

  createMultipartUpload(key: string, opts?: { contentType?: string }): Promise<string> {
    return translating(() => this.xml.initiate(this.prefix + key, opts?.contentType));
  }

  presignUploadPart(
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
    const { offset, length } = source.range;
    if (length > LIMITS.maxPartSize) throw new StorageError('INVALID_PART', `gcs: part larger than ${LIMITS.maxPartSize} bytes`);
    // Fail fast and deterministically on an unknown upload, before any bytes move.
    await translating(() => this.xml.listParts(this.prefix + key, uploadId, undefined, 1), 'NO_SUCH_UPLOAD');
    const [meta] = await translating(() => this.file(source.key).getMetadata());
    if (!(offset >= 0 && length > 0 && offset + length <= Number(meta.size))) {
      throw new StorageError('INVALID_RANGE', `gcs: range ${offset}+${length} outside ${source.key} (${meta.size} bytes)`);
    }
    // Pin the generation we measured, so a concurrent overwrite cannot change the bytes copied.
    const body = await this.readStream(this.file(source.key, meta.generation), source.range);
    const md5 = createHash('md5');
    const tee = new PassThrough({ transform: (chunk, _enc, done) => (md5.update(chunk), done(null, chunk)) });
    body.on('error', (e) => tee.destroy(e));
    body.pipe(tee);
    const etag = await translating(() => this.xml.uploadPart(this.prefix + key, uploadId, partNumber, tee, length), 'NO_SUCH_UPLOAD');
    if (etag && etag !== md5.digest('hex')) throw new StorageError('BAD_DIGEST', 'gcs: copied part ETag differs from the MD5 of the bytes sent');
    return { partNumber, etag, size: length };
  }

  async completeMultipartUpload(key: string, uploadId: string, parts: { partNumber: number; etag: string }[]): Promise<ObjectInfo> {
    await translating(() => this.xml.complete(this.prefix + key, uploadId, parts), 'NO_SUCH_UPLOAD');
    return this.head(key);
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

  presignGet(key: string, opts: { expiresIn: number; range?: ByteRange; fileName?: string; contentType?: string }): Promise<PresignedRequest> {
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
    };
  }

  async delete(key: string): Promise<void> {
    await translating(() => this.file(key).delete({ ignoreNotFound: true }));
  }

  getStream(key: string, range?: ByteRange): Promise<Readable> {
    if (range) checkRange(range);
    return this.readStream(this.file(key), range);
  }

  async ping(): Promise<void> {
    const [exists] = await translating(() => this.bucket.exists());
    if (!exists) throw new StorageError('NOT_FOUND', `gcs: bucket ${this.bucket.name} does not exist`);
  }

  /** Resolves once GCS has answered with the object's bytes, so a missing object rejects here. */
  private readStream(file: File, range?: ByteRange): Promise<Readable> {
    const stream = file.createReadStream(range ? { start: range.offset, end: range.offset + range.length - 1, validation: false } : {});
    return new Promise((resolve, reject) => {
      const onError = (e: unknown) => reject(toStorageError(e));
      stream.once('error', onError);
      stream.once('response', (res: { statusCode?: number }) => {
        if (res.statusCode !== undefined && res.statusCode >= 300) return; // the error event follows
        stream.off('error', onError);
        resolve(stream);
      });
      stream.read(0); // starts the request without switching to flowing mode

    });
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
