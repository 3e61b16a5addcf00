import { createHash } from 'node:crypto';
import { constants as fsConstants, createReadStream, createWriteStream, promises as fs } from 'node:fs';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StorageError } from '../errors';

/**
 * Streams `source` into the new file `file` while hashing it, and fsyncs it (an acknowledged
 * part survives a power cut, as on S3); returns its size and SHA-256.
 * With `maxSize`, stops as soon as more bytes arrive (BAD_DIGEST). On any failure the file
 * is removed before the error propagates.
 */
export async function writeHashed(source: Readable, file: string, maxSize?: number): Promise<{ size: number; sha256: string }> {
  const m = meter(maxSize);
  try {
    await pipeline(source, m.transform, createWriteStream(file, { flags: 'wx', flush: true }));
  } catch (e) {
    await fs.rm(file, { force: true });
    throw e;
  }
  return m.result();
}

/**
 * Like writeHashed, but writes at `offset` of the existing `file` (never created here, never
 * truncated: ENOENT if it is gone). On failure the bytes written so far stay: the caller
 * must not trust the range.
 */
export async function writeHashedAt(source: Readable, file: string, offset: number, maxSize?: number): Promise<{ size: number; sha256: string }> {
  const m = meter(maxSize);
  const fh = await fs.open(file, fsConstants.O_RDWR);
  await pipeline(source, m.transform, fh.createWriteStream({ start: offset, flush: true }));
  return m.result();
}

/** Counts and hashes what passes; fails with BAD_DIGEST past `maxSize` bytes. */
function meter(maxSize?: number): { transform: Transform; result(): { size: number; sha256: string } } {
  const hash = createHash('sha256');
  let size = 0;
  const transform = new Transform({
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
  return { transform, result: () => ({ size, sha256: hash.digest('hex') }) };
}

/**
 * Writes the byte ranges, one after another, into the new file `file` (never a whole part in
 * memory), then fsyncs. `afterRange` is called after each range is written.
 */
export async function concatRanges(ranges: { file: string; offset: number; size: number }[], file: string, afterRange?: () => void): Promise<void> {
  const out = await fs.open(file, 'wx');
  try {
    for (const r of ranges) {
      if (r.size === 0) continue;
      let got = 0;
      for await (const chunk of createReadStream(r.file, { start: r.offset, end: r.offset + r.size - 1, highWaterMark: 1024 * 1024 })) {
        got += (chunk as Buffer).length;
        await out.write(chunk as Buffer);
      }
      if (got !== r.size) throw new StorageError('INVALID_PART', `${r.file} holds ${got} of the ${r.size} bytes at ${r.offset}`);
      afterRange?.();
    }
    await out.sync();
  } finally {
    await out.close();
  }
}

/** The SHA-256 (hex) of each byte range of `file`, reading it once in order. */
export async function hashRanges(file: string, ranges: { offset: number; size: number }[]): Promise<string[]> {
  const out: string[] = [];
  for (const r of ranges) {
    const hash = createHash('sha256');
    if (r.size > 0) {
      for await (const chunk of createReadStream(file, { start: r.offset, end: r.offset + r.size - 1, highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
    }
    out.push(hash.digest('hex'));
  }
  return out;
}
