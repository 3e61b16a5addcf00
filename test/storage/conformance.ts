/**
 * The storage conformance suite: one set of cases every adapter runs unchanged
 * (local disk, S3 against a real Ceph RGW, GCS against its stand-in).
 *
 * Written only in terms of the StorageAdapter interface, plain `fetch` (the way a browser
 * talks to a presigned URL) and error codes — never message text.
 *
 * An adapter's test file is a few lines:
 *
 *   describeStorageAdapter('local', async () => ({ adapter, baseUrl, cleanup }));
 *
 * The adapter must be the one the application sees, i.e. wrapped by `guardKeys`
 * (`createStorage` does this), so key validation is exercised too.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { isStorageError, type StorageErrorCode } from '../../src/storage/errors';
import type { PresignedRequest, StorageAdapter, UploadedPart } from '../../src/storage/types';
import { encryptionCases } from './conformance-encryption';

export interface AdapterFixture {
  adapter: StorageAdapter;
  /** Resolves relative presigned URLs (e.g. `http://127.0.0.1:1234`). */
  baseUrl?: string;
  /** Releases everything the factory started (servers, temp dirs, clients). */
  cleanup(): Promise<void>;
  /** Size of the tiny parts used where nothing is completed (default 16 bytes). */
  smallPartSize?: number;
  /** What head() must report as `encryption` on every object this adapter writes (undefined: none). */
  encryption?: { algorithm: string; keyId?: string };
  /** The bytes the store keeps for `key`, read past the adapter (disk, RADOS); absent when the fixture cannot. */
  rawBytes?(key: string): Promise<Buffer>;
  /** Why `rawBytes` is absent (printed by the case that needs it). */
  rawBytesUnavailable?: string;
}

export function describeStorageAdapter(name: string, factory: () => Promise<AdapterFixture>): void {
  describe(`storage conformance: ${name}`, () => {
    let fx: AdapterFixture;
    let adapter: StorageAdapter;
    const prefix = `conformance/${name}/${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
    const createdKeys = new Set<string>();
    const openUploads = new Map<string, string>(); // uploadId -> key
    let keySeq = 0;

    const newKey = (label: string) => {
      const key = `${prefix}/${++keySeq}-${label}`;
      createdKeys.add(key);
      return key;
    };
    const tiny = () => fx.smallPartSize ?? 16;
    const minPart = () => adapter.limits.minPartSize;

    const create = async (key: string) => {
      const uploadId = await adapter.createMultipartUpload(key, { contentType: 'application/octet-stream' });
      openUploads.set(uploadId, key);
      return uploadId;
    };
    const complete = async (key: string, uploadId: string, parts: { partNumber: number; etag: string }[]) => {
      const info = await adapter.completeMultipartUpload(key, uploadId, parts);
      openUploads.delete(uploadId);
      return info;
    };
    const abort = async (key: string, uploadId: string) => {
      await adapter.abortMultipartUpload(key, uploadId);
      openUploads.delete(uploadId);
    };

    const send = (req: PresignedRequest, body?: Buffer, extraHeaders: Record<string, string> = {}) =>
      fetch(resolveUrl(req.url, fx.baseUrl), {
        method: req.method,
        headers: { ...req.headers, ...extraHeaders },
        body: body === undefined ? undefined : new Uint8Array(body),
      });

    const presignPart = (key: string, uploadId: string, partNumber: number, bytes: Buffer, expiresIn = 600) =>
      adapter.presignUploadPart(key, uploadId, partNumber, {
        size: bytes.length,
        checksums: checksumsOf(bytes),
        expiresIn,
      });

    /** Presigns and PUTs one part; returns the ETag from the response (unquoted). */
    const putPart = async (key: string, uploadId: string, partNumber: number, bytes: Buffer) => {
      const res = await send(await presignPart(key, uploadId, partNumber, bytes), bytes);
      const text = await res.text();
      if (!res.ok) throw new Error(`part ${partNumber} PUT failed: ${res.status} ${text}`);
      const etag = res.headers.get('etag');
      expect(etag).toBeTruthy();
      return unquote(etag!);
    };

    /** A complete object from a single part (any size is fine for the last part). */
    const putObject = async (key: string, bytes: Buffer) => {
      const uploadId = await create(key);
      const etag = await putPart(key, uploadId, 1, bytes);
      await complete(key, uploadId, [{ partNumber: 1, etag }]);
    };

    const listAllParts = async (key: string, uploadId: string, maxParts?: number) => {
      const all: UploadedPart[] = [];
      let marker: number | undefined;
      let pages = 0;
      do {
        const page = await adapter.listParts(key, uploadId, { marker, maxParts });
        pages++;
        if (maxParts !== undefined) expect(page.parts.length).toBeLessThanOrEqual(maxParts);
        all.push(...page.parts);
        marker = page.nextMarker;
        if (pages > 10_000) throw new Error('listParts does not terminate');
      } while (marker !== undefined);
      return { parts: all, pages };
    };

    beforeAll(async () => {
      fx = await factory();
      adapter = fx.adapter;
    }, 120_000);

    afterAll(async () => {
      if (!fx) return;
      for (const [uploadId, key] of openUploads) await adapter.abortMultipartUpload(key, uploadId).catch(() => undefined);
      for (const key of createdKeys) await adapter.delete(key).catch(() => undefined);
      await adapter.close?.();
      await fx.cleanup();
    }, 120_000);

    it('describes itself', () => {
      expect(typeof adapter.name).toBe('string');
      expect(['SHA256', 'MD5', 'NONE']).toContain(adapter.checksum);
      const l = adapter.limits;
      expect(l.minPartSize).toBeGreaterThan(0);
      expect(l.maxPartSize).toBeGreaterThanOrEqual(l.minPartSize);
      expect(l.maxParts).toBeGreaterThanOrEqual(1000);
      expect(l.maxObjectSize).toBeGreaterThanOrEqual(l.maxPartSize);
    });

    it('pings', async () => {
      await adapter.ping();
    });

    it('assembles parts PUT out of order through presigned URLs', async () => {
      const key = newKey('out-of-order.bin');
      const parts = [randomBytes(minPart()), randomBytes(minPart()), randomBytes(1234)];
      const uploadId = await create(key);
      const order = [3, 1, 2];
      const etags = new Map<number, string>();
      await Promise.all(order.map(async (n) => etags.set(n, await putPart(key, uploadId, n, parts[n - 1]))));

      const listed = await listAllParts(key, uploadId);
      expect(listed.parts.map((p) => p.partNumber)).toEqual([1, 2, 3]);
      for (const p of listed.parts) {
        expect(p.size).toBe(parts[p.partNumber - 1].length);
        expect(unquote(p.etag)).toBe(etags.get(p.partNumber));
      }

      const whole = Buffer.concat(parts);
      const info = await complete(key, uploadId, [1, 2, 3].map((n) => ({ partNumber: n, etag: etags.get(n)! })));
      expect(info.key).toBe(key);
      expect(info.size).toBe(whole.length);

      const head = await adapter.head(key);
      expect(head.size).toBe(whole.length);
      expect(sha256(await readAll(await adapter.getStream(key)))).toBe(sha256(whole));
      const range = { offset: minPart() - 10, length: 30 };
      expect(await readAll(await adapter.getStream(key, range))).toEqual(whole.subarray(range.offset, range.offset + range.length));
    }, 120_000);

    it('keeps the last write of a re-uploaded part', async () => {
      const key = newKey('rewrite.bin');
      const uploadId = await create(key);
      const first = randomBytes(100);
      const second = randomBytes(150);
      const etag1 = await putPart(key, uploadId, 1, first);
      const etag2 = await putPart(key, uploadId, 1, second);
      expect(etag2).not.toBe(etag1);

      const { parts } = await listAllParts(key, uploadId);
      expect(parts).toHaveLength(1);
      expect(parts[0].size).toBe(second.length);
      expect(unquote(parts[0].etag)).toBe(etag2);

      await complete(key, uploadId, [{ partNumber: 1, etag: etag2 }]);
      expect(await readAll(await adapter.getStream(key))).toEqual(second);
    }, 60_000);

    it('paginates listParts past 1,000 parts', async () => {
      const key = newKey('many-parts.bin');
      const uploadId = await create(key);
      const count = 1001;
      const numbers = Array.from({ length: count }, (_, i) => i + 1);
      for (let i = 0; i < count; i += 50) {
        await Promise.all(numbers.slice(i, i + 50).map((n) => putPart(key, uploadId, n, randomBytes(tiny()))));
      }

      const byDefault = await listAllParts(key, uploadId);
      expect(byDefault.parts.map((p) => p.partNumber)).toEqual(numbers);
      expect(byDefault.parts.every((p) => p.size === tiny())).toBe(true);

      const paged = await listAllParts(key, uploadId, 400);
      expect(paged.pages).toBeGreaterThanOrEqual(3);
      expect(paged.parts.map((p) => p.partNumber)).toEqual(numbers);

      await abort(key, uploadId);
    }, 300_000);

    it('rejects a non-last part under minPartSize at complete with PART_TOO_SMALL', async () => {
      const key = newKey('too-small.bin');
      const uploadId = await create(key);
      const e1 = await putPart(key, uploadId, 1, randomBytes(minPart() - 1));
      const e2 = await putPart(key, uploadId, 2, randomBytes(tiny()));
      await expectCode(
        adapter.completeMultipartUpload(key, uploadId, [
          { partNumber: 1, etag: e1 },
          { partNumber: 2, etag: e2 },
        ]),
        'PART_TOO_SMALL',
      );
      await expectCode(adapter.head(key), 'NOT_FOUND');
      await abort(key, uploadId).catch(() => undefined);
    }, 60_000);

    it('rejects a part that was never uploaded, or whose etag differs, with INVALID_PART', async () => {
      const key = newKey('invalid-part.bin');
      const uploadId = await create(key);
      const etag = await putPart(key, uploadId, 1, randomBytes(tiny()));
      await expectCode(adapter.completeMultipartUpload(key, uploadId, [{ partNumber: 2, etag }]), 'INVALID_PART');
      const wrongEtag = etag === md5(Buffer.from('x')) ? sha256(Buffer.from('x')) : md5(Buffer.from('x'));
      await expectCode(adapter.completeMultipartUpload(key, uploadId, [{ partNumber: 1, etag: wrongEtag }]), 'INVALID_PART');
      await abort(key, uploadId).catch(() => undefined);
    }, 60_000);

    it('answers a second complete with NO_SUCH_UPLOAD and leaves the object intact', async () => {
      const key = newKey('complete-twice.bin');
      const bytes = randomBytes(777);
      const uploadId = await create(key);
      const etag = await putPart(key, uploadId, 1, bytes);
      await complete(key, uploadId, [{ partNumber: 1, etag }]);
      await expectCode(adapter.completeMultipartUpload(key, uploadId, [{ partNumber: 1, etag }]), 'NO_SUCH_UPLOAD');
      expect((await adapter.head(key)).size).toBe(bytes.length);
      expect(await readAll(await adapter.getStream(key))).toEqual(bytes);
    }, 60_000);

    it('forgets an aborted upload', async () => {
      const key = newKey('aborted.bin');
      const uploadId = await create(key);
      await putPart(key, uploadId, 1, randomBytes(tiny()));
      await abort(key, uploadId);
      await expectCode(adapter.listParts(key, uploadId), 'NO_SUCH_UPLOAD');
      await expectCode(adapter.abortMultipartUpload(key, uploadId), 'NO_SUCH_UPLOAD');
      await expectCode(adapter.head(key), 'NOT_FOUND');
    }, 60_000);

    it('copies a byte range of an existing object into a part', async () => {
      const srcKey = newKey('copy-source.bin');
      const source = randomBytes(minPart() + 1000);
      await putObject(srcKey, source);

      const key = newKey('copy-target.bin');
      const uploadId = await create(key);
      const r1 = { offset: 500, length: minPart() };
      const r2 = { offset: 0, length: 100 };
      const p1 = await adapter.uploadPartCopy(key, uploadId, 1, { key: srcKey, range: r1 });
      expect(p1.partNumber).toBe(1);
      expect(p1.size).toBe(r1.length);
      const middle = randomBytes(minPart());
      const e2 = await putPart(key, uploadId, 2, middle);
      const p3 = await adapter.uploadPartCopy(key, uploadId, 3, { key: srcKey, range: r2 });
      expect(p3.size).toBe(r2.length);

      const { parts } = await listAllParts(key, uploadId);
      expect(parts.map((p) => [p.partNumber, p.size])).toEqual([
        [1, r1.length],
        [2, middle.length],
        [3, r2.length],
      ]);
      expect(unquote(parts[0].etag)).toBe(unquote(p1.etag));
      expect(unquote(parts[2].etag)).toBe(unquote(p3.etag));

      await complete(key, uploadId, [
        { partNumber: 1, etag: p1.etag },
        { partNumber: 2, etag: e2 },
        { partNumber: 3, etag: p3.etag },
      ]);
      const expected = Buffer.concat([
        source.subarray(r1.offset, r1.offset + r1.length),
        middle,
        source.subarray(r2.offset, r2.offset + r2.length),
      ]);
      expect(sha256(await readAll(await adapter.getStream(key)))).toBe(sha256(expected));
    }, 120_000);

    it('answers uploadPartCopy from a missing source with NOT_FOUND', async () => {
      const key = newKey('copy-missing.bin');
      const uploadId = await create(key);
      await expectCode(
        adapter.uploadPartCopy(key, uploadId, 1, { key: `${prefix}/does-not-exist`, range: { offset: 0, length: 1 } }),
        'NOT_FOUND',
      );
      await abort(key, uploadId);
    }, 60_000);

    it('serves presigned GETs, whole and ranged, with the download file name', async () => {
      const key = newKey('download.bin');
      const bytes = randomBytes(4096);
      await putObject(key, bytes);
      const fileName = 'résumé 2024 (final).txt';

      const whole = await send(await adapter.presignGet(key, { expiresIn: 600, fileName }));
      expect(whole.status).toBe(200);
      expect(Buffer.from(await whole.arrayBuffer())).toEqual(bytes);
      const disposition = whole.headers.get('content-disposition');
      expect(disposition).toMatch(/^attachment/i);
      expect(dispositionFileName(disposition!)).toBe(fileName);

      const range = { offset: 1000, length: 123 };
      const ranged = await send(await adapter.presignGet(key, { expiresIn: 600, range, fileName }));
      expect(ranged.status).toBe(206);
      expect(Buffer.from(await ranged.arrayBuffer())).toEqual(bytes.subarray(range.offset, range.offset + range.length));
      expect(dispositionFileName(ranged.headers.get('content-disposition')!)).toBe(fileName);
    }, 60_000);

    it('refuses an expired presigned URL', async () => {
      const key = newKey('expired.bin');
      const bytes = randomBytes(64);
      await putObject(key, bytes);
      const uploadId = await create(key + '.upload');
      createdKeys.add(key + '.upload');
      const get = await adapter.presignGet(key, { expiresIn: 1 });
      const put = await presignPart(key + '.upload', uploadId, 1, bytes, 1);
      await sleep(2500);

      const getRes = await send(get);
      await getRes.arrayBuffer();
      expect([400, 403]).toContain(getRes.status);
      const putRes = await send(put, bytes);
      await putRes.arrayBuffer();
      expect([400, 403]).toContain(putRes.status);
      expect((await listAllParts(key + '.upload', uploadId)).parts).toHaveLength(0);
      await abort(key + '.upload', uploadId);
    }, 60_000);

    it('refuses a part whose bytes do not match the checksum bound into its URL', async () => {
      if (adapter.checksum === 'NONE') {
        console.log(`skipped: ${name} does not enforce part checksums`);
        return;
      }
      const key = newKey('bad-digest.bin');
      const uploadId = await create(key);
      const promised = randomBytes(256);
      const sent = Buffer.from(promised);
      sent[100] ^= 0xff;
      const res = await send(await presignPart(key, uploadId, 1, promised), sent);
      await res.arrayBuffer();
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect((await listAllParts(key, uploadId)).parts).toHaveLength(0);
      await abort(key, uploadId);
    }, 60_000);

    it('presignPut: one PUT writes the whole object (head reports its size and the PUT\'s ETag), or NOT_SUPPORTED', async () => {
      const key = newKey('single-put.bin');
      const bytes = randomBytes(3000);
      const presign = () => adapter.presignPut(key, { size: bytes.length, checksums: checksumsOf(bytes), contentType: 'text/plain', expiresIn: 600 });
      if (!adapter.features.presignPut) {
        await expectCode(presign(), 'NOT_SUPPORTED');
        return;
      }
      const res = await send(await presign(), bytes);
      await res.arrayBuffer();
      expect(res.status).toBe(200);
      const info = await adapter.head(key);
      expect(info.size).toBe(bytes.length);
      expect(info.etag).toBe(unquote(res.headers.get('etag')!));
      expect(await readAll(await adapter.getStream(key))).toEqual(bytes);
      // a second PUT replaces the object
      const again = randomBytes(10);
      const res2 = await send(await adapter.presignPut(key, { size: again.length, checksums: checksumsOf(again), contentType: 'text/plain', expiresIn: 600 }), again);
      await res2.arrayBuffer();
      expect(res2.status).toBe(200);
      expect((await adapter.head(key)).size).toBe(10);
      await expectCode(adapter.presignPut(key, { size: adapter.limits.minPartSize + 1, checksums: checksumsOf(again), expiresIn: 600 }), 'INVALID_PART');
    }, 60_000);

    it('presignPut: bytes that do not match the bound checksum are refused and nothing is written', async () => {
      if (!adapter.features.presignPut || adapter.checksum === 'NONE') {
        console.log(`skipped: ${name} has no single PUT with a bound checksum (features.presignPut ${adapter.features.presignPut})`);
        return;
      }
      const key = newKey('single-put-bad.bin');
      const promised = randomBytes(256);
      const sent = Buffer.from(promised);
      sent[7] ^= 0xff;
      const res = await send(await adapter.presignPut(key, { size: promised.length, checksums: checksumsOf(promised), expiresIn: 600 }), sent);
      await res.arrayBuffer();
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      await expectCode(adapter.head(key), 'NOT_FOUND');
    }, 60_000);

    it('rejects key traversal with INVALID_KEY', async () => {
      const bad = ['../x', `${prefix}/../x`, '/abs', 'a//b', 'a/./b', 'a\u0000b', 'a\nb', 'a\u007fb', 'a\\b', ''];
      for (const key of bad) {
        await expectCode(adapter.createMultipartUpload(key), 'INVALID_KEY');
        await expectCode(adapter.head(key), 'INVALID_KEY');
        await expectCode(adapter.delete(key), 'INVALID_KEY');
        await expectCode(adapter.getStream(key), 'INVALID_KEY');
        await expectCode(adapter.presignGet(key, { expiresIn: 60 }), 'INVALID_KEY');
        await expectCode(adapter.listParts(key, 'any-upload-id'), 'INVALID_KEY');
      }
      const key = newKey('copy-traversal.bin');
      const uploadId = await create(key);
      await expectCode(
        adapter.uploadPartCopy(key, uploadId, 1, { key: '../etc/passwd', range: { offset: 0, length: 1 } }),
        'INVALID_KEY',
      );
      await abort(key, uploadId);
    }, 60_000);

    it('listObjects: the objects under a prefix, with head\'s size and ETag; nothing beside it, no upload in progress; or NOT_SUPPORTED', async () => {
      const dir = newKey('listed');
      const listAll = async (p: string) => {
        const out = [];
        for await (const o of adapter.listObjects(p)) out.push(o);
        return out;
      };
      if (!adapter.features.listObjects) {
        await expectCode(listAll(`${dir}/`), 'NOT_SUPPORTED');
        return;
      }
      const [a, b, beside, pending] = [`${dir}/a.bin`, `${dir}/b/c.bin`, `${dir}x/d.bin`, `${dir}/pending.bin`];
      for (const k of [a, b, beside, pending]) createdKeys.add(k);
      await putObject(a, randomBytes(10));
      await putObject(b, randomBytes(3));
      await putObject(beside, randomBytes(5));
      const uploadId = await create(pending);
      await putPart(pending, uploadId, 1, randomBytes(7));
      const listed = await listAll(`${dir}/`);
      expect(listed.map((o) => o.key)).toEqual([a, b]);
      for (const o of listed) {
        const h = await adapter.head(o.key);
        expect([o.size, o.etag]).toEqual([h.size, h.etag]);
      }
      expect(await listAll(`${dir}/none/`)).toEqual([]);
      await adapter.delete(a);
      expect((await listAll(`${dir}/`)).map((o) => o.key)).toEqual([b]);
      await abort(pending, uploadId);
    }, 60_000);

    it('handles a missing key: head and getStream NOT_FOUND, delete idempotent', async () => {
      const key = newKey('missing.bin');
      await expectCode(adapter.head(key), 'NOT_FOUND');
      await expectCode(adapter.getStream(key), 'NOT_FOUND');
      await adapter.delete(key);
      await adapter.delete(key);

      const present = newKey('deleted.bin');
      await putObject(present, randomBytes(10));
      await adapter.delete(present);
      await expectCode(adapter.head(present), 'NOT_FOUND');
      await adapter.delete(present);
    }, 60_000);

    it('stores a zero-byte object from a single empty part', async () => {
      const key = newKey('empty.bin');
      const uploadId = await create(key);
      const etag = await putPart(key, uploadId, 1, Buffer.alloc(0));
      const info = await complete(key, uploadId, [{ partNumber: 1, etag }]);
      expect(info.size).toBe(0);
      expect((await adapter.head(key)).size).toBe(0);
      expect(await readAll(await adapter.getStream(key))).toHaveLength(0);
    }, 60_000);

    encryptionCases(() => ({ fx, adapter, newKey, create, putPart, complete, putObject, minPart: minPart() }));

    it('lists open multipart uploads under a prefix', async () => {
      const key = newKey('open.bin');
      const uploadId = await create(key);
      const listed = async () => {
        const found: { key: string; uploadId: string; initiated: Date }[] = [];
        for await (const u of adapter.listMultipartUploads({ prefix: `${prefix}/` })) found.push(u);
        return found;
      };
      const open = (await listed()).find((u) => u.uploadId === uploadId);
      expect(open).toBeDefined();
      expect(open!.key).toBe(key);
      expect(open!.initiated).toBeInstanceOf(Date);
      await abort(key, uploadId);
      expect((await listed()).some((u) => u.uploadId === uploadId)).toBe(false);
    }, 60_000);
  });
}

export function resolveUrl(url: string, baseUrl?: string): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(url)) return url;
  if (!baseUrl) throw new Error(`relative presigned URL ${url} but the fixture has no baseUrl`);
  return new URL(url, baseUrl).toString();
}

export function checksumsOf(bytes: Buffer) {
  return { sha256: sha256(bytes), md5: md5(bytes) };
}

export function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function md5(bytes: Buffer): string {
  return createHash('md5').update(bytes).digest('hex');
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

/** Asserts the promise rejects with a StorageError of this code (reports the code it got). */
export async function expectCode(promise: Promise<unknown>, code: StorageErrorCode): Promise<void> {
  let outcome: string;
  try {
    await promise;
    outcome = 'resolved';
  } catch (e) {
    outcome = isStorageError(e) ? e.code : `non-StorageError: ${String(e)}`;
  }
  expect(outcome).toBe(code);
}

/** The file name from a Content-Disposition header, preferring RFC 5987 `filename*`. */
export function dispositionFileName(header: string): string | undefined {
  const star = /filename\*\s*=\s*UTF-8''([^;]+)/i.exec(header);
  if (star) return decodeURIComponent(star[1].trim());
  const plain = /filename\s*=\s*"((?:[^"\\]|\\.)*)"/i.exec(header) ?? /filename\s*=\s*([^;]+)/i.exec(header);
  return plain?.[1].replace(/\\(.)/g, '$1').trim();
}

const unquote = (etag: string) => etag.replace(/^W\//, '').replace(/^"|"$/g, '');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
