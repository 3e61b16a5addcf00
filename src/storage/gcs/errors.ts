/**
 * The one place where Google Cloud Storage errors become `StorageError`s: XML API error
 * documents (`<Error><Code>…`), JSON API `ApiError`s from @google-cloud/storage, gaxios and
 * socket errors. Codes follow https://cloud.google.com/storage/docs/xml-api/reference-status
 * and https://cloud.google.com/storage/docs/json_api/v1/status-codes.
 */
import { StorageError, type StorageErrorCode } from '../errors';

/** An error document returned by the XML API. */
export class GcsXmlError extends Error {
  constructor(
    readonly status: number,
    readonly xmlCode: string,
    message: string,
  ) {
    super(message);
    this.name = 'GcsXmlError';
  }
}

const XML_CODES: Record<string, StorageErrorCode> = {
  NoSuchUpload: 'NO_SUCH_UPLOAD',
  NoSuchKey: 'NOT_FOUND',
  NoSuchBucket: 'NOT_FOUND',
  InvalidPart: 'INVALID_PART',
  InvalidPartOrder: 'INVALID_PART',
  EntityTooSmall: 'PART_TOO_SMALL',
  BadDigest: 'BAD_DIGEST',
  InvalidDigest: 'BAD_DIGEST',
  PreconditionFailed: 'PRECONDITION_FAILED',
  InvalidRange: 'INVALID_RANGE',
  SignatureDoesNotMatch: 'SIGNATURE_INVALID',
  ExpiredToken: 'SIGNATURE_EXPIRED',
  AccessDenied: 'ACCESS_DENIED',
  InvalidSecurity: 'ACCESS_DENIED',
  MissingSecurityHeader: 'ACCESS_DENIED',
};

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']);

function fromStatus(status: number): StorageErrorCode {
  if (status === 404) return 'NOT_FOUND';
  if (status === 412) return 'PRECONDITION_FAILED';
  if (status === 416) return 'INVALID_RANGE';
  if (status === 401 || status === 403) return 'ACCESS_DENIED';
  if (status === 429 || status >= 500) return 'UNAVAILABLE';
  return 'INTERNAL';
}

/**
 * Translates any error thrown while talking to GCS. `notFound` overrides what a plain 404
 * means for the call at hand (e.g. NO_SUCH_UPLOAD for an upload-id request).
 */
export function toStorageError(e: unknown, notFound: StorageErrorCode = 'NOT_FOUND'): StorageError {
  if (e instanceof StorageError) return e;
  const err = e as { code?: unknown; status?: unknown; response?: { status?: number }; message?: string };
  const message = err?.message ?? String(e);
  let code: StorageErrorCode;
  if (e instanceof GcsXmlError) {
    code = XML_CODES[e.xmlCode] ?? (e.status === 404 ? notFound : fromStatus(e.status));
  } else if (typeof err?.code === 'string' && NETWORK_CODES.has(err.code)) {
    code = 'UNAVAILABLE';
  } else {
    const status = typeof err?.code === 'number' ? err.code : (err?.response?.status ?? (typeof err?.status === 'number' ? err.status : 0));
    code = status === 404 ? notFound : status ? fromStatus(status) : 'INTERNAL';
  }
  return new StorageError(code, `gcs: ${message}`, { cause: e });
}

/** Runs `fn`, translating whatever it throws. */
export async function translating<T>(fn: () => Promise<T>, notFound?: StorageErrorCode): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw toStorageError(e, notFound);
  }
}
