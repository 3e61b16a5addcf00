import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { Readable } from 'node:stream';
import { isStorageError, StorageError } from '../errors';
import type { ObjectInfo } from '../types';
import type { KeyRing } from './envelope';
import { fsCall, translateFsError } from './errors';
import { objectSize, readEnvelope, readPlain, type PlaintextPolicy } from './sealed-io';

/**
 * The read side of the local store's objects, plaintext or encrypted (./envelope): sizes and
 * bytes are always the plaintext's. Errors: NOT_FOUND, CORRUPT, KEY_UNAVAILABLE (StorageErrors).
 */
export class ObjectReader {
  constructor(
    private readonly ring: KeyRing | undefined,
    private readonly plaintext: PlaintextPolicy,
  ) {}

  /** What head() answers; an encrypted object also names its master key (`encryption`). */
  async info(file: string, key: string): Promise<ObjectInfo> {
    const handle = await fsCall('NOT_FOUND', () => fs.open(file, 'r'));
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) throw new StorageError('NOT_FOUND', `no such object: ${key}`);
      const env = await readEnvelope(handle, this.ring, this.plaintext);
      const info: ObjectInfo = { key, size: objectSize(env, stat.size), etag: fileEtag(stat), lastModified: stat.mtime };
      if (env) info.encryption = { algorithm: 'AES-256-GCM', keyId: env.keyId.toString('hex') };
      return info;
    } catch (e) {
      throw translateFsError(e, 'NOT_FOUND');
    } finally {
      await handle.close().catch(() => undefined);
    }
  }

  /**
   * The plaintext of a non-empty range. The first segment is read (and authenticated) before
   * this resolves, so a tampered header or first segment rejects; a later one errors the stream.
   */
  async stream(file: string, range: { offset: number; length: number }): Promise<Readable> {
    const chunks = readPlain(file, this.ring, 'object', range, this.plaintext);
    let first: IteratorResult<Buffer>;
    try {
      first = await chunks.next();
    } catch (e) {
      throw translateFsError(e, 'NOT_FOUND');
    }
    return Readable.from(
      (async function* () {
        if (!first.done) yield first.value;
        yield* chunks;
      })(),
      { objectMode: false },
    );
  }

  /** Whether each range's plaintext has its SHA-256; false (not an error) when a range is missing or fails authentication. */
  async rangesHash(file: string, parts: { offset: number; size: number; sha256: string }[]): Promise<boolean> {
    for (const p of parts) {
      const hash = createHash('sha256');
      try {
        for await (const chunk of readPlain(file, this.ring, 'object', { offset: p.offset, length: p.size }, this.plaintext)) hash.update(chunk);
      } catch (e) {
        const err = translateFsError(e);
        if (isStorageError(err, 'NOT_FOUND') || isStorageError(err, 'CORRUPT')) return false;
        throw err;
      }
      if (hash.digest('hex') !== p.sha256) return false;
    }
    return true;
  }
}

/** An object's etag: its file's size, mtime and inode (objects are never rewritten in place). */
export function fileEtag(stat: { size: number; mtimeMs: number; ino: number }): string {
  return `${stat.size.toString(16)}-${Math.floor(stat.mtimeMs * 1000).toString(16)}-${stat.ino.toString(16)}`;
}
