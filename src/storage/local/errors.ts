import { StorageError, type StorageErrorCode } from '../errors';

/**
 * The one place where file-system errors become StorageErrors. `missing` is the code an
 * absent file means in context (NOT_FOUND for objects, NO_SUCH_UPLOAD for staging).
 */
export function translateFsError(e: unknown, missing: StorageErrorCode = 'NOT_FOUND'): StorageError {
  if (e instanceof StorageError) return e;
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  const message = e instanceof Error ? e.message : String(e);
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return new StorageError(missing, message, { cause: e });
    case 'EISDIR':
    case 'EEXIST':
    case 'ENOTEMPTY':
      return new StorageError('PRECONDITION_FAILED', `key conflicts with another key's path: ${message}`, { cause: e });
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new StorageError('ACCESS_DENIED', message, { cause: e });
    case 'ENOSPC':
    case 'EDQUOT':
    case 'EMFILE':
    case 'ENFILE':
    case 'EIO':
      return new StorageError('UNAVAILABLE', message, { cause: e });
    default:
      return new StorageError('INTERNAL', message, { cause: e });
  }
}

/** Runs `fn`, translating whatever it throws. */
export async function fsCall<T>(missing: StorageErrorCode, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw translateFsError(e, missing);
  }
}

export function isMissing(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
