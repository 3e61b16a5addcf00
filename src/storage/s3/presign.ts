import { GetObjectCommand, PutObjectCommand, UploadPartCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { ByteRange, PresignedRequest } from '../types';
import { sseHeaders, type S3Sse } from './options';
import type { S3Signer, SignOptions } from './signer';

/** SigV4 presigned URLs live at most 7 days. */
export const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;

/** Where to presign: the client, its signer, bucket and full (prefixed) key. */
export interface PresignTarget {
  client: S3Client;
  signer: S3Signer;
  bucket: string;
  key: string;
  /** Tests only: sign as of this time (to compare URLs). */
  signingDate?: Date;
}

/**
 * A part PUT. With `md5` (lowercase hex) the part's Content-MD5 is a signed header: the client
 * must send it and the store refuses bytes that differ (BadDigest). Without it nothing binds the bytes.
 */
export async function presignPartPut(
  t: PresignTarget,
  uploadId: string,
  partNumber: number,
  opts: { md5?: string; expiresIn: number },
): Promise<PresignedRequest> {
  const headers: Record<string, string> = {};
  if (opts.md5) headers['Content-MD5'] = Buffer.from(opts.md5, 'hex').toString('base64');
  const query = { 'x-id': 'UploadPart', partNumber: String(partNumber), uploadId };
  return sign(t, 'PUT', query, headers, opts.expiresIn, (o) => getSignedUrl(t.client, new UploadPartCommand({
    Bucket: t.bucket,
    Key: t.key,
    UploadId: uploadId,
    PartNumber: partNumber,
    ContentMD5: headers['Content-MD5'],
  }), o));
}

/**
 * A whole-object PUT; `md5`, `contentType` and the SSE headers are bound as signed headers
 * the client must send (a PUT without them fails the signature: no object escapes SSE).
 */
export async function presignObjectPut(t: PresignTarget, opts: { md5?: string; contentType?: string; sse?: S3Sse; expiresIn: number }): Promise<PresignedRequest> {
  const headers: Record<string, string> = {};
  if (opts.md5) headers['Content-MD5'] = Buffer.from(opts.md5, 'hex').toString('base64');
  if (opts.contentType) headers['Content-Type'] = opts.contentType;
  Object.assign(headers, sseHeaders(opts.sse));
  return sign(t, 'PUT', { 'x-id': 'PutObject' }, headers, opts.expiresIn, (o) => getSignedUrl(t.client, new PutObjectCommand({
    Bucket: t.bucket,
    Key: t.key,
    ContentMD5: headers['Content-MD5'],
    ContentType: opts.contentType,
    ServerSideEncryption: opts.sse?.algorithm,
    SSEKMSKeyId: opts.sse?.algorithm === 'aws:kms' ? opts.sse.kmsKeyId : undefined,
  }), o));
}

/** A GET, optionally ranged (a signed `Range` header the client must send) and named for download. */
export async function presignObjectGet(
  t: PresignTarget,
  opts: { expiresIn: number; range?: ByteRange; fileName?: string; contentType?: string },
): Promise<PresignedRequest> {
  const headers: Record<string, string> = {};
  if (opts.range) headers.Range = rangeHeader(opts.range);
  const disposition = opts.fileName === undefined ? undefined : contentDisposition(opts.fileName);
  const query = { 'x-id': 'GetObject', 'response-content-disposition': disposition, 'response-content-type': opts.contentType };
  return sign(t, 'GET', query, headers, opts.expiresIn, (o) => getSignedUrl(t.client, new GetObjectCommand({
    Bucket: t.bucket,
    Key: t.key,
    Range: headers.Range,
    ResponseContentDisposition: disposition,
    ResponseContentType: opts.contentType,
  }), o));
}

/**
 * Signs `headers` into the URL (signed, and left as headers rather than hoisted into the query):
 * through the cheap path of `t.signer` when it could resolve the bucket's endpoint, else through
 * the SDK's whole command stack (`viaSdk`). Both give the same URL.
 */
async function sign(
  t: PresignTarget,
  method: 'PUT' | 'GET',
  query: Record<string, string | undefined>,
  headers: Record<string, string>,
  expiresIn: number,
  viaSdk: (options: SignOptions) => Promise<string>,
): Promise<PresignedRequest> {
  const seconds = Math.max(1, Math.min(Math.floor(expiresIn), MAX_PRESIGN_SECONDS));
  const bound = new Set(Object.keys(headers).map((h) => h.toLowerCase()));
  const expiresAt = new Date(Date.now() + seconds * 1000);
  const options = { expiresIn: seconds, signableHeaders: bound, unhoistableHeaders: bound, signingDate: t.signingDate };
  const url = await t.signer.presign(method, t.key, query, headers, options) ?? await viaSdk(options);
  return { url, method, headers, expiresAt };
}

/** `bytes=first-last` for a non-empty range. */
export function rangeHeader(range: ByteRange): string {
  return `bytes=${range.offset}-${range.offset + range.length - 1}`;
}

/** `attachment` with an ASCII fallback name and the exact UTF-8 name per RFC 5987/6266. */
export function contentDisposition(fileName: string): string {
  const fallback = fileName.replace(/[^\x20-\x7e]|["\\]/g, '_');
  const hex = (c: string) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`;
  const encoded = encodeURIComponent(fileName).replace(/['()*]/g, hex);
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}
