import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { StorageError } from '../errors';

/**
 * The local store's encryption at rest: an envelope per file, AES-256-GCM throughout.
 *
 * Every encrypted file (an object, an upload's in-place data file, a part in a file of its
 * own) is a 256-byte header followed by segments:
 *
 *   offset  size  field
 *        0     8  magic "TSRENC01"
 *        8     1  version (1)
 *       12     4  segment size S (plaintext bytes per segment, u32 BE)
 *       16    16  file id (random; every segment's AAD)
 *       32    68  key slot A: master key id (8) | nonce (12) | wrapped data key (32) | tag (16)
 *      100    68  key slot B (same; all zero when empty)
 *      168     8  sealed plaintext size (u64 BE)
 *      176    32  seal: HMAC-SHA256(data key, "tessera-seal" | file id | size); all zero = unsealed
 *      208    48  zero
 *   256 ...       segment i (plaintext bytes [i*S, (i+1)*S)): nonce (12) | ciphertext | tag (16)
 *
 * The data key (32 random bytes, one per file) is wrapped by a master key with AES-256-GCM,
 * the header's first 32 bytes (magic, version, S, file id) as AAD. Each segment has a random
 * nonce and `file id | u64 BE segment index` as AAD, so a segment moved, swapped or
 * altered fails its tag. The seal binds the plaintext size (so a file cut or extended by
 * whole segments is caught); a completed object is always sealed, a staged data file is
 * sealed when it becomes an object. Only the last segment may be short, so the plaintext
 * size follows from the file size and must equal the sealed one.
 *
 * Two key slots let a key rotation write the new wrap into the slot not in use and fsync it
 * before anything else: at every instant one slot unwraps with a configured key (./rotation).
 *
 * Failures are StorageErrors: CORRUPT (bad header, tag or seal: tampered or damaged, never
 * returned as bytes), KEY_UNAVAILABLE (no configured master key wraps this file's data key).
 */
export const MAGIC = Buffer.from('TSRENC01', 'latin1');
export const HEADER_SIZE = 256;
export const NONCE = 12;
export const TAG = 16;
/** Bytes a segment adds to its plaintext. */
export const SEGMENT_OVERHEAD = NONCE + TAG;
export const DEFAULT_SEGMENT_SIZE = 64 * 1024;
const SLOT_OFFSETS = [32, 100] as const;
const SLOT_SIZE = 68;
const SIZE_OFFSET = 168;
const SEAL_OFFSET = 176;
const AAD_END = 32;

export interface MasterKey {
  /** 8 bytes derived from the key (never the key): names it in the header. */
  id: Buffer;
  key: Buffer;
}

/** The master keys this store knows; the first wraps new data keys, all of them unwrap. */
export class KeyRing {
  readonly keys: MasterKey[];

  /** `keys`: 32-byte AES keys, the current one first. */
  constructor(keys: Buffer[]) {
    if (keys.length === 0) throw new StorageError('INTERNAL', 'encryption: no master key');
    for (const k of keys) if (k.length !== 32) throw new StorageError('INTERNAL', 'encryption: a master key must be 32 bytes');
    this.keys = keys.map((key) => ({ id: masterKeyId(key), key }));
  }

  get current(): MasterKey {
    return this.keys[0];
  }

  find(id: Buffer): MasterKey | undefined {
    return this.keys.find((k) => k.id.equals(id));
  }
}

/** A master key's id: the first 8 bytes of SHA-256("tessera-master-key-id" | key), hex in logs and docs. */
export function masterKeyId(key: Buffer): Buffer {
  return createHash('sha256').update('tessera-master-key-id').update(key).digest().subarray(0, 8);
}

/** An opened envelope: what reading and writing segments needs. */
export interface Envelope {
  fileId: Buffer;
  segmentSize: number;
  dataKey: Buffer;
  /** The id of the master key whose slot unwrapped the data key. */
  keyId: Buffer;
  /** The sealed plaintext size, or undefined when unsealed. */
  sealedSize?: number;
}

/** A new envelope (fresh file id and data key, wrapped by the ring's current key) and its header. */
export function newEnvelope(ring: KeyRing, segmentSize = DEFAULT_SEGMENT_SIZE): { envelope: Envelope; header: Buffer } {
  if (!Number.isSafeInteger(segmentSize) || segmentSize < 1 || segmentSize > 0x7fffffff) {
    throw new StorageError('INTERNAL', `encryption: bad segment size ${segmentSize}`);
  }
  const header = Buffer.alloc(HEADER_SIZE);
  MAGIC.copy(header, 0);
  header[8] = 1;
  header.writeUInt32BE(segmentSize, 12);
  const fileId = randomBytes(16);
  fileId.copy(header, 16);
  const dataKey = randomBytes(32);
  wrapInto(header, 0, ring.current, dataKey);
  return { envelope: { fileId, segmentSize, dataKey, keyId: ring.current.id }, header };
}

/** Whether `head` (a file's first bytes) starts like an envelope. */
export function isEnvelope(head: Buffer): boolean {
  return head.length >= MAGIC.length && head.subarray(0, MAGIC.length).equals(MAGIC);
}

/** Opens a header: checks it, unwraps the data key with the first slot a configured key opens. */
export function openHeader(header: Buffer, ring: KeyRing): Envelope {
  if (header.length < HEADER_SIZE || !isEnvelope(header) || header[8] !== 1) throw corrupt('not an encrypted file of version 1');
  const segmentSize = header.readUInt32BE(12);
  if (segmentSize < 1) throw corrupt('bad segment size');
  const fileId = Buffer.from(header.subarray(16, 32));
  let known = false;
  // the current key's slot first: after a rotation the file is opened (and reported) by the new key
  for (const master of ring.keys) {
    const s = [slotOf(header, 0), slotOf(header, 1)].find((x) => x.keyId.equals(master.id));
    if (!s) continue;
    known = true;
    const dataKey = unwrap(header, s, master);
    if (!dataKey) continue;
    const env: Envelope = { fileId, segmentSize, dataKey, keyId: master.id };
    const seal = header.subarray(SEAL_OFFSET, SEAL_OFFSET + 32);
    if (!seal.equals(Buffer.alloc(32))) {
      const size = Number(header.readBigUInt64BE(SIZE_OFFSET));
      if (!timingSafeEqual(seal, sealOf(env, size))) throw corrupt('the size seal does not verify');
      env.sealedSize = size;
    }
    return env;
  }
  if (!known) throw new StorageError('KEY_UNAVAILABLE', 'encryption: no configured master key wraps this file\'s data key');
  throw corrupt('no key slot unwraps (tampered header)');
}

/** The 40 bytes at SIZE_OFFSET that seal `size` into the header (see sealAt). */
export function sealBytes(env: Envelope, size: number): Buffer {
  const out = Buffer.alloc(40);
  out.writeBigUInt64BE(BigInt(size), 0);
  sealOf(env, size).copy(out, 8);
  return out;
}
export const SEAL_AT = SIZE_OFFSET;

function sealOf(env: Envelope, size: number): Buffer {
  const n = Buffer.alloc(8);
  n.writeBigUInt64BE(BigInt(size));
  return createHmac('sha256', env.dataKey).update('tessera-seal').update(env.fileId).update(n).digest();
}

/**
 * Re-wraps the header's data key with `ring.current` into the slot not holding the wrap that
 * opened it; null when the current key already wraps it. Returns the slot's offset and bytes
 * to write (the caller writes them and fsyncs: the other slot stays valid throughout).
 */
export function rewrap(header: Buffer, ring: KeyRing): { offset: number; bytes: Buffer } | null {
  const env = openHeader(header, ring);
  if (env.keyId.equals(ring.current.id)) return null;
  const inUse = [0, 1].find((i) => slotOf(header, i).keyId.equals(env.keyId))!;
  const target = 1 - inUse;
  const copy = Buffer.from(header);
  wrapInto(copy, target, ring.current, env.dataKey);
  const offset = SLOT_OFFSETS[target];
  return { offset, bytes: copy.subarray(offset, offset + SLOT_SIZE) };
}

/**
 * The offsets of key slots that hold a wrap by a key other than `keyId` (the current key's
 * slot having been checked to open): what retiring old keys zeroes.
 */
export function staleSlots(header: Buffer, keyId: Buffer): number[] {
  return [0, 1].filter((i) => {
    const id = slotOf(header, i).keyId;
    return !id.equals(keyId) && !id.equals(Buffer.alloc(8));
  }).map((i) => SLOT_OFFSETS[i]);
}
export const KEY_SLOT_SIZE = SLOT_SIZE;

/** Bytes on disk for `plain` plaintext bytes (header included). */
export function cipherSize(plain: number, segmentSize: number): number {
  const full = Math.floor(plain / segmentSize);
  const rest = plain - full * segmentSize;
  return HEADER_SIZE + full * (segmentSize + SEGMENT_OVERHEAD) + (rest > 0 ? rest + SEGMENT_OVERHEAD : 0);
}

/** Plaintext bytes in a file of `fileSize` bytes; CORRUPT if no plaintext size gives it. */
export function plainSize(fileSize: number, segmentSize: number): number {
  const body = fileSize - HEADER_SIZE;
  if (body < 0) throw corrupt('shorter than its header');
  const full = Math.floor(body / (segmentSize + SEGMENT_OVERHEAD));
  const rest = body - full * (segmentSize + SEGMENT_OVERHEAD);
  if (rest > 0 && rest <= SEGMENT_OVERHEAD) throw corrupt('a torn last segment');
  return full * segmentSize + (rest > 0 ? rest - SEGMENT_OVERHEAD : 0);
}

/** Where segment `index` starts in the file. */
export function segmentOffset(index: number, segmentSize: number): number {
  return HEADER_SIZE + index * (segmentSize + SEGMENT_OVERHEAD);
}

export function encryptSegment(env: Envelope, index: number, plain: Buffer): Buffer {
  const nonce = randomBytes(NONCE);
  const cipher = createCipheriv('aes-256-gcm', env.dataKey, nonce);
  cipher.setAAD(segmentAad(env, index));
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Buffer.concat([nonce, body, cipher.getAuthTag()]);
}

/** CORRUPT when the segment is not what was written at `index` of this file. */
export function decryptSegment(env: Envelope, index: number, segment: Buffer): Buffer {
  if (segment.length <= SEGMENT_OVERHEAD) throw corrupt(`segment ${index} is torn`);
  try {
    const decipher = createDecipheriv('aes-256-gcm', env.dataKey, segment.subarray(0, NONCE));
    decipher.setAAD(segmentAad(env, index));
    decipher.setAuthTag(segment.subarray(segment.length - TAG));
    return Buffer.concat([decipher.update(segment.subarray(NONCE, segment.length - TAG)), decipher.final()]);
  } catch {
    throw corrupt(`segment ${index} fails authentication`);
  }
}

export function corrupt(what: string): StorageError {
  return new StorageError('CORRUPT', `encrypted file: ${what}`);
}

function segmentAad(env: Envelope, index: number): Buffer {
  const n = Buffer.alloc(8);
  n.writeBigUInt64BE(BigInt(index));
  return Buffer.concat([env.fileId, n]);
}

function slotOf(header: Buffer, slot: number): { offset: number; keyId: Buffer; nonce: Buffer; wrapped: Buffer; tag: Buffer } {
  const o = SLOT_OFFSETS[slot];
  return {
    offset: o,
    keyId: header.subarray(o, o + 8),
    nonce: header.subarray(o + 8, o + 20),
    wrapped: header.subarray(o + 20, o + 52),
    tag: header.subarray(o + 52, o + 68),
  };
}

function wrapInto(header: Buffer, slot: number, master: MasterKey, dataKey: Buffer): void {
  const o = SLOT_OFFSETS[slot];
  const nonce = randomBytes(NONCE);
  const cipher = createCipheriv('aes-256-gcm', master.key, nonce);
  cipher.setAAD(header.subarray(0, AAD_END));
  const wrapped = Buffer.concat([cipher.update(dataKey), cipher.final()]);
  master.id.copy(header, o);
  nonce.copy(header, o + 8);
  wrapped.copy(header, o + 20);
  cipher.getAuthTag().copy(header, o + 52);
}

function unwrap(header: Buffer, s: ReturnType<typeof slotOf>, master: MasterKey): Buffer | null {
  try {
    const decipher = createDecipheriv('aes-256-gcm', master.key, s.nonce);
    decipher.setAAD(header.subarray(0, AAD_END));
    decipher.setAuthTag(s.tag);
    return Buffer.concat([decipher.update(s.wrapped), decipher.final()]);
  } catch {
    return null;
  }
}
