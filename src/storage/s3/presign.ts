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

/** The header that carries a request's payload SHA-256 (SigV4). */
export const CONTENT_SHA256 = 'x-amz-content-sha256';

/**
 * A part PUT. With `sha256` (lowercase hex) the part's SHA-256 is signed in as the request's
 * payload hash (`x-amz-content-sha256`, instead of UNSIGNED-PAYLOAD): the client must send that
 * header and the store refuses bytes that differ (RGW: 400 XAmzContentSHA256Mismatch,
 * test/storage/s3-specific.test.ts). With `md5` the part's Content-MD5 is a signed header too:
 * the store refuses bytes that differ (BadDigest). Without either nothing binds the bytes.
 */
export async function presignPartPut(
  t: PresignTarget,
  uploadId: string,
  partNumber: number,
  opts: { md5?: string; sha256?: string; expiresIn: number },
): Promise<PresignedRequest> {
  const headers = checksumHeaders(opts);
  const query = { 'x-id': 'UploadPart', partNumber: String(partNumber), uploadId };
  return sign(t, 'PUT', query, headers, opts.expiresIn, (o) => {
    const command = new UploadPartCommand({
      Bucket: t.bucket,
      Key: t.key,
      UploadId: uploadId,
      PartNumber: partNumber,
      ContentMD5: headers['Content-MD5'],
    });
    bindPayloadHash(command, opts.sha256);
    return getSignedUrl(t.client, command, o);
  });
}

/** The checksum headers a PUT binds: Content-MD5 (base64) and the payload SHA-256 (hex). */
function checksumHeaders(opts: { md5?: string; sha256?: string }): Record<string, string> {
  const headers: Record<string, string> = {};
  if (opts.md5) headers['Content-MD5'] = Buffer.from(opts.md5, 'hex').toString('base64');
  if (opts.sha256) headers[CONTENT_SHA256] = opts.sha256;
  return headers;
}

/**
 * Makes the presigned request's payload hash `sha256` rather than UNSIGNED-PAYLOAD. The
 * presigner writes `X-Amz-Content-Sha256: UNSIGNED-PAYLOAD` after the build step; the signer
 * takes the payload hash from the first such header in insertion order (this one, set at
 * build) and the canonical header from the last in sorted order (this lowercase name sorts
 * after the presigner's capitalised one), so both are `sha256`. The RGW tests check the
 * outcome: the promised bytes are taken, others refused. The cheap path (./signer.ts) gets the
 * same effect from the header map itself: the lowercase header comes before the presigner's.
 */
function bindPayloadHash(command: { middlewareStack: { add: (...a: any[]) => void } }, sha256: string | undefined): void {
  if (!sha256) return;
  command.middlewareStack.add(
    (next: (a: unknown) => Promise<unknown>) => async (args: { request: { headers: Record<string, string> } }) => {
      args.request.headers[CONTENT_SHA256] = sha256;
      return next(args);
    },
    { step: 'build', name: 'tesseraPayloadSha256' },
  );
}

/**
 * A whole-object PUT; `md5`, `sha256` (as for a part), `contentType` and the SSE headers are
 * bound as signed headers the client must send (a PUT without them fails the signature: no
 * object escapes SSE).
 */
export async function presignObjectPut(t: PresignTarget, opts: { md5?: string; sha256?: string; contentType?: string; sse?: S3Sse; expiresIn: number }): Promise<PresignedRequest> {
  const headers = checksumHeaders(opts);
  if (opts.contentType) headers['Content-Type'] = opts.contentType;
  Object.assign(headers, sseHeaders(opts.sse));
  return sign(t, 'PUT', { 'x-id': 'PutObject' }, headers, opts.expiresIn, (o) => {
    const command = new PutObjectCommand({
      Bucket: t.bucket,
      Key: t.key,
      ContentMD5: headers['Content-MD5'],
      ContentType: opts.contentType,
      ServerSideEncryption: opts.sse?.algorithm,
      SSEKMSKeyId: opts.sse?.algorithm === 'aws:kms' ? opts.sse.kmsKeyId : undefined,
    });
    bindPayloadHash(command, opts.sha256);
    return getSignedUrl(t.client, command, o);
  });
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
