/**
 * V4 signed URLs through the library's signer (`file.getSignedUrl`), which binds extra query
 * parameters and headers into the signature. See
 * https://cloud.google.com/storage/docs/access-control/signed-urls and
 * https://cloud.google.com/storage/docs/authentication/canonical-requests.
 */
import type { File } from '@google-cloud/storage';
import type { ByteRange, PartChecksums, PresignedRequest } from '../types';
import { StorageError } from '../errors';

/** GCS caps V4 signed URLs at seven days. */
export const MAX_EXPIRES_IN = 7 * 24 * 60 * 60;

/** Signing time and expiry from one clock reading, so X-Goog-Expires is exactly `expiresIn`. */
function window(expiresIn: number): { accessibleAt: Date; expires: Date } {
  if (!(expiresIn >= 1)) throw new StorageError('INTERNAL', `expiresIn must be at least 1 second, got ${expiresIn}`);
  const now = Math.floor(Date.now() / 1000) * 1000;
  return { accessibleAt: new Date(now), expires: new Date(now + Math.min(Math.floor(expiresIn), MAX_EXPIRES_IN) * 1000) };
}

/**
 * A PUT of one part of an XML multipart upload. `Content-MD5` is a signed header, so GCS
 * refuses a body whose MD5 differs (400 BadDigest), and `partNumber`/`uploadId` are signed
 * query parameters, so the URL cannot be reused for another part or upload.
 */
export async function signPartPut(file: File, uploadId: string, partNumber: number, checksums: PartChecksums, expiresIn: number): Promise<PresignedRequest> {
  if (!checksums.md5 || !/^[0-9a-f]{32}$/i.test(checksums.md5)) {
    throw new StorageError('BAD_DIGEST', 'gcs: a part PUT needs the part MD5 (checksum MD5)');
  }
  const contentMd5 = Buffer.from(checksums.md5, 'hex').toString('base64');
  const { accessibleAt, expires } = window(expiresIn);
  const [url] = await file.getSignedUrl({
    version: 'v4',
    action: 'write',
    accessibleAt,
    expires,
    contentMd5,
    queryParams: { partNumber: String(partNumber), uploadId },
  });
  return { url, method: 'PUT', headers: { 'Content-MD5': contentMd5 }, expiresAt: expires };
}

/** A GET, optionally of a byte range (a signed `Range` header the client must send). */
export async function signGet(
  file: File,
  opts: { expiresIn: number; range?: ByteRange; fileName?: string; contentType?: string },
): Promise<PresignedRequest> {
  const { accessibleAt, expires } = window(opts.expiresIn);
  const headers: Record<string, string> = {};
  if (opts.range) headers.Range = `bytes=${opts.range.offset}-${opts.range.offset + opts.range.length - 1}`;
  const [url] = await file.getSignedUrl({
    version: 'v4',
    action: 'read',
    accessibleAt,
    expires,
    extensionHeaders: opts.range ? { range: headers.Range } : undefined,
    responseDisposition: opts.fileName ? contentDisposition(opts.fileName) : undefined,
    responseType: opts.contentType,
  });
  return { url, method: 'GET', headers, expiresAt: expires };
}

/** RFC 6266 `attachment` with an ASCII fallback and an RFC 5987 UTF-8 name. */
export function contentDisposition(fileName: string): string {
  const ascii = fileName.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  const utf8 = encodeURIComponent(fileName).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${utf8}`;
}
