import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chunkedHashThreads, hashFileChunked } from '../../clients/sdk/chunked-hashing';
import { HashPool } from '../../clients/sdk/hash-workers';

const sha = (...bufs: Uint8Array[]) => bufs.reduce((h, b) => h.update(b), createHash('sha256')).digest('hex');

describe('HashPool streams (buffers handed to worker threads)', () => {
  let pool: HashPool;
  beforeAll(() => { pool = new HashPool(2); });
  afterAll(() => pool.close());

  it('hashes buffers in the order given; whole buffers move to the worker, shared ones are copied and stay usable', async () => {
    const whole = new Uint8Array(randomBytes(1 << 20)); // owns its ArrayBuffer
    const expectedWhole = Buffer.from(whole);
    const pooled = Buffer.from('a small buffer from Node\'s shared pool'); // a view into a larger ArrayBuffer
    expect(pooled.byteLength).toBeLessThan(pooled.buffer.byteLength);
    const tail = randomBytes(12345);
    const expected = sha(expectedWhole, pooled, tail);

    const s = pool.stream();
    s.update([whole, pooled]);
    s.update([tail]);
    expect(whole.byteLength).toBe(0); // transferred: detached here
    expect(pooled.toString()).toBe('a small buffer from Node\'s shared pool');
    await expect(s.digest()).resolves.toBe(expected);
  });

  it('runs many streams at once without mixing them, and a dropped stream leaves the others intact', async () => {
    const data = Array.from({ length: 6 }, () => [randomBytes(70_000), randomBytes(5)]);
    const streams = data.map(() => pool.stream());
    for (let round = 0; round < 2; round++) data.forEach((d, i) => streams[i].update([Buffer.from(d[round])]));
    streams[2].drop();
    const digests = await Promise.all(streams.map((s, i) => (i === 2 ? null : s.digest())));
    data.forEach((d, i) => expect(digests[i]).toBe(i === 2 ? null : sha(d[0], d[1])));
    await expect(pool.stream().digest()).resolves.toBe(sha());
  });
});

describe('hashFileChunked: workers beside the cutting thread', () => {
  it('uses at least two hash workers (one was the bottleneck on two cores), at most four', () => {
    expect([1, 2, 3, 4, 8, 64].map((cores) => chunkedHashThreads(cores))).toEqual([2, 2, 2, 3, 4, 4]);
  });

  it('gives the same parts and digests with one or several workers', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tessera-chunked-'));
    try {
      const file = path.join(dir, 'f.bin');
      writeFileSync(file, randomBytes(40 * 1024 * 1024));
      const params = { min: 1024 * 1024, avg: 3 * 1024 * 1024, max: 12 * 1024 * 1024 };
      const one = await hashFileChunked(file, params, { md5: true, threads: 1 });
      const three = await hashFileChunked(file, params, { md5: true, threads: 3 });
      expect(one.parts.length).toBeGreaterThan(3);
      expect(three).toEqual(one);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
