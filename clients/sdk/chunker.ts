/**
 * Content-defined part boundaries (FastCDC, Xia et al. 2016, gear hash with sub-minimum
 * cut-point skipping, without normalised chunking): a gear hash rolls over the bytes, and a part
 * ends where its high bits are zero, at least `min` bytes after the part began; so a boundary
 * depends only on the 32 bytes before it and on where the part began. An insertion or deletion
 * therefore changes the parts it touches and, rarely (when a boundary it creates or removes
 * lands within `min` of the next one), one or two more; fixed parts would all shift.
 * Normalised chunking was measured and left out: its mask depends on the distance from the
 * part's start, which made edits cascade over many parts (docs/uploads.md).
 *
 * Platform-neutral (no Node or browser import): the Node uploader and the web app cut the same
 * bytes at the same places. The gear table and the parameter rule below are part of the
 * protocol: a client that reuses a part of an older local copy re-cuts that copy with them.
 */

/** Bounds of one chunking: every part but the last is min..max bytes; `avg` is the normal size. */
export interface ChunkParams {
  min: number;
  avg: number;
  max: number;
}

const MIB = 1024 * 1024;
/** Smallest content-defined part: above every store's minimum part size (S3 and GCS: 5 MiB). */
export const CDC_MIN_PART = 8 * MIB;
/** Most parts an upload may have (S3's limit). */
export const CDC_MAX_PARTS = 10_000;

/**
 * The chunking of a file of `size` bytes: min = 8 MiB, grown in whole MiB so that
 * ceil(size / min) <= 10,000 (every part but the last is at least min, so no file has more
 * than 10,000 parts: a 50 GiB file at most 6,400); avg = 3 x min; max = 12 x min (a part
 * reaches max without a boundary with probability e^-5.5, about 0.4 %).
 * Throws RangeError on a negative or non-integer size.
 */
export function chunkParams(size: number): ChunkParams {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`invalid size ${size}`);
  const min = Math.max(CDC_MIN_PART, Math.ceil(size / CDC_MAX_PARTS / MIB) * MIB);
  return { min, avg: 3 * min, max: Math.min(12 * min, MAX_PART) };
}

/** Largest part a store takes (S3: 5 GiB). */
const MAX_PART = 5 * 1024 * MIB;

/**
 * The chunking an upload of `size` bytes uses under a server's plan, or null for fixed parts:
 * a file of at most one minimum part is one part either way, and a server whose minimum part
 * size or part limit the chunking would not meet gets fixed parts (its uploadPlan's).
 */
export function contentDefinedFor(size: number, plan: { minPartSize: number | string; maxParts: number }): ChunkParams | null {
  const params = chunkParams(size);
  if (size <= params.min || Number(plan.minPartSize) > params.min || Math.ceil(size / params.min) > plan.maxParts) return null;
  return params;
}

/** Bytes of history a boundary depends on (a 32-bit gear hash forgets a byte after 32 shifts). */
export const WINDOW = 32;

/** 256 pseudo-random 32-bit words from a fixed seed (splitmix32): the same on every platform. */
const GEAR = (() => {
  const t = new Int32Array(256);
  let s = 0x7e55e7a | 0;
  for (let i = 0; i < 256; i++) {
    s = (s + 0x9e3779b9) | 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    t[i] = z ^ (z >>> 16);
  }
  return t;
})();

/** The top `bits` bits of a 32-bit word set (a boundary needs them all zero in the hash). */
function highMask(bits: number): number {
  return bits <= 0 ? 0 : (~0 << (32 - Math.min(bits, 32))) | 0;
}

/**
 * Finds boundaries in a stream of bytes fed in any slicing (the result does not depend on
 * how the stream is cut into buffers). `push` returns the end offsets (in stream coordinates)
 * of the parts completed inside the buffer; the last part ends at the stream's end.
 */
export class Chunker {
  private readonly mask: number;
  /** Stream offset where the current part started. */
  private start = 0;
  /** Bytes consumed so far. */
  private pos = 0;
  private h = 0;

  constructor(readonly params: ChunkParams) {
    const { min, avg, max } = params;
    if (!(Number.isSafeInteger(min) && min > WINDOW && avg > min && max >= avg)) throw new RangeError(`invalid chunk params ${min}/${avg}/${max}`);
    // past min, a boundary every (avg - min) bytes on average
    this.mask = highMask(Math.round(Math.log2(avg - min)));
  }

  push(buf: Uint8Array): number[] {
    const cuts: number[] = [];
    const { min, max } = this.params;
    const mask = this.mask;
    const gear = GEAR;
    const n = buf.length;
    const base = this.pos;
    let start = this.start;
    let h = this.h;
    let i = 0;
    while (i < n) {
      const len = base + i - start; // bytes of the current part before buf[i]
      if (len < min - WINDOW) { // no boundary before min: skip what cannot matter
        i += Math.min(n - i, min - WINDOW - len);
        h = 0;
        continue;
      }
      if (len < min) { // fill the hash's window up to min
        const stop = Math.min(n, i + (min - len));
        for (; i < stop; i++) h = ((h << 1) + gear[buf[i]]) | 0;
        continue;
      }
      const stop = Math.min(n, i + (max - len));
      // the hash rolls 4 bytes per turn (measured 1.6x the speed of one per turn in V8), then
      // byte by byte to `stop`; j ends on the byte after which the hash first meets the mask, else at stop
      let j = i;
      scan: {
        for (const stop4 = stop - 3; j < stop4; j += 4) {
          h = ((h << 1) + gear[buf[j]]) | 0;
          if ((h & mask) === 0) break scan;
          h = ((h << 1) + gear[buf[j + 1]]) | 0;
          if ((h & mask) === 0) { j += 1; break scan; }
          h = ((h << 1) + gear[buf[j + 2]]) | 0;
          if ((h & mask) === 0) { j += 2; break scan; }
          h = ((h << 1) + gear[buf[j + 3]]) | 0;
          if ((h & mask) === 0) { j += 3; break scan; }
        }
        for (; j < stop; j++) {
          h = ((h << 1) + gear[buf[j]]) | 0;
          if ((h & mask) === 0) break;
        }
      }
      if (j < stop) i = j + 1; // a boundary after buf[j]
      else if (base + (i = stop) - start < max) continue; // the buffer ended first
      cuts.push(base + i); // a boundary, or max reached without one
      start = base + i;
      h = 0;
    }
    this.start = start;
    this.h = h;
    this.pos = base + n;
    return cuts;
  }

  /** Bytes fed so far. */
  get offset(): number {
    return this.pos;
  }
}

/** The part ends of a whole buffer (the last one is its length; an empty buffer has one, at 0). */
export function cutPoints(data: Uint8Array, params: ChunkParams): number[] {
  const cuts = new Chunker(params).push(data);
  if (cuts[cuts.length - 1] !== data.length || data.length === 0) cuts.push(data.length);
  return cuts;
}
