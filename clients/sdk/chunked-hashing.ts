/**
 * Hashing a local file in content-defined parts (./chunker.ts): this thread reads the file once,
 * in order, and finds the boundaries; each part, once its end is known, is hashed on a worker
 * thread (which reads it back from the page cache, where it was just read), so the gear hash
 * and SHA-256 run side by side in flat memory whatever the file's size.
 */
import os from 'node:os';
import { open } from 'node:fs/promises';
import { Chunker, type ChunkParams } from './chunker';
import type { FileDigest, PartDigest, PartSpan } from './digest';
import { TesseraError } from './errors';
import { HashPool } from './hash-workers';
import { contentHashOf } from './hashing';

const READ_BUFFER = 4 * 1024 * 1024;
/** Parts hashed at once; the reader waits for the oldest beyond this (bounds what is queued). */
const MAX_PENDING = 4;

/**
 * Hash workers beside the cutting thread: at least 2 (SHA-256 and MD5 of a part cost about
 * twice what the cut of it does, so one worker was the bottleneck on 2 cores: 1 GiB hashed in
 * ~2.5 s with one worker against ~1.7 s with two, docs/benchmarks.md), one per spare core
 * beyond that, at most 4.
 */
export function chunkedHashThreads(cores = os.availableParallelism()): number {
  return Math.max(2, Math.min(4, cores - 1));
}

/**
 * The content-defined parts of the file at `path`, with SHA-256 (and MD5 when asked) of each.
 * Rejects with the fs error if it cannot be read, TesseraError CHANGED if it shrinks while
 * read, the signal's reason when aborted.
 */
export async function hashFileChunked(
  path: string,
  params: ChunkParams,
  opts: {
    md5?: boolean; signal?: AbortSignal; onProgress?: (bytesDone: number, bytesTotal: number) => void;
    /** Hashes only the parts this accepts (the others come with sha256 ''; the contentHash is then meaningless). */
    hashIf?: (span: PartSpan) => boolean;
    /** Hash worker threads (default chunkedHashThreads()). */
    threads?: number;
  } = {},
): Promise<FileDigest> {
  const fh = await open(path, 'r');
  const pool = new HashPool(opts.threads ?? chunkedHashThreads());
  try {
    const { size } = await fh.stat();
    const chunker = new Chunker(params);
    const buf = Buffer.allocUnsafe(READ_BUFFER);
    const parts: Promise<PartDigest>[] = [];
    const pending: Promise<unknown>[] = [];
    let hashed = 0;
    let start = 0;
    const hashPart = (end: number) => {
      const span = { partNumber: parts.length + 1, offset: start, size: end - start };
      start = end;
      if (opts.hashIf && !opts.hashIf(span)) return void parts.push(Promise.resolve({ ...span, sha256: '' }));
      const job = pool.hash(path, span.offset, span.size, !!opts.md5).then((d) => {
        hashed += span.size;
        opts.onProgress?.(hashed, size);
        return { ...span, ...d };
      });
      parts.push(job);
      pending.push(job.catch(() => undefined));
    };
    for (let pos = 0; pos < size; ) {
      opts.signal?.throwIfAborted();
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, size - pos), pos);
      if (bytesRead === 0) throw new TesseraError('CHANGED', `short read at offset ${pos}: ${path} shrank while it was read`);
      for (const end of chunker.push(buf.subarray(0, bytesRead))) hashPart(end);
      pos += bytesRead;
      while (pending.length > MAX_PENDING) await pending.shift();
    }
    if (start < size || size === 0) hashPart(size);
    const digests = await Promise.all(parts);
    opts.signal?.throwIfAborted();
    return { size, parts: digests, contentHash: contentHashOf(digests.map((p) => p.sha256)) };
  } finally {
    await pool.close();
    await fh.close();
  }
}
