import type { Readable } from 'node:stream';
import type { File } from '@google-cloud/storage';
import type { ByteRange } from '../types';
import { toStorageError } from './errors';

/**
 * Object bytes through the JSON API (`alt=media`), optionally a range. Resolves once GCS has
 * answered with the bytes, so a missing object rejects here with NOT_FOUND and a range past
 * the end with INVALID_RANGE. Whole-object reads keep the library's CRC32C validation.
 */
export function openReadStream(file: File, range?: ByteRange): Promise<Readable> {
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
