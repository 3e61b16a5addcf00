import { createHash } from 'node:crypto';
import { constants as fsConstants, promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { StorageError } from '../errors';
import {
  corrupt,
  decryptSegment,
  encryptSegment,
  HEADER_SIZE,
  isEnvelope,
  newEnvelope,
  openHeader,
  plainSize,
  SEAL_AT,
  sealBytes,
  segmentOffset,
  SEGMENT_OVERHEAD,
  type Envelope,
  type KeyRing,
} from './envelope';

/**
 * Reading and writing the local store's encrypted files (format: ./envelope). Plaintext is
 * hashed as it arrives (what a part's SHA-256 is checked against) and encrypted segment by
 * segment; reads decrypt only the segments a range touches. Writes are fsynced before they
 * return. Failures: BAD_DIGEST past `maxSize`, CORRUPT / KEY_UNAVAILABLE from the envelope,
 * raw fs errors otherwise (callers translate them).
 */

/** How much ciphertext is gathered before one write/read call. */
const IO_BATCH = 1024 * 1024;

/**
 * Whether a file without an envelope is read as plaintext ('allow') or is CORRUPT ('refuse');
 * 'plain': the file is known to be plaintext (a part staged unencrypted), never parsed.
 */
export type PlaintextPolicy = 'allow' | 'refuse' | 'plain';

/** The file's envelope, or null when it is plaintext (no magic: written with encryption off) and `plaintext` allows that. */
export async function readEnvelope(fh: FileHandle, ring: KeyRing | undefined, plaintext: PlaintextPolicy = 'allow'): Promise<Envelope | null> {
  if (plaintext === 'plain') return null;
  const head = Buffer.alloc(HEADER_SIZE);
  const { bytesRead } = await fh.read(head, 0, HEADER_SIZE, 0);
  if (!isEnvelope(head.subarray(0, bytesRead))) {
    if (plaintext === 'refuse') throw corrupt('not encrypted (a plaintext file where an encrypted one is required)');
    return null;
  }
  if (bytesRead < HEADER_SIZE) throw corrupt('shorter than its header');
  if (!ring) throw new StorageError('KEY_UNAVAILABLE', 'encryption: this file is encrypted and no master key is configured');
  return openHeader(head, ring);
}

/**
 * An object's plaintext size: the file size, or for an envelope the size its segments hold,
 * which must be the sealed one (CORRUPT if unsealed, cut or extended).
 */
export function objectSize(env: Envelope | null, fileSize: number): number {
  if (!env) return fileSize;
  const size = plainSize(fileSize, env.segmentSize);
  if (env.sealedSize === undefined) throw corrupt('an object without a size seal');
  if (env.sealedSize !== size) throw corrupt(`holds ${size} bytes, sealed ${env.sealedSize}`);
  return size;
}

/** Writes a new, empty envelope file (header only), fsynced; returns its envelope. */
export async function createEnvelopeFile(file: string, ring: KeyRing, segmentSize: number): Promise<Envelope> {
  const { envelope, header } = newEnvelope(ring, segmentSize);
  const fh = await fs.open(file, 'wx');
  try {
    await fh.write(header, 0, HEADER_SIZE, 0);
    await fh.sync();
  } finally {
    await fh.close();
  }
  return envelope;
}

/** Seals `size` into the envelope file's header and fsyncs it (idempotent). */
export async function sealFile(file: string, env: Envelope, size: number): Promise<void> {
  const fh = await fs.open(file, fsConstants.O_RDWR);
  try {
    await fh.write(sealBytes(env, size), 0, 40, SEAL_AT);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Opens an existing envelope file's header (CORRUPT if it is not one). */
export async function envelopeOf(file: string, ring: KeyRing): Promise<Envelope> {
  const fh = await fs.open(file, 'r');
  try {
    const env = await readEnvelope(fh, ring);
    if (!env) throw corrupt(`${file} is not encrypted`);
    return env;
  } finally {
    await fh.close();
  }
}

/**
 * Streams `source` encrypted into the new file `file` (its own envelope, sealed), fsynced;
 * returns the plaintext's size and SHA-256. On any failure the file is removed.
 */
export async function writeSealed(source: AsyncIterable<Buffer>, file: string, ring: KeyRing, segmentSize: number, maxSize?: number): Promise<{ size: number; sha256: string }> {
  const { envelope, header } = newEnvelope(ring, segmentSize);
  const fh = await fs.open(file, 'wx');
  try {
    await fh.write(header, 0, HEADER_SIZE, 0);
    const got = await encryptInto(fh, envelope, 0, source, maxSize);
    await fh.write(sealBytes(envelope, got.size), 0, 40, SEAL_AT);
    await fh.sync();
    await fh.close();
    return got;
  } catch (e) {
    await fh.close().catch(() => undefined);
    await fs.rm(file, { force: true });
    throw e;
  }
}

/**
 * Writes `source` encrypted at plaintext `offset` (a multiple of the segment size) of the
 * existing envelope file `file` (ENOENT if gone), fsynced. On failure the segments written
 * so far stay: the caller must not trust the range.
 */
export async function writeSealedAt(source: AsyncIterable<Buffer>, file: string, ring: KeyRing, offset: number, maxSize?: number): Promise<{ size: number; sha256: string }> {
  const fh = await fs.open(file, fsConstants.O_RDWR);
  try {
    const env = await readEnvelope(fh, ring);
    if (!env) throw corrupt(`${file} is not encrypted`);
    if (offset % env.segmentSize !== 0) throw new StorageError('INTERNAL', `offset ${offset} is not segment-aligned`);
    const got = await encryptInto(fh, env, offset / env.segmentSize, source, maxSize);
    await fh.sync();
    return got;
  } finally {
    await fh.close();
  }
}

/** Encrypts `source` into segments from `firstSegment` on; returns the plaintext's size and SHA-256. */
async function encryptInto(fh: FileHandle, env: Envelope, firstSegment: number, source: AsyncIterable<Buffer>, maxSize?: number): Promise<{ size: number; sha256: string }> {
  const S = env.segmentSize;
  const hash = createHash('sha256');
  let size = 0;
  let index = firstSegment;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let out: Buffer[] = [];
  let outBytes = 0;
  let outAt = segmentOffset(index, S);
  const flushOut = async () => {
    if (outBytes === 0) return;
    const buf = Buffer.concat(out, outBytes);
    let done = 0;
    while (done < buf.length) done += (await fh.write(buf, done, buf.length - done, outAt + done)).bytesWritten;
    outAt += buf.length;
    out = [];
    outBytes = 0;
  };
  const emit = async (plain: Buffer) => {
    const seg = encryptSegment(env, index++, plain);
    out.push(seg);
    outBytes += seg.length;
    if (outBytes >= IO_BATCH) await flushOut();
  };
  for await (const chunk of source) {
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    size += b.length;
    if (maxSize !== undefined && size > maxSize) throw new StorageError('BAD_DIGEST', `part is larger than the ${maxSize} bytes it was signed for`);
    hash.update(b);
    let at = 0;
    while (at < b.length) {
      const take = Math.min(S - pendingBytes, b.length - at);
      pending.push(b.subarray(at, at + take));
      pendingBytes += take;
      at += take;
      if (pendingBytes === S) {
        await emit(Buffer.concat(pending, S));
        pending = [];
        pendingBytes = 0;
      }
    }
  }
  if (pendingBytes > 0) await emit(Buffer.concat(pending, pendingBytes));
  await flushOut();
  return { size, sha256: hash.digest('hex') };
}

/**
 * The plaintext of `range` of a region of an envelope file: `region` starts at a segment
 * boundary and was written in one go (all its segments full but its last). Decrypts only the
 * segments the range touches; CORRUPT if one fails. Does not close `fh`.
 */
export async function* decryptRange(
  fh: FileHandle,
  env: Envelope,
  region: { start: number; size: number },
  range: { offset: number; length: number },
): AsyncGenerator<Buffer> {
  if (range.length === 0) return;
  const S = env.segmentSize;
  const regionEnd = region.start + region.size;
  const end = range.offset + range.length;
  let seg = Math.floor(range.offset / S);
  const lastSeg = Math.floor((end - 1) / S);
  while (seg <= lastSeg) {
    // read a batch of whole segments at once
    const first = seg;
    let bytes = 0;
    const lens: number[] = [];
    while (seg <= lastSeg && (bytes === 0 || bytes < IO_BATCH)) {
      const plainLen = Math.min(S, regionEnd - seg * S);
      if (plainLen <= 0) throw corrupt(`segment ${seg} lies beyond the region`);
      lens.push(plainLen + SEGMENT_OVERHEAD);
      bytes += plainLen + SEGMENT_OVERHEAD;
      seg++;
    }
    const buf = Buffer.allocUnsafe(bytes);
    let got = 0;
    const at = segmentOffset(first, S);
    while (got < bytes) {
      const { bytesRead } = await fh.read(buf, got, bytes - got, at + got);
      if (bytesRead === 0) throw corrupt(`segment ${first + lens.length - 1} is missing (file cut short)`);
      got += bytesRead;
    }
    let o = 0;
    for (let i = 0; i < lens.length; i++) {
      const index = first + i;
      const plain = decryptSegment(env, index, buf.subarray(o, o + lens[i]));
      o += lens[i];
      const from = Math.max(range.offset - index * S, 0);
      const to = Math.min(end - index * S, plain.length);
      yield plain.subarray(from, to);
    }
  }
}

/** Plaintext bytes `range` of the plaintext or encrypted file `file`, as a stream of buffers. */
export async function* readPlain(
  file: string,
  ring: KeyRing | undefined,
  region: { start: number; size: number } | 'object',
  range: { offset: number; length: number },
  plaintext: PlaintextPolicy = 'allow',
): AsyncGenerator<Buffer> {
  if (range.length === 0) return;
  const fh = await fs.open(file, 'r');
  try {
    const env = await readEnvelope(fh, ring, plaintext);
    if (!env) {
      for await (const c of fh.createReadStream({ start: range.offset, end: range.offset + range.length - 1, autoClose: false, highWaterMark: IO_BATCH })) yield c as Buffer;
      return;
    }
    const r = region === 'object' ? { start: 0, size: objectSize(env, (await fh.stat()).size) } : region;
    yield* decryptRange(fh, env, r, range);
  } finally {
    await fh.close();
  }
}
