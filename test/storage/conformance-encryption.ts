/**
 * Encryption at rest, as every adapter's conformance run checks it (./conformance calls
 * these inside its describe). Each adapter runs the suite with encryption off and on; the
 * fixture says what `head().encryption` must be and, where it can, hands over the stored
 * bytes read past the adapter (local: the object's file; S3: the RADOS objects under RGW).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { StorageAdapter } from '../../src/storage/types';
import type { AdapterFixture } from './conformance';
import { prng } from '../helpers/prng';

interface Ctx {
  fx: AdapterFixture;
  adapter: StorageAdapter;
  minPart: number;
  newKey(label: string): string;
  create(key: string): Promise<string>;
  putPart(key: string, uploadId: string, partNumber: number, bytes: Buffer): Promise<string>;
  complete(key: string, uploadId: string, parts: { partNumber: number; etag: string }[]): Promise<unknown>;
  putObject(key: string, bytes: Buffer): Promise<void>;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

export function encryptionCases(get: () => Ctx): void {
  /** A two-part object (the second part copied from a one-part object); returns both keys and bytes. */
  const twoObjects = async (c: Ctx) => {
    const small = randomBytes(1000);
    const a = c.newKey('enc-single.bin');
    await c.putObject(a, small);
    const first = randomBytes(c.minPart);
    const b = c.newKey('enc-multi.bin');
    const uploadId = await c.create(b);
    const etag1 = await c.putPart(b, uploadId, 1, first);
    const copied = await c.adapter.uploadPartCopy(b, uploadId, 2, { key: a, range: { offset: 0, length: small.length } });
    await c.complete(b, uploadId, [{ partNumber: 1, etag: etag1 }, { partNumber: 2, etag: copied.etag }]);
    return { a, b, small, whole: Buffer.concat([first, small]) };
  };

  it('encryption at rest: every object reports what is configured (one part, parts + a copied range, a single PUT)', async () => {
    const c = get();
    const { a, b, whole } = await twoObjects(c);
    expect((await c.adapter.head(a)).encryption).toEqual(c.fx.encryption);
    expect((await c.adapter.head(b)).encryption).toEqual(c.fx.encryption);
    expect(createHash('sha256').update(await readAll(await c.adapter.getStream(b))).digest('hex')).toBe(createHash('sha256').update(whole).digest('hex'));
    if (!c.adapter.features.presignPut) return;
    const key = c.newKey('enc-put.bin');
    const bytes = randomBytes(321);
    const req = await c.adapter.presignPut(key, {
      size: bytes.length,
      checksums: { sha256: createHash('sha256').update(bytes).digest('hex'), md5: createHash('md5').update(bytes).digest('hex') },
      expiresIn: 600,
    });
    const res = await fetch(req.url, { method: req.method, headers: req.headers, body: new Uint8Array(bytes) });
    expect(res.status).toBe(200);
    expect((await c.adapter.head(key)).encryption).toEqual(c.fx.encryption);
  }, 120_000);

  it('encryption at rest: the stored bytes are ciphertext when on, the plaintext when off', async () => {
    const c = get();
    if (!c.fx.rawBytes) {
      console.log(`raw-bytes check not run for ${c.adapter.name}: ${c.fx.rawBytesUnavailable ?? 'the fixture cannot read stored bytes'}`);
      return;
    }
    const { b, whole } = await twoObjects(c);
    const raw = await c.fx.rawBytes(b);
    // 64-byte windows of the plaintext, none crossing a part (or a 4 MiB RADOS stripe)
    const windows = [0, 500, c.minPart - 64, c.minPart + 100, whole.length - 64].map((o) => whole.subarray(o, o + 64));
    const found = windows.map((w) => raw.includes(w));
    if (c.fx.encryption) {
      expect(found).toEqual(windows.map(() => false));
      expect(raw.length).toBeGreaterThanOrEqual(whole.length);
    } else {
      expect(found).toEqual(windows.map(() => true)); // the reader sees stored bytes: the check above is not vacuous
    }
  }, 120_000);

  it('serves ranges across part (and encryption segment) boundaries', async () => {
    const c = get();
    const key = c.newKey('ranges.bin');
    const parts = [randomBytes(c.minPart), randomBytes(c.minPart), randomBytes(777)];
    const uploadId = await c.create(key);
    const etags = await Promise.all(parts.map((p, i) => c.putPart(key, uploadId, i + 1, p)));
    await c.complete(key, uploadId, etags.map((etag, i) => ({ partNumber: i + 1, etag })));
    const whole = Buffer.concat(parts);
    const seed = Number(process.env.TEST_SEED ?? Date.now() % 1_000_000);
    const rand = prng(seed);
    const ranges = [
      { offset: 0, length: 1 },
      { offset: 4095, length: 4098 },
      { offset: c.minPart - 1, length: 2 },
      { offset: c.minPart - 5000, length: c.minPart + 5100 },
      { offset: whole.length - 1, length: 1 },
      { offset: 0, length: whole.length },
    ];
    for (let i = 0; i < 4; i++) {
      const offset = Math.floor(rand() * whole.length);
      ranges.push({ offset, length: 1 + Math.floor(rand() * (whole.length - offset)) });
    }
    for (const r of ranges) {
      const got = await readAll(await c.adapter.getStream(key, r));
      if (!got.equals(whole.subarray(r.offset, r.offset + r.length))) throw new Error(`range ${r.offset}+${r.length} differs (seed ${seed}: TEST_SEED=${seed} replays)`);
    }
  }, 180_000);
}
