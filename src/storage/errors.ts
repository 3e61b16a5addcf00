/** Typed storage errors. Tests check `code`, never message text. */
export type StorageErrorCode =
  | 'NOT_FOUND'
  | 'NO_SUCH_UPLOAD'
  | 'INVALID_PART'
  | 'PART_TOO_SMALL'
  | 'PRECONDITION_FAILED'
  | 'INVALID_KEY'
  | 'INVALID_RANGE'
  | 'BAD_DIGEST'
  | 'SIGNATURE_INVALID'
  | 'SIGNATURE_EXPIRED'
  | 'NOT_SUPPORTED'
  | 'ACCESS_DENIED'
  | 'UNAVAILABLE'
  /** Stored bytes fail authentication (encryption at rest): tampered or damaged; never served as bytes. */
  | 'CORRUPT'
  /** No configured master key opens the stored object's data key. */
  | 'KEY_UNAVAILABLE'
  | 'INTERNAL';

export class StorageError extends Error {
  constructor(
    readonly code: StorageErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StorageError';
  }
}

export function isStorageError(e: unknown, code?: StorageErrorCode): e is StorageError {
  return e instanceof StorageError && (code === undefined || e.code === code);
}
