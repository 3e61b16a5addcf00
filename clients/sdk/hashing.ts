import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { TesseraError, isTesseraError } from './errors';
import { hashSpansInWorkers } from './hash-workers';

export const MIB = 1024 * 1024;
/** Smallest part size the service uses (every part but the last). */
export const MIN_PART_SIZE = 8 * MIB;
/** Most parts one upload may have. */
export const MAX_PARTS = 10_000;
const READ_BUFFER = MIB;
/** From this many parts on, parts are hashed on worker threads (small files stay on this thread). */
export const WORKER_THRESHOLD_PARTS = 3;

export type { PartSpan, PartDigest, FileDigest } from './digest';
import type { PartSpan, PartDigest, FileDigest } from './digest';

/**
 * The part size to use for `size` bytes: at least `minPartSize`, grown in whole MiB so the
 * file needs at most `maxParts` parts. The server's `uploadPlan` is authoritative; this mirrors it.
 */
export function choosePartSize(size: number, opts: { minPartSize?: number; maxParts?: number } = {}): number {
  const min = opts.minPartSize ?? MIN_PART_SIZE;
  const maxParts = opts.maxParts ?? MAX_PARTS;
  const needed = Math.ceil(size / maxParts);
  return Math.max(min, Math.ceil(needed / MIB) * MIB);
}

/**
 * Splits `size` bytes into consecutive parts of `partSize` (the last one may be shorter).
 * A zero-byte file is one part of size 0. Throws RangeError on a negative size or a
 * non-positive part size.
 */
export function planParts(size: number, partSize: number): PartSpan[] {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`invalid size ${size}`);
  if (!Number.isSafeInteger(partSize) || partSize <= 0) throw new RangeError(`invalid part size ${partSize}`);
  if (size === 0) return [{ partNumber: 1, offset: 0, size: 0 }];
  const parts: PartSpan[] = [];
  for (let offset = 0, n = 1; offset < size; offset += partSize, n++) {
    parts.push({ partNumber: n, offset, size: Math.min(partSize, size - offset) });
  }
  return parts;
}

/** Dropbox-style content hash: SHA-256 of the concatenated binary part digests (given as hex or bytes). */
export function contentHashOf(partDigests: readonly (string | Uint8Array)[]): string {
  const h = createHash('sha256');
  for (const d of partDigests) h.update(typeof d === 'string' ? Buffer.from(d, 'hex') : d);
  return h.digest('hex');
}

/** SHA-256 (lowercase hex) of a byte buffer. */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The digest of bytes already in memory, cut in parts of `partSize` as hashFileParts cuts a file of that size. */
export function digestOfBuffer(bytes: Buffer, partSize: number, opts: { md5?: boolean } = {}): FileDigest {
  const parts: PartDigest[] = planParts(bytes.length, partSize).map((span) => {
    const chunk = bytes.subarray(span.offset, span.offset + span.size);
    return { ...span, sha256: createHash('sha256').update(chunk).digest('hex'), ...(opts.md5 ? { md5: createHash('md5').update(chunk).digest('hex') } : {}) };
  });
  return { size: bytes.length, parts, contentHash: contentHashOf(parts.map((p) => p.sha256)) };
}

/**
 * Hashes a file part by part in one sequential pass with a fixed 1 MiB buffer (flat memory
 * for any file size). Rejects with the fs error if the file cannot be read, with TesseraError
 * CHANGED if it shrinks while being read; with the signal's reason when aborted.
 */
export async function hashFileParts(
  path: string,
  partSize: number,
  opts: { md5?: boolean; signal?: AbortSignal; onProgress?: (bytesDone: number, bytesTotal: number) => void } = {},
): Promise<FileDigest> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    const spans = planParts(size, partSize);
    if (spans.length >= WORKER_THRESHOLD_PARTS) {
      let hashed = 0;
      const parts = await hashSpansInWorkers(path, spans, {
        md5: opts.md5, signal: opts.signal, onPart: (span) => { hashed += span.size; opts.onProgress?.(hashed, size); },
      });
      return { size, parts, contentHash: contentHashOf(parts.map((p) => p.sha256)) };
    }
    const buf = Buffer.allocUnsafe(Math.min(READ_BUFFER, Math.max(size, 1))); // a small file needs no 1 MiB buffer (a folder of 1,000 would allocate 1 GiB)
    const parts: PartDigest[] = [];
    let done = 0;
    for (const span of spans) {
      opts.signal?.throwIfAborted();
      const sha = createHash('sha256');
      const md5 = opts.md5 ? createHash('md5') : undefined;
      await readRange(fh, buf, span.offset, span.size, (chunk) => {
        sha.update(chunk);
        md5?.update(chunk);
        done += chunk.length;
        opts.onProgress?.(done, size);
      });
      parts.push({ ...span, sha256: sha.digest('hex'), ...(md5 ? { md5: md5.digest('hex') } : {}) });
    }
    return { size, parts, contentHash: contentHashOf(parts.map((p) => p.sha256)) };
  } finally {
    await fh.close();
  }
}

/** SHA-256 (hex) of `size` bytes at `offset` of an open file, or null if the file is too short. */
export async function hashFileRange(fh: FileHandle, offset: number, size: number): Promise<string | null> {
  const sha = createHash('sha256');
  try {
    await readRange(fh, Buffer.allocUnsafe(Math.min(READ_BUFFER, Math.max(size, 1))), offset, size, (c) => sha.update(c));
  } catch (e) {
    if (isTesseraError(e, 'CHANGED')) return null;
    throw e;
  }
  return sha.digest('hex');
}

async function readRange(fh: FileHandle, buf: Buffer, offset: number, size: number, onChunk: (chunk: Buffer) => void): Promise<void> {
  let pos = offset;
  const end = offset + size;
  while (pos < end) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, end - pos), pos);
    if (bytesRead === 0) throw new TesseraError('CHANGED', `short read at offset ${pos}: the file shrank while it was read`);
    onChunk(buf.subarray(0, bytesRead));
    pos += bytesRead;
  }
}
