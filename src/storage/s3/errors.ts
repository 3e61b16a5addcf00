import { StorageError, type StorageErrorCode } from '../errors';

/**
 * What the failed call was about, which decides the meaning of an ambiguous provider error:
 * - 'object': NoSuchKey / 404 means the object is absent (NOT_FOUND);
 * - 'upload': NoSuchKey means the multipart upload is gone (RGW answers ListParts on an aborted
 *   upload with NoSuchKey, not NoSuchUpload), so NO_SUCH_UPLOAD;
 * - 'bucket': a 404 on the bucket itself means the store is misconfigured (UNAVAILABLE).
 */
export type S3ErrorContext = 'object' | 'upload' | 'bucket';

const BY_NAME: Record<string, StorageErrorCode> = {
  NoSuchKey: 'NOT_FOUND',
  NotFound: 'NOT_FOUND',
  NoSuchUpload: 'NO_SUCH_UPLOAD',
  InvalidPart: 'INVALID_PART',
  InvalidPartOrder: 'INVALID_PART',
  EntityTooSmall: 'PART_TOO_SMALL',
  PreconditionFailed: 'PRECONDITION_FAILED',
  BadDigest: 'BAD_DIGEST',
  InvalidDigest: 'BAD_DIGEST',
  InvalidRange: 'INVALID_RANGE',
  AccessDenied: 'ACCESS_DENIED',
  InvalidAccessKeyId: 'ACCESS_DENIED',
  SignatureDoesNotMatch: 'SIGNATURE_INVALID',
  NotImplemented: 'NOT_SUPPORTED',
  // a bucket that does not exist is a configuration fault, never "this object is absent"
  NoSuchBucket: 'UNAVAILABLE',
  SlowDown: 'UNAVAILABLE',
  ServiceUnavailable: 'UNAVAILABLE',
  TimeoutError: 'UNAVAILABLE',
  RequestTimeout: 'UNAVAILABLE',
};

const BY_STATUS: Record<number, StorageErrorCode> = {
  403: 'ACCESS_DENIED',
  404: 'NOT_FOUND',
  412: 'PRECONDITION_FAILED',
  416: 'INVALID_RANGE',
  501: 'NOT_SUPPORTED',
  502: 'UNAVAILABLE',
  503: 'UNAVAILABLE',
  504: 'UNAVAILABLE',
};

const NETWORK_CODES = [
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH',
];
// the SDK re-wraps a socket error it does not recognise as an Error (e.g. from another realm, as under
// jest) into "AWS SDK error wrapper for Error: connect ECONNREFUSED ..." without its code
const NETWORK_MESSAGE = new RegExp(`\\b(${NETWORK_CODES.join('|')})\\b`);

interface ProviderError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

/**
 * Translates any error thrown by the S3 client into a StorageError, by error name and HTTP
 * status only (RGW sends empty messages). Already-translated errors pass through.
 */
export function translateS3Error(error: unknown, context: S3ErrorContext = 'object'): StorageError {
  if (error instanceof StorageError) return error;
  const e = (error ?? {}) as ProviderError;
  const name = e.name ?? '';
  const status = e.$metadata?.httpStatusCode;
  let code: StorageErrorCode | undefined = BY_NAME[name];
  if (!code && status !== undefined) code = BY_STATUS[status];
  if (!code && status === undefined && isNetworkError(e)) code = 'UNAVAILABLE';
  if (code === 'NOT_FOUND' && context === 'upload') code = 'NO_SUCH_UPLOAD';
  if (code === 'NOT_FOUND' && context === 'bucket') code = 'UNAVAILABLE';
  code ??= 'INTERNAL';
  const what = [name, status].filter((x) => x !== '' && x !== undefined).join(' ');
  return new StorageError(code, `s3: ${what}${e.message ? `: ${e.message}` : ''}`, { cause: error });
}

function isNetworkError(e: ProviderError): boolean {
  return NETWORK_CODES.includes(e.code ?? '') || NETWORK_MESSAGE.test(e.message ?? '');
}
