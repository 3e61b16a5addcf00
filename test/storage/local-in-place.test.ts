import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, readlink, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { checksumsOf, expectCode, readAll } from './conformance';
import { startLocal, type LocalFixture } from './local-fixture';

const PART = 64 * 1024;

/**
 * The local store given a part size: parts go straight to their offset in one file, completing renames it.
 * The same with encryption at rest (the data file is an envelope, parts land on segment boundaries).
 */
describe.each([
  ['', undefined],
  [', encrypted', { keys: [randomBytes(32)], segmentSize: 4096 }],
])('local storage adapter, parts written in place%s', (_label, encryption) => {
  let fx: LocalFixture;
  beforeAll(async () => {
    fx = await startLocal({ minPartSize: PART, encryption });
  });
  afterAll(() => fx.cleanup());

  const uploadDir = (uploadId: string) => path.join(fx.root, '.uploads', uploadId);
  async function openUpload(partSize = PART) {
    const key = `in-place/${randomBytes(6).toString('hex')}`;
    return { key, uploadId: await fx.adapter.createMultipartUpload(key, { partSize }) };
  }
  async function put(key: string, uploadId: string, n: number, bytes: Buffer, signedFor = bytes) {
    const req = await fx.adapter.presignUploadPart(key, uploadId, n, { size: signedFor.length, checksums: checksumsOf(signedFor), expiresIn: 600 });
    const res = await fetch(new URL(req.url, fx.baseUrl), { method: 'PUT', body: new Uint8Array(bytes) });
    const body = await res.text();
    return { status: res.status, etag: res.ok ? (JSON.parse(res.headers.get('etag')!) as string) : body };
  }

  it('writes parts out of order into one file and completes by renaming it (same inode, no copy)', async () => {
    const { key, uploadId } = await openUpload();
    const parts = [randomBytes(PART), randomBytes(PART), randomBytes(1234)];
    const etags: string[] = [];
    for (const n of [3, 1, 2]) etags[n - 1] = (await put(key, uploadId, n, parts[n - 1])).etag;
    const data = await stat(path.join(uploadDir(uploadId), 'data'));
    expect(await readlink(path.join(uploadDir(uploadId), '1'))).toMatch(/^s1\.65536\.[0-9a-f]{64}@0$/);
    expect(await readlink(path.join(uploadDir(uploadId), '3'))).toMatch(new RegExp(`^s3\\.1234\\.[0-9a-f]{64}@${2 * PART}$`));
    expect((await fx.adapter.listParts(key, uploadId)).parts.map((p) => p.size)).toEqual([PART, PART, 1234]);

    const info = await fx.adapter.completeMultipartUpload(key, uploadId, etags.map((etag, i) => ({ partNumber: i + 1, etag })));
    expect(info.size).toBe(2 * PART + 1234);
    const object = await stat(path.join(fx.root, 'objects', ...key.split('/')));
    expect(object.ino).toBe(data.ino);
    expect((await readAll(await fx.adapter.getStream(key))).equals(Buffer.concat(parts))).toBe(true);
    await expectCode(fx.adapter.listParts(key, uploadId), 'NO_SUCH_UPLOAD');
  });

  it('keeps a stored part until its re-upload verifies, then takes the new bytes (copying, since they are not in place)', async () => {
    const { key, uploadId } = await openUpload();
    const first = randomBytes(PART);
    const second = randomBytes(PART);
    const tail = randomBytes(10);
    await put(key, uploadId, 1, first);
    const bad = await put(key, uploadId, 1, randomBytes(PART), second);
    expect(bad.status).toBe(400);
    expect(await readlink(path.join(uploadDir(uploadId), '1'))).toMatch(/^s1\./);
    const e1 = (await put(key, uploadId, 1, second)).etag;
    expect(await readlink(path.join(uploadDir(uploadId), '1'))).toMatch(/^p1\./);
    const e2 = (await put(key, uploadId, 2, tail)).etag;
    await fx.adapter.completeMultipartUpload(key, uploadId, [{ partNumber: 1, etag: e1 }, { partNumber: 2, etag: e2 }]);
    expect((await readAll(await fx.adapter.getStream(key))).equals(Buffer.concat([second, tail]))).toBe(true);
  });

  it('records nothing for a part that fails verification in place, and takes its retry in place', async () => {
    const { key, uploadId } = await openUpload();
    const bytes = randomBytes(PART);
    const corrupt = Buffer.from(bytes);
    corrupt[7] ^= 1;
    expect((await put(key, uploadId, 1, corrupt, bytes)).status).toBe(400);
    expect((await fx.adapter.listParts(key, uploadId)).parts).toEqual([]);
    const etag = (await put(key, uploadId, 1, bytes)).etag;
    expect(await readlink(path.join(uploadDir(uploadId), '1'))).toMatch(/^s1\./);
    expect((await readdir(uploadDir(uploadId))).filter((n) => n.startsWith('slot-') || n.startsWith('tmp-'))).toEqual([]);
    await fx.adapter.completeMultipartUpload(key, uploadId, [{ partNumber: 1, etag }]);
    expect((await readAll(await fx.adapter.getStream(key))).equals(bytes)).toBe(true);
  });

  it('copies when the parts do not tile the file (a gap in part numbers, a short middle part, a part over partSize)', async () => {
    const { key, uploadId } = await openUpload();
    const p1 = randomBytes(PART);
    const p3 = randomBytes(PART);
    const p4 = randomBytes(2 * PART);
    const p5 = randomBytes(99);
    const e = [p1, null, p3, p4, p5].map(() => '');
    for (const [n, b] of [[1, p1], [3, p3], [4, p4], [5, p5]] as const) e[n - 1] = (await put(key, uploadId, n, b)).etag;
    expect(await readlink(path.join(uploadDir(uploadId), '4'))).toMatch(/^p4\./);
    await fx.adapter.completeMultipartUpload(key, uploadId, [1, 3, 4, 5].map((n) => ({ partNumber: n, etag: e[n - 1] })));
    expect((await readAll(await fx.adapter.getStream(key))).equals(Buffer.concat([p1, p3, p4, p5]))).toBe(true);
  });

  it('copies instead of renaming while a writer still holds a slot (its bytes must not land in the object)', async () => {
    const { key, uploadId } = await openUpload();
    const bytes = randomBytes(PART);
    const etag = (await put(key, uploadId, 1, bytes)).etag;
    const data = await stat(path.join(uploadDir(uploadId), 'data'));
    await writeFile(path.join(uploadDir(uploadId), 'slot-2.lock'), '');
    await fx.adapter.completeMultipartUpload(key, uploadId, [{ partNumber: 1, etag }]);
    expect((await stat(path.join(fx.root, 'objects', ...key.split('/')))).ino).not.toBe(data.ino);
    expect((await readAll(await fx.adapter.getStream(key))).equals(bytes)).toBe(true);
  });

  it('refuses to complete from a data file that lost bytes (INVALID_PART), and keeps the upload', async () => {
    const { key, uploadId } = await openUpload();
    const bytes = randomBytes(PART);
    const etag = (await put(key, uploadId, 1, bytes)).etag;
    const { truncate } = await import('node:fs/promises');
    await truncate(path.join(uploadDir(uploadId), 'data'), 100);
    await expectCode(fx.adapter.completeMultipartUpload(key, uploadId, [{ partNumber: 1, etag }]), 'INVALID_PART');
    expect((await fx.adapter.listParts(key, uploadId)).parts).toHaveLength(1);
    await expectCode(fx.adapter.head(key), 'NOT_FOUND');
  });

  it('answers a repeated complete after the completer died past its rename with the object it placed', async () => {
    const { key, uploadId } = await openUpload();
    const bytes = randomBytes(PART);
    const etag = (await put(key, uploadId, 1, bytes)).etag;
    const meta = await readFile(path.join(uploadDir(uploadId), 'upload.json'), 'utf8');
    const placed = await fx.adapter.completeMultipartUpload(key, uploadId, [{ partNumber: 1, etag }]);

    // what a completer killed between the rename and removing the upload leaves: no data file, done.json
    async function leaveDeadClaim(recorded: string) {
      const tmp = path.join(fx.root, '.tmp');
      const host = os.hostname().replace(/[^A-Za-z0-9]/g, '');
      const dead = path.join(tmp, `claimed-${uploadId}-0000aaaa-${host}-${2 ** 31 - 2}`);
      await mkdir(dead, { recursive: true });
      await writeFile(path.join(dead, 'upload.json'), meta);
      await symlink(`s1.${PART}.${etag}@0`, path.join(dead, '1'));
      await writeFile(path.join(dead, 'done.json'), JSON.stringify({ etag: recorded }));
    }
    await leaveDeadClaim(placed.etag!);
    const again = await fx.adapter.completeMultipartUpload(key, uploadId, [{ partNumber: 1, etag }]);
    expect(again.etag).toBe(placed.etag);
    expect((await readAll(await fx.adapter.getStream(key))).equals(bytes)).toBe(true);
    await expectCode(fx.adapter.listParts(key, uploadId), 'NO_SUCH_UPLOAD');

    // the object was replaced since: the upload is simply gone
    await leaveDeadClaim('some-other-object');
    await expectCode(fx.adapter.completeMultipartUpload(key, uploadId, [{ partNumber: 1, etag }]), 'NO_SUCH_UPLOAD');
    await expectCode(fx.adapter.listParts(key, uploadId), 'NO_SUCH_UPLOAD');
    expect((await readAll(await fx.adapter.getStream(key))).equals(bytes)).toBe(true);
  });

  it('refuses a part size out of bounds', async () => {
    await expectCode(fx.adapter.createMultipartUpload('in-place/x', { partSize: 0 }), 'INVALID_PART');
    await expectCode(fx.adapter.createMultipartUpload('in-place/x', { partSize: 6 * 1024 ** 3 }), 'INVALID_PART');
  });
});
