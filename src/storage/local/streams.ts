import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StorageError } from '../errors';

/**
 * Streams `source` into the new file `file` while hashing it; returns its size and SHA-256.
 * With `maxSize`, stops as soon as more bytes arrive (BAD_DIGEST). On any failure the file
 * is removed before the error propagates.
 */
export async function writeHashed(source: Readable, file: string, maxSize?: number): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      size += chunk.length;
      if (maxSize !== undefined && size > maxSize) {
        done(new StorageError('BAD_DIGEST', `part is larger than the ${maxSize} bytes it was signed for`));
        return;
      }
      hash.update(chunk);
      done(null, chunk);
    },
  });
  try {
    await pipeline(source, meter, createWriteStream(file, { flags: 'wx' }));
  } catch (e) {
    await fs.rm(file, { force: true });
    throw e;
  }
  return { size, sha256: hash.digest('hex') };
}

/** Appends the files, one after another, to the new file `file` (never a whole file in memory), then fsyncs. */
export async function concatFiles(files: string[], file: string): Promise<void> {
  const out = await fs.open(file, 'wx');
  try {
    for (const part of files) {
      for await (const chunk of createReadStream(part, { highWaterMark: 1024 * 1024 })) {
        await out.write(chunk as Buffer);
      }
    }
    await out.sync();
  } finally {
    await out.close();
  }
}
