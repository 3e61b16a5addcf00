/**
 * S3StorageAdapter: the storage contract on any S3-compatible store (AWS S3, Ceph RGW, MinIO).
 *
 * Multipart scheme (as in tus-node-server's s3-store, but stateless): a Tessera upload session
 * IS one S3 multipart upload, addressed by (key, UploadId); this adapter keeps no state of its own.
 * - createMultipartUpload starts it; the session stores the UploadId.
 * - Clients PUT parts straight to S3 through URLs from presignUploadPart. The part's SHA-256 is
 *   signed in as the request's payload hash (`x-amz-content-sha256`; RGW ignores the newer
 *   `x-amz-checksum-sha256`), so a part whose bytes differ is refused by the store itself
 *   (XAmzContentSHA256Mismatch); with `partChecksum: 'MD5'` its Content-MD5 is bound instead
 *   (BadDigest). A client that sends an MD5 anyway (older clients) gets both bound.
 * - Unchanged parts of an earlier revision are reused with UploadPartCopy (CopySourceRange),
 *   so no bytes pass through the server.
 * - listParts is the truth about what arrived (number, ETag, size); the service verifies against it.
 * - completeMultipartUpload first checks the upload still exists (S3 and RGW accept a repeated
 *   Complete), assembles, then HEADs the object (RGW returns an empty ETag, and no size).
 * - Uploads nobody completes are aborted by the janitor, found with listMultipartUploads.
 * Every provider error goes through translateS3Error (./errors), with the context that decides
 * whether a missing key means "no such object" or "no such upload".
 */
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  UploadPartCopyCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { unquoteEtag } from '../etag';
import { StorageError } from '../errors';
import type {
  ByteRange,
  ListPartsPage,
  MultipartUploadInfo,
  ObjectInfo,
  PartChecksum,
  PartChecksums,
  PresignedRequest,
  StorageAdapter,
  StorageLimits,
  UploadedPart,
} from '../types';
import { translateS3Error, type S3ErrorContext } from './errors';
import { createS3Client, type S3Options, type S3Sse } from './options';
import { S3Signer } from './signer';
import { presignObjectGet, presignObjectPut, presignPartPut, rangeHeader, type PresignTarget } from './presign';

const MiB = 1024 * 1024;

/** S3's multipart limits (RGW 16 enforces the same). */
export const S3_LIMITS: StorageLimits = Object.freeze({
  minPartSize: 5 * MiB,
  maxPartSize: 5 * 1024 * MiB,
  maxParts: 10_000,
  maxObjectSize: 5 * 1024 * 1024 * MiB,
});

/**
 * The StorageAdapter on one bucket (under an optional key prefix). Error behaviour is the
 * contract's (../types); a missing bucket is UNAVAILABLE except for head(), whose bare 404
 * cannot tell it from a missing object (NOT_FOUND). Part URLs bind the part's SHA-256 (checksum
 * 'SHA256') and its Content-MD5 where the caller passes `checksums.md5`; with neither the part is
 * checked later only via listParts' ETag.
 */
export class S3StorageAdapter implements StorageAdapter {
  readonly name = 's3';
  readonly limits = S3_LIMITS;
  readonly checksum: PartChecksum;
  readonly features = { presignPut: true, listObjects: true };
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly sse?: S3Sse;
  private readonly signer: S3Signer;

  constructor(options: S3Options) {
    this.sse = options.sse;
    this.checksum = options.partChecksum ?? 'SHA256';
    this.client = createS3Client(options);
    this.signer = new S3Signer(this.client, options.bucket);
    this.bucket = options.bucket;
    this.prefix = (options.prefix ?? '').replace(/^\/+|\/+$/g, '');
  }

  async createMultipartUpload(key: string, opts?: { contentType?: string }): Promise<string> {
    const out = await this.run('object', this.client.send(new CreateMultipartUploadCommand({
      Bucket: this.bucket,
      Key: this.full(key),
      ContentType: opts?.contentType,
      ServerSideEncryption: this.sse?.algorithm,
      SSEKMSKeyId: this.sse?.algorithm === 'aws:kms' ? this.sse.kmsKeyId : undefined,
    })));
    if (!out.UploadId) throw new StorageError('INTERNAL', 's3: CreateMultipartUpload returned no UploadId');
    return out.UploadId;
  }

  async presignPut(key: string, opts: { size: number; checksums: PartChecksums; contentType?: string; expiresIn: number }): Promise<PresignedRequest> {
    if (opts.size > this.limits.minPartSize) throw new StorageError('INVALID_PART', `s3: a single PUT takes at most ${this.limits.minPartSize} bytes`);
    return presignObjectPut(this.target(key), { ...this.bound(opts.checksums), contentType: opts.contentType, sse: this.sse, expiresIn: opts.expiresIn });
  }

  async presignUploadPart(
    key: string,
    uploadId: string,
    partNumber: number,
    opts: { size: number; checksums: PartChecksums; expiresIn: number },
  ): Promise<PresignedRequest> {
    this.checkPartNumber(partNumber);
    return presignPartPut(this.target(key), uploadId, partNumber, { ...this.bound(opts.checksums), expiresIn: opts.expiresIn });
  }

  /** The checksums a PUT URL binds: the SHA-256 under checksum 'SHA256', and the MD5 whenever given. */
  private bound(c: PartChecksums): { md5?: string; sha256?: string } {
    return { md5: c.md5, sha256: this.checksum === 'SHA256' ? c.sha256?.toLowerCase() : undefined };
  }

  async listParts(
    key: string,
    uploadId: string,
    opts?: { marker?: number; maxParts?: number },
  ): Promise<ListPartsPage> {
    const out = await this.run('upload', this.client.send(new ListPartsCommand({
      Bucket: this.bucket,
      Key: this.full(key),
      UploadId: uploadId,
      PartNumberMarker: opts?.marker === undefined ? undefined : String(opts.marker),
      MaxParts: opts?.maxParts,
    })));
    const parts = (out.Parts ?? []).map((p) => ({
      partNumber: p.PartNumber ?? 0,
      etag: unquoteEtag(p.ETag),
      size: p.Size ?? 0,
    }));
    const next = out.IsTruncated ? Number(out.NextPartNumberMarker ?? parts.at(-1)?.partNumber) : undefined;
    return { parts, nextMarker: next !== undefined && Number.isFinite(next) ? next : undefined };
  }

  async uploadPartCopy(
    key: string,
    uploadId: string,
    partNumber: number,
    source: { key: string; range: ByteRange },
  ): Promise<UploadedPart> {
    this.checkPartNumber(partNumber);
    const { offset, length } = source.range;
    if (!(Number.isSafeInteger(offset) && Number.isSafeInteger(length) && offset >= 0 && length > 0)) {
      throw new StorageError('INVALID_RANGE', `invalid copy range ${offset}+${length}`);
    }
    try {
      const out = await this.client.send(
        new UploadPartCopyCommand({
          Bucket: this.bucket,
          Key: this.full(key),
          UploadId: uploadId,
          PartNumber: partNumber,
          CopySource: `${this.bucket}/${encodeKey(this.full(source.key))}`,
          CopySourceRange: rangeHeader(source.range),
        }),
      );
      return { partNumber, etag: unquoteEtag(out.CopyPartResult?.ETag), size: length };
    } catch (error) {
      const e = translateS3Error(error, 'upload');
      // NoSuchKey names either the source object or the upload: ask which one is missing
      if (e.code !== 'NO_SUCH_UPLOAD' || (error as Error).name === 'NoSuchUpload') throw e;
      await this.head(source.key);
      throw e;
    }
  }

  async completeMultipartUpload(
    key: string,
    uploadId: string,
    parts: { partNumber: number; etag: string }[],
  ): Promise<ObjectInfo> {
    if (parts.length === 0) throw new StorageError('INVALID_PART', 'no parts to complete');
    // S3 and RGW answer a repeated Complete with 200; the contract wants NO_SUCH_UPLOAD
    await this.listParts(key, uploadId, { maxParts: 1 });
    await this.run('upload', this.client.send(new CompleteMultipartUploadCommand({
      Bucket: this.bucket,
      Key: this.full(key),
      UploadId: uploadId,
      MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.partNumber, ETag: `"${unquoteEtag(p.etag)}"` })) },
    })));
    const info = await this.head(key);
    await this.checkSse(info);
    return info;
  }

  /**
   * With S3_SSE, an object the store reports without that encryption (a store that accepts
   * the header and ignores it, as RGW 16 does with AES256) is deleted and refused
   * (NOT_SUPPORTED): it never becomes a revision in plaintext.
   */
  private async checkSse(info: ObjectInfo): Promise<void> {
    if (!this.sse) return;
    const got = info.encryption;
    const keyOk = this.sse.algorithm !== 'aws:kms' || !this.sse.kmsKeyId || got?.keyId === this.sse.kmsKeyId || got?.keyId?.endsWith(`/${this.sse.kmsKeyId}`);
    if (got?.algorithm === this.sse.algorithm && keyOk) return;
    await this.delete(info.key).catch(() => undefined);
    throw new StorageError('NOT_SUPPORTED', `s3: the store did not apply S3_SSE=${this.sse.algorithm} (it reports ${got ? `${got.algorithm} ${got.keyId ?? ''}` : 'none'}); object removed`);
  }

  async abortMultipartUpload(key: string, uploadId: string): Promise<void> {
    const input = { Bucket: this.bucket, Key: this.full(key), UploadId: uploadId };
    await this.run('upload', this.client.send(new AbortMultipartUploadCommand(input)));
  }

  async *listMultipartUploads(opts?: { prefix?: string }): AsyncIterable<MultipartUploadInfo> {
    const base = this.prefix ? `${this.prefix}/` : '';
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      const out = await this.run('object', this.client.send(new ListMultipartUploadsCommand({
        Bucket: this.bucket,
        Prefix: base + (opts?.prefix ?? ''),
        KeyMarker: keyMarker,
        UploadIdMarker: uploadIdMarker,
      })));
      for (const u of out.Uploads ?? []) {
        if (!u.Key || !u.UploadId || !u.Key.startsWith(base)) continue;
        yield { key: u.Key.slice(base.length), uploadId: u.UploadId, initiated: u.Initiated ?? new Date(0) };
      }
      if (!out.IsTruncated || (!out.NextKeyMarker && !out.NextUploadIdMarker)) return;
      keyMarker = out.NextKeyMarker;
      uploadIdMarker = out.NextUploadIdMarker;
    }
  }

  async presignGet(
    key: string,
    opts: { expiresIn: number; range?: ByteRange; fileName?: string; contentType?: string },
  ): Promise<PresignedRequest> {
    if (opts.range) checkRange(opts.range);
    return presignObjectGet(this.target(key), opts);
  }

  async head(key: string): Promise<ObjectInfo> {
    const input = { Bucket: this.bucket, Key: this.full(key) };
    const out = await this.run('object', this.client.send(new HeadObjectCommand(input)));
    return {
      key,
      size: out.ContentLength ?? 0,
      etag: out.ETag ? unquoteEtag(out.ETag) : undefined,
      contentType: out.ContentType,
      lastModified: out.LastModified,
      encryption: out.ServerSideEncryption ? { algorithm: out.ServerSideEncryption, keyId: out.SSEKMSKeyId } : undefined,
    };
  }

  /** ListObjectsV2 pages (1,000 keys each) under the prefixed `prefix`; keys handed back without the adapter's prefix. */
  async *listObjects(prefix: string): AsyncIterable<ObjectInfo> {
    const base = this.prefix ? `${this.prefix}/` : '';
    let token: string | undefined;
    do {
      const out = await this.run('object', this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: base + prefix, ContinuationToken: token })));
      for (const o of out.Contents ?? []) {
        if (!o.Key?.startsWith(base)) continue;
        yield { key: o.Key.slice(base.length), size: o.Size ?? 0, etag: o.ETag ? unquoteEtag(o.ETag) : undefined, lastModified: o.LastModified };
      }
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
  }

  async delete(key: string): Promise<void> {
    await this.run('object', this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.full(key) })));
  }

  async getStream(key: string, range?: ByteRange): Promise<Readable> {
    if (range) checkRange(range);
    if (range?.length === 0) {
      await this.head(key);
      return Readable.from([]);
    }
    const out = await this.run('object', this.client.send(new GetObjectCommand({
      Bucket: this.bucket,
      Key: this.full(key),
      Range: range ? rangeHeader(range) : undefined,
    })));
    return out.Body as Readable;
  }

  async ping(): Promise<void> {
    await this.run('bucket', this.client.send(new HeadBucketCommand({ Bucket: this.bucket })));
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  /** Awaits one S3 call; every provider error leaves through translateS3Error. */
  private async run<O>(context: S3ErrorContext, call: Promise<O>): Promise<O> {
    try {
      return await call;
    } catch (error) {
      throw translateS3Error(error, context);
    }
  }

  private full(key: string): string {
    return this.prefix ? `${this.prefix}/${key}` : key;
  }

  private target(key: string): PresignTarget {
    return { client: this.client, signer: this.signer, bucket: this.bucket, key: this.full(key) };
  }

  private checkPartNumber(partNumber: number): void {
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > this.limits.maxParts) {
      throw new StorageError('INVALID_PART', `part number ${partNumber} outside 1..${this.limits.maxParts}`);
    }
  }
}

function checkRange({ offset, length }: ByteRange): void {
  if (!(Number.isSafeInteger(offset) && Number.isSafeInteger(length) && offset >= 0 && length >= 0)) {
    throw new StorageError('INVALID_RANGE', `invalid range ${offset}+${length}`);
  }
}


/** A key as the path part of an x-amz-copy-source (each segment URL-encoded, '/' kept). */
function encodeKey(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}
