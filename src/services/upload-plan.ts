import crypto from 'node:crypto';
import type { PartChecksum, StorageLimits } from '../storage/types';
import { AppError, badInput } from './errors';

const MiB = 1024 * 1024;

export interface UploadPlan {
  partSize: number;
  partCount: number;
  maxParts: number;
  minPartSize: number;
  /** Largest part the store takes. */
  maxPartSize: number;
  maxSize: number;
  checksumAlgorithm: 'SHA256';
  partChecksum: PartChecksum;
  /** A file of at most `minPartSize` bytes goes to the store in one PUT, with no multipart session to end (S3). */
  singlePut: boolean;
}

export interface PlanSettings {
  limits: StorageLimits;
  checksum: PartChecksum;
  /** Smallest part size handed out (the store's own minimum applies too). */
  minPartSize: number;
  maxFileSize: number;
  /** The store takes a small file in one presigned PUT. */
  singlePut: boolean;
}

/**
 * How a file of `size` bytes is cut into parts: at least `minPartSize`, growing in whole
 * MiB so the count never exceeds the store's part limit. A zero-byte file is one empty part.
 */
export function planUpload(size: number, s: PlanSettings): UploadPlan {
  checkSize(size, s);
  const maxParts = Math.min(10_000, s.limits.maxParts);
  const floor = Math.max(s.minPartSize, s.limits.minPartSize);
  const needed = Math.ceil(Math.ceil(size / maxParts) / MiB) * MiB;
  const partSize = Math.min(Math.max(floor, needed), s.limits.maxPartSize);
  const partCount = size === 0 ? 1 : Math.ceil(size / partSize);
  if (partCount > maxParts) throw badInput('file too large for the store', { size });
  return {
    partSize, partCount, maxParts, minPartSize: floor, maxPartSize: s.limits.maxPartSize, maxSize: Math.min(s.maxFileSize, s.limits.maxObjectSize),
    checksumAlgorithm: 'SHA256', partChecksum: s.checksum, singlePut: s.singlePut,
  };
}

export function checkSize(size: number, s: PlanSettings): void {
  if (!Number.isSafeInteger(size) || size < 0) throw badInput('size must be a non-negative integer', { size });
  if (size > s.limits.maxObjectSize) throw badInput('size exceeds what the store can hold', { size });
  if (size > s.maxFileSize) throw new AppError('PAYLOAD_TOO_LARGE', `files are limited to ${s.maxFileSize} bytes`, { size, maxSize: s.maxFileSize });
}

export interface DeclaredPart {
  partNumber: number;
  size: number;
  sha256: string;
  md5?: string | null;
}

const HEX64 = /^[0-9a-f]{64}$/;
const HEX32 = /^[0-9a-f]{32}$/;

/**
 * Checks that the declared parts tile the file: numbered from 1, consecutive, every part but
 * the last of `plan.minPartSize`..`plan.maxPartSize` bytes (the store's rules; the plan's
 * fixed parts and a client's content-defined parts both qualify), at most `plan.maxParts` of
 * them, adding up to `size` (an empty part only for an empty file); and that contentHash is the
 * SHA-256 of their concatenated binary digests. Returns the parts sorted, with offsets.
 */
export function validateParts(size: number, contentHash: string, parts: DeclaredPart[], plan: UploadPlan): (DeclaredPart & { offset: number })[] {
  if (!HEX64.test(contentHash)) throw badInput('contentHash must be 64 lowercase hex characters');
  if (parts.length < 1 || parts.length > plan.maxParts) {
    throw badInput(`a file is 1 to ${plan.maxParts} parts, got ${parts.length}`, { partSize: plan.partSize, partCount: plan.partCount });
  }
  const sorted = [...parts].sort((a, b) => a.partNumber - b.partNumber);
  let offset = 0;
  const out = sorted.map((p, i) => {
    if (p.partNumber !== i + 1) throw badInput('part numbers must run from 1 without gaps or repeats', { partNumber: p.partNumber });
    const last = i === sorted.length - 1;
    if (!Number.isSafeInteger(p.size) || p.size < 0 || p.size > plan.maxPartSize || (p.size === 0 && size !== 0)) {
      throw badInput(`part ${p.partNumber} must be 1 to ${plan.maxPartSize} bytes`, { partNumber: p.partNumber, size: p.size });
    }
    if (!last && p.size < plan.minPartSize) {
      throw badInput(`part ${p.partNumber} must be at least ${plan.minPartSize} bytes (every part but the last)`, { partNumber: p.partNumber, size: p.size });
    }
    if (!HEX64.test(p.sha256)) throw badInput(`part ${p.partNumber}: sha256 must be 64 lowercase hex characters`, { partNumber: p.partNumber });
    if (p.md5 != null && !HEX32.test(p.md5)) throw badInput(`part ${p.partNumber}: md5 must be 32 lowercase hex characters`, { partNumber: p.partNumber });
    if (plan.partChecksum === 'MD5' && !p.md5) throw badInput(`part ${p.partNumber}: this store needs each part's md5`, { partNumber: p.partNumber });
    const placed = { ...p, offset };
    offset += p.size;
    return placed;
  });
  if (offset !== size) throw badInput(`the parts add up to ${offset} bytes, not ${size}`, { size });
  if (contentHashOf(out.map((p) => p.sha256)) !== contentHash) throw badInput('contentHash does not match the parts');
  return out;
}

/**
 * The size of every part but the last when all of them are alike (fixed parts: the plan's, or
 * `fallback` for a one-part file), else 0 (content-defined parts of varying sizes).
 */
export function uniformPartSize(parts: { size: number }[], fallback: number): number {
  if (parts.length === 1) return fallback;
  const first = parts[0].size;
  return parts.every((p, i) => (i === parts.length - 1 ? p.size <= first : p.size === first)) ? first : 0;
}

/** SHA-256 over the concatenated binary part digests (Dropbox's content hash scheme). */
export function contentHashOf(partSha256s: string[]): string {
  const h = crypto.createHash('sha256');
  for (const d of partSha256s) h.update(Buffer.from(d, 'hex'));
  return h.digest('hex');
}
