import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { choosePartSize, contentHashOf, digestOfBuffer, hashFileParts, MAX_PARTS, MIB, MIN_PART_SIZE, planParts } from '../../clients/sdk/hashing';

const GIB = 1024 * MIB;
const sha = (b: Buffer) => createHash('sha256').update(b).digest();

describe('planParts / choosePartSize', () => {
  it('splits into equal parts with a short last part', () => {
    expect(planParts(20 * MIB, 8 * MIB)).toEqual([
      { partNumber: 1, offset: 0, size: 8 * MIB },
      { partNumber: 2, offset: 8 * MIB, size: 8 * MIB },
      { partNumber: 3, offset: 16 * MIB, size: 4 * MIB },
    ]);
  });

  it('gives a zero-byte file one empty part', () => {
    expect(planParts(0, MIN_PART_SIZE)).toEqual([{ partNumber: 1, offset: 0, size: 0 }]);
  });

  it('gives an exact multiple no empty trailing part', () => {
    const parts = planParts(16 * MIB, 8 * MIB);
    expect(parts).toHaveLength(2);
    expect(parts[1].size).toBe(8 * MIB);
  });

  it('rejects negative sizes and bad part sizes', () => {
    expect(() => planParts(-1, MIB)).toThrow(RangeError);
    expect(() => planParts(10, 0)).toThrow(RangeError);
  });

  it('plans 50 GiB in at most 10,000 parts of at least 8 MiB', () => {
    const size = 50 * GIB;
    const partSize = choosePartSize(size);
    const parts = planParts(size, partSize);
    expect(partSize).toBeGreaterThanOrEqual(MIN_PART_SIZE);
    expect(parts.length).toBeLessThanOrEqual(MAX_PARTS);
    expect(parts.reduce((n, p) => n + p.size, 0)).toBe(size);
    expect(parts.at(-1)!.offset + parts.at(-1)!.size).toBe(size);
  });

  it('grows the part size past 8 MiB when 10,000 parts would not be enough', () => {
    const size = 200 * GIB;
    const partSize = choosePartSize(size);
    expect(partSize).toBeGreaterThan(MIN_PART_SIZE);
    expect(partSize % MIB).toBe(0);
    expect(planParts(size, partSize).length).toBeLessThanOrEqual(MAX_PARTS);
    expect(choosePartSize(MIB)).toBe(MIN_PART_SIZE);
  });
});

describe('contentHashOf', () => {
  it('is SHA-256 over the concatenated binary part digests', () => {
    const a = randomBytes(1000);
    const b = randomBytes(10);
    const expected = createHash('sha256').update(Buffer.concat([sha(a), sha(b)])).digest('hex');
    expect(contentHashOf([sha(a).toString('hex'), sha(b).toString('hex')])).toBe(expected);
    expect(contentHashOf([sha(a), sha(b)])).toBe(expected);
  });
});

describe('hashFileParts', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-hash-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('hashes a 20 MiB file in 8 MiB parts, the last one short, matching an independent hash', async () => {
    const data = randomBytes(20 * MIB + 12345);
    const path = join(dir, 'big.bin');
    await writeFile(path, data);
    const seen: number[] = [];
    const digest = await hashFileParts(path, 8 * MIB, { md5: true, onProgress: (done) => seen.push(done) });

    const slices = [data.subarray(0, 8 * MIB), data.subarray(8 * MIB, 16 * MIB), data.subarray(16 * MIB)];
    expect(digest.size).toBe(data.length);
    expect(digest.parts.map((p) => p.size)).toEqual([8 * MIB, 8 * MIB, 4 * MIB + 12345]);
    expect(digest.parts.map((p) => p.offset)).toEqual([0, 8 * MIB, 16 * MIB]);
    expect(digest.parts.map((p) => p.sha256)).toEqual(slices.map((s) => sha(s).toString('hex')));
    expect(digest.parts.map((p) => p.md5)).toEqual(slices.map((s) => createHash('md5').update(s).digest('hex')));
    expect(digest.contentHash).toBe(createHash('sha256').update(Buffer.concat(slices.map(sha))).digest('hex'));
    expect(seen.at(-1)).toBe(data.length);
  });

  it('omits md5 unless asked and hashes an empty file as one empty part', async () => {
    const path = join(dir, 'empty.bin');
    await writeFile(path, '');
    const digest = await hashFileParts(path, 8 * MIB);
    const emptySha = sha(Buffer.alloc(0));
    expect(digest.parts).toEqual([{ partNumber: 1, offset: 0, size: 0, sha256: emptySha.toString('hex') }]);
    expect(digest.contentHash).toBe(createHash('sha256').update(emptySha).digest('hex'));
  });

  it('rejects a missing file with the fs error', async () => {
    await expect(hashFileParts(join(dir, 'nope'), MIB)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('digestOfBuffer', () => {
  it('gives what hashFileParts gives for the same bytes in a file (sizes 0, 1, a part, a part and a byte; with and without MD5)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tessera-digest-buf-'));
    try {
      for (const size of [0, 1, 1000, 4096, 4097]) {
        const bytes = randomBytes(size);
        const file = join(dir, `f${size}`);
        await writeFile(file, bytes);
        for (const md5 of [false, true]) expect(digestOfBuffer(bytes, 4096, { md5 })).toEqual(await hashFileParts(file, 4096, { md5 }));
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
