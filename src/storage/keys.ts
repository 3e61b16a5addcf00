import { StorageError } from './errors';

const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Validates a storage key once, before any adapter sees it: relative, '/'-separated,
 * no empty, '.' or '..' segments, no backslashes or control characters, at most 1024 bytes.
 * Throws StorageError('INVALID_KEY').
 */
export function normaliseKey(key: string): string {
  if (typeof key !== 'string' || key.length === 0) throw new StorageError('INVALID_KEY', 'empty key');
  if (Buffer.byteLength(key) > 1024) throw new StorageError('INVALID_KEY', 'key longer than 1024 bytes');
  if (CONTROL.test(key)) throw new StorageError('INVALID_KEY', 'key contains control characters');
  if (key.includes('\\')) throw new StorageError('INVALID_KEY', 'key contains a backslash');
  if (key.startsWith('/')) throw new StorageError('INVALID_KEY', 'key is absolute');
  for (const segment of key.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') {
      throw new StorageError('INVALID_KEY', `key has an invalid segment: ${JSON.stringify(segment)}`);
    }
  }
  return key.normalize('NFC');
}
