import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { transformSync } from '@swc/core';
import { chromium } from 'playwright-core';
import { CDC_MAX_PARTS, CDC_MIN_PART, Chunker, chunkParams, contentDefinedFor, cutPoints, type ChunkParams } from '../../clients/sdk/chunker';
import { CHROMIUM } from '../web/browser';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/** Seeded bytes (xorshift32), the same in Node and in the browser (the function's source is sent there too). */
function seededBytes(seed: number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed | 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** The 1 GiB rule scaled down by 128 (min 64 KiB instead of 8 MiB; an edit of 8 KiB stands for 1 MiB). */
const SMALL: ChunkParams = { min: 64 * KiB, avg: 192 * KiB, max: 768 * KiB };
const FILE = 128 * SMALL.min; // as 1 GiB is 128 minimum parts
const EDIT = SMALL.min / 8;

/**
 * The boundary rule spelt out byte by byte (what Chunker.push computes with skipping and a
 * 4-byte unrolled loop): the gear table of clients/sdk/chunker.ts, a part ends after the first
 * byte at least `min` into it whose rolling hash has its top log2(avg - min) bits zero, or at `max`.
 */
function referenceCuts(data: Uint8Array, { min, avg, max }: ChunkParams): number[] {
  const gear = new Int32Array(256);
  let s = 0x7e55e7a | 0;
  for (let i = 0; i < 256; i++) {
    s = (s + 0x9e3779b9) | 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    gear[i] = z ^ (z >>> 16);
  }
  const bits = Math.round(Math.log2(avg - min));
  const mask = bits <= 0 ? 0 : (~0 << (32 - Math.min(bits, 32))) | 0;
  const cuts: number[] = [];
  let start = 0;
  let h = 0;
  for (let p = 0; p < data.length; p++) {
    const len = p - start;
    if (len < min - 32) { h = 0; continue; }
    h = ((h << 1) + gear[data[p]]) | 0;
    if ((len >= min && (h & mask) === 0) || p + 1 - start === max) {
      cuts.push(p + 1);
      start = p + 1;
      h = 0;
    }
  }
  if (cuts[cuts.length - 1] !== data.length || data.length === 0) cuts.push(data.length);
  return cuts;
}

function partHashes(data: Uint8Array, params = SMALL): string[] {
  let start = 0;
  return cutPoints(data, params).map((end) => {
    const h = createHash('sha256').update(data.subarray(start, end)).digest('hex');
    start = end;
    return h;
  });
}

/** Parts of `after` whose bytes `before` does not hold as a part: what an upload or a download moves. */
function moved(before: Uint8Array, after: Uint8Array): number {
  const old = new Set(partHashes(before));
  return partHashes(after).filter((h) => !old.has(h)).length;
}

const concat = (...bs: Uint8Array[]) => Buffer.concat(bs);

describe('content-defined chunker', () => {
  it('keeps every part but the last within min..max, averaging near avg', () => {
    const data = seededBytes(7, 32 * MiB);
    const cuts = cutPoints(data, SMALL);
    const sizes = cuts.map((c, i) => c - (i ? cuts[i - 1] : 0));
    expect(cuts[cuts.length - 1]).toBe(data.length);
    for (const s of sizes.slice(0, -1)) {
      expect(s).toBeGreaterThanOrEqual(SMALL.min);
      expect(s).toBeLessThanOrEqual(SMALL.max);
    }
    const mean = data.length / sizes.length;
    expect(mean).toBeGreaterThan(SMALL.avg * 0.75);
    expect(mean).toBeLessThan(SMALL.avg * 1.25);
  });

  it('cuts at max when the content has no boundary (zeros), and an empty input is one empty part', () => {
    const cuts = cutPoints(new Uint8Array(5 * SMALL.max + 10), SMALL);
    expect(cuts).toEqual([1, 2, 3, 4, 5].map((k) => k * SMALL.max).concat(5 * SMALL.max + 10));
    expect(cutPoints(new Uint8Array(0), SMALL)).toEqual([0]);
  });

  it('finds the same boundaries however the stream is sliced into buffers', () => {
    const data = seededBytes(11, 8 * MiB);
    const whole = cutPoints(data, SMALL);
    const c = new Chunker(SMALL);
    const cuts: number[] = [];
    let rnd = 12345;
    for (let pos = 0; pos < data.length; ) {
      rnd = (Math.imul(rnd, 1103515245) + 12345) >>> 0;
      const n = Math.min(data.length - pos, 1 + (rnd % 100_000));
      cuts.push(...c.push(data.subarray(pos, pos + n)));
      pos += n;
    }
    if (cuts[cuts.length - 1] !== data.length) cuts.push(data.length);
    expect(cuts).toEqual(whole);
  });

  // The goal, scaled: a 1-byte insert at the start, a "1 MiB" insert in the middle and a
  // "1 MiB" deletion of a "1 GiB" file each move at most 2 parts. Seeded and replayable.
  const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8];
  it.each(SEEDS)('an insertion or deletion moves at most 2 parts (seed %i)', (seed) => {
    const data = seededBytes(seed, FILE);
    const mid = FILE / 2 + ((seed * 7919) % SMALL.avg);
    const cases = {
      insertAtStart: concat(Uint8Array.of(seed & 0xff), data),
      insertInMiddle: concat(data.subarray(0, mid), seededBytes(seed + 1000, EDIT), data.subarray(mid)),
      deleteInMiddle: concat(data.subarray(0, mid), data.subarray(mid + EDIT)),
    };
    const counts = Object.fromEntries(Object.entries(cases).map(([k, after]) => [k, moved(data, after)]));
    for (const [k, n] of Object.entries(counts)) {
      if (n > 2) throw new Error(`seed ${seed}: ${k} moved ${n} parts`);
    }
    // fixed parts would have moved about every part after the edit
    expect(counts.insertAtStart).toBeGreaterThanOrEqual(1);
  });

  it('cuts exactly where the byte-by-byte rule does, whatever the slicing (the 4-byte unrolled scan changes no boundary)', () => {
    const tiny: ChunkParams = { min: 64, avg: 80, max: 200 }; // a boundary every ~16 bytes past min
    for (const [seed, params, n] of [[11, tiny, 200_000], [12, tiny, 4_099], [13, SMALL, 12 * MiB + 5]] as const) {
      const data = seededBytes(seed, n);
      const want = referenceCuts(data, params);
      expect(cutPoints(data, params)).toEqual(want);
      const c = new Chunker(params);
      const got: number[] = [];
      let x = seed;
      for (let at = 0; at < data.length;) {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        const len = 1 + (x % 7919); // odd slice lengths: stops land at every offset mod 4
        got.push(...c.push(data.subarray(at, at + len)));
        at += len;
      }
      if (got[got.length - 1] !== data.length) got.push(data.length);
      expect(got).toEqual(want);
      // boundaries at every position of the unrolled turn
      if (params === tiny) expect(new Set(want.slice(0, -1).map((e, i) => (e - (i ? want[i - 1] : 0)) % 4)).size).toBe(4);
    }
  });

  it('chunkParams: min >= 8 MiB and every file up to the store maximum stays under 10,000 parts (50 GiB: at most 6,400)', () => {
    for (const size of [0, 1, 8 * MiB, GiB, 50 * GiB, 80 * GiB, 80 * GiB + 1, 500 * GiB, 5 * 1024 * GiB]) {
      const p = chunkParams(size);
      expect(p.min).toBeGreaterThanOrEqual(CDC_MIN_PART);
      expect(p.min % MiB).toBe(0);
      expect(Math.ceil(size / p.min)).toBeLessThanOrEqual(CDC_MAX_PARTS);
      expect(p.avg).toBeGreaterThan(p.min);
      expect(p.max).toBeGreaterThanOrEqual(p.avg);
      expect(p.max).toBeLessThanOrEqual(5 * GiB);
    }
    expect(Math.ceil((50 * GiB) / chunkParams(50 * GiB).min)).toBe(6400);
    expect(() => chunkParams(-1)).toThrow(RangeError);
    // small files, and servers whose rules the chunking would not meet, get fixed parts
    const plan = { minPartSize: String(8 * MiB), maxParts: 10_000 };
    expect(contentDefinedFor(8 * MiB, plan)).toBeNull();
    expect(contentDefinedFor(8 * MiB + 1, plan)).toEqual(chunkParams(8 * MiB + 1));
    expect(contentDefinedFor(GiB, { ...plan, minPartSize: 16 * MiB })).toBeNull();
    expect(contentDefinedFor(GiB, { ...plan, maxParts: 100 })).toBeNull();
  });

  it('cuts the same bytes at the same places in Chromium as in Node', async () => {
    const source = transformSync(readFileSync(join(__dirname, '../../clients/sdk/chunker.ts'), 'utf8'), {
      filename: 'chunker.ts', jsc: { parser: { syntax: 'typescript' }, target: 'es2020' }, module: { type: 'commonjs' },
    }).code;
    const params: ChunkParams = { min: 16 * KiB, avg: 48 * KiB, max: 192 * KiB };
    const expected = cutPoints(seededBytes(99, 4 * MiB), params);
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
    try {
      const page = await browser.newPage();
      const got = await page.evaluate(({ source, seeded, params, size }) => {
        const exports: Record<string, unknown> = {};
        new Function('exports', source)(exports);
        const bytes = new Function(`return (${seeded})`)()(99, size) as Uint8Array;
        return (exports.cutPoints as (d: Uint8Array, p: unknown) => number[])(bytes, params);
      }, { source, seeded: seededBytes.toString(), params, size: 4 * MiB });
      expect(got).toEqual(expected);
      expect(got.length).toBeGreaterThan(20);
    } finally {
      await browser.close();
    }
  }, 60_000);
});
