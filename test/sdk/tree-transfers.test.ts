import { randomBytes } from 'node:crypto';
import { access, lstat, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TesseraClient } from '../../clients/sdk/client';
import { PARTIAL_SUFFIX } from '../../clients/sdk/download';
import { MIB } from '../../clients/sdk/hashing';
import { FILE_CHUNKS } from '../../clients/sdk/operations';
import type { TreeProgress, TreeResult } from '../../clients/sdk/tree';
import type { StorageConfig } from '../../src/storage/registry';
import { countingFetch } from '../helpers/gql';
import { emptyRgwPrefix, rgwEnv } from '../helpers/rgw';
import { startTestServer, type TestServer } from '../helpers/server';
import { multiPart } from '../helpers/cdc-data';

const PART = 8 * MIB;

const stores: [string, () => StorageConfig | undefined][] = [
  ['local', () => undefined],
  ['s3', () => ({ kind: 's3', s3: { ...rgwEnv(), prefix: `tree-${randomBytes(4).toString('hex')}` } })],
];

/** The tree every test starts from: nested folders, an empty one, 0 bytes to a 3-part file, a symlink. */
const FILES: Record<string, Buffer> = {
  'a.txt': randomBytes(1000),
  'empty.bin': Buffer.alloc(0),
  'docs/readme.md': randomBytes(5 * 1024),
  'docs/deep/nested/x.bin': randomBytes(300 * 1024 + 7),
  'docs/big.bin': multiPart('tree-big', 40 * MIB + 5).data,
};
const TOTAL = Object.values(FILES).reduce((n, b) => n + b.length, 0);

async function writeTree(root: string, files: Record<string, Buffer>): Promise<void> {
  for (const [rel, data] of Object.entries(files)) {
    await mkdir(join(root, rel, '..'), { recursive: true });
    await writeFile(join(root, rel), data);
  }
}

const count = (r: TreeResult<unknown>, outcome: string) => r.files.filter((f) => f.outcome === outcome).length;
const byPath = <R>(r: TreeResult<R>) => Object.fromEntries(r.files.map((f) => [f.path, f]));

describe.each(stores)('folder transfers on the %s store', (_name, storage) => {
  let server: TestServer;
  let config: StorageConfig | undefined;
  let dir: string;
  let src: string;
  let client: TesseraClient;

  beforeAll(async () => {
    config = storage();
    server = await startTestServer({ storage: config });
    dir = await mkdtemp(join(tmpdir(), 'tessera-tree-'));
    client = new TesseraClient({ server: server.url });
    await client.signUp(`tree-${Date.now()}-${Math.random()}@example.com`, 'correct horse battery');
    src = join(dir, 'src');
    await writeTree(src, FILES);
    await mkdir(join(src, 'emptydir', 'inner'), { recursive: true });
    await symlink(join(src, 'a.txt'), join(src, 'link.txt'));
    await symlink(join(src, 'docs'), join(src, 'docs-link'));
  }, 300_000);

  afterAll(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
    if (config?.kind === 's3' && config.s3.prefix) await emptyRgwPrefix(config.s3.prefix);
  });

  /** The parts of a remote file (content-defined: where they fall depends on the bytes). */
  async function chunksOf(path: string): Promise<{ offset: number; size: number }[]> {
    const r = await client.api.request<{ fileByPath: { chunks: { offset: string; size: string }[] } }>(FILE_CHUNKS, { path });
    return r.fileByPath.chunks.map((c) => ({ offset: Number(c.offset), size: Number(c.size) })).sort((a, b) => a.offset - b.offset);
  }
  /** The size of the part holding byte `offset`. */
  const partAt = (cs: { offset: number; size: number }[], offset: number) => cs.find((c) => c.offset <= offset && offset < c.offset + c.size)!.size;

  it('uploads a tree and downloads it byte-identical into a new folder; links are skipped, never followed', async () => {
    const progress: TreeProgress[] = [];
    const up = await client.uploadTree(src, '/t', { onProgress: (p) => progress.push(p) });
    expect(up.failed).toEqual([]);
    expect(up.skipped).toEqual([{ path: 'docs-link', reason: 'symlink' }, { path: 'link.txt', reason: 'symlink' }]);
    expect(up.files.map((f) => f.path).sort()).toEqual(Object.keys(FILES).sort());
    expect(count(up, 'uploaded')).toBe(5);
    expect(up.bytes).toBe(TOTAL);
    expect(byPath(up)['docs/big.bin'].result!.partsSent).toBe((await chunksOf('/t/docs/big.bin')).length);
    expect(up.foldersCreated).toBe(1); // emptydir/inner (and emptydir with it)
    expect(progress.at(-1)).toEqual({ bytesDone: TOTAL, bytesTotal: TOTAL, filesDone: 5, filesTotal: 5 });
    expect(progress.every((p, i) => p.bytesDone <= TOTAL && (i === 0 || p.filesDone >= progress[i - 1].filesDone))).toBe(true);
    expect(new Set(progress.map((p) => p.filesDone)).size).toBe(6);

    expect((await client.fileByPath('/t/emptydir/inner'))?.isFolder).toBe(true);
    expect(await client.fileByPath('/t/link.txt')).toBeNull();
    expect(await client.fileByPath('/t/docs-link')).toBeNull();
    expect((await client.listFolder('/t/docs')).map((f) => f.name)).toEqual(['big.bin', 'deep', 'readme.md']);

    const out = join(dir, 'out');
    const down = await client.downloadTree('/t', out, { files: 3 });
    expect(down.failed).toEqual([]);
    expect(count(down, 'downloaded')).toBe(5);
    expect(down.bytes).toBe(TOTAL);
    for (const [rel, data] of Object.entries(FILES)) expect((await readFile(join(out, rel))).equals(data)).toBe(true);
    expect((await lstat(join(out, 'emptydir', 'inner'))).isDirectory()).toBe(true);
    expect((await readdir(out)).sort()).toEqual(['a.txt', 'docs', 'empty.bin', 'emptydir']);
    expect((await readdir(join(out, 'emptydir', 'inner')))).toEqual([]);
  });

  it('one-part files go through beginUploads where the store takes single PUTs (S3), one by one where it does not', async () => {
    const operations: string[] = [];
    const counted = new TesseraClient({ server: server.url, token: client.token, fetch: countingFetch(operations) });
    const small = join(dir, 'small-batch');
    await writeTree(small, Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`s${i}.txt`, randomBytes(100 + i)])));
    const r = await counted.uploadTree(small, '/small-batch');
    expect(count(r, 'uploaded')).toBe(5);
    const batched = config?.kind === 's3';
    expect(operations.filter((o) => o === 'BeginUploads')).toHaveLength(batched ? 1 : 0);
    expect(operations.filter((o) => o === 'BeginUpload')).toHaveLength(batched ? 0 : 5);
  });

  it('re-uploading an unchanged tree moves no bytes; a changed file sends only its changed part', async () => {
    const again = await client.uploadTree(src, '/t');
    expect(again.failed).toEqual([]);
    expect(count(again, 'unchanged')).toBe(5);
    expect(again.bytes).toBe(0);
    expect(again.foldersCreated).toBe(0);
    expect(byPath(again)['docs/big.bin'].result!.deduplicated).toBe(true);

    const edited = join(dir, 'edited');
    await writeTree(edited, FILES);
    const big = Buffer.from(FILES['docs/big.bin']);
    big[PART + 10] ^= 0xff;
    await writeFile(join(edited, 'docs/big.bin'), big);
    const second = await client.uploadTree(edited, '/t');
    expect(count(second, 'unchanged')).toBe(4);
    const changed = byPath(second)['docs/big.bin'];
    expect(changed.outcome).toBe('uploaded');
    const parts = await chunksOf('/t/docs/big.bin');
    expect(changed.bytes).toBe(partAt(parts, PART + 10));
    expect(changed.bytes).toBeLessThan(big.length);
    expect(changed.result!.partsCopied).toBe(parts.length - 1);

    const back = await client.uploadTree(src, '/t'); // the first content is still stored: a new revision, no bytes
    expect(count(back, 'unchanged')).toBe(4);
    expect(byPath(back)['docs/big.bin']).toMatchObject({ outcome: 'uploaded', bytes: 0 });
    expect(back.bytes).toBe(0);
    const copy = await client.uploadTree(src, '/t-copy');
    expect(count(copy, 'uploaded')).toBe(5); // new files, though stored content completes at once
    expect(copy.bytes).toBe(0);
  });

  it('re-downloading skips matching files and fetches only the changed parts of a changed one', async () => {
    const out = join(dir, 'out');
    const big = await readFile(join(out, 'docs/big.bin'));
    big[PART + 123] ^= 0xff;
    await writeFile(join(out, 'docs/big.bin'), big);
    await writeFile(join(out, 'a.txt'), 'locally edited, another size');
    await writeFile(join(out, 'local-only.txt'), 'kept');

    const r = await client.downloadTree('/t', out);
    expect(r.failed).toEqual([]);
    expect(count(r, 'unchanged')).toBe(3);
    expect(byPath(r)['docs/big.bin'].outcome).toBe('downloaded');
    const parts = await chunksOf('/t/docs/big.bin');
    expect(byPath(r)['docs/big.bin'].bytes).toBe(partAt(parts, PART + 123));
    expect(byPath(r)['docs/big.bin'].result!.partsReused).toBe(parts.length - 1);
    expect(byPath(r)['a.txt'].outcome).toBe('downloaded');
    expect(r.bytes).toBe(partAt(parts, PART + 123) + FILES['a.txt'].length);
    for (const [rel, data] of Object.entries(FILES)) expect((await readFile(join(out, rel))).equals(data)).toBe(true);
    expect(await readFile(join(out, 'local-only.txt'), 'utf8')).toBe('kept');

    const quiet = await client.downloadTree('/t', out);
    expect(count(quiet, 'unchanged')).toBe(5);
    expect(quiet.bytes).toBe(0);
  });

  it('one failing file does not stop the others: CONFLICT where a folder stands, BAD_USER_INPUT for a name the server refuses', async () => {
    await client.createFolder('/t2/docs/readme.md');
    const tree = join(dir, 'bad');
    await writeTree(tree, { 'ok.txt': randomBytes(10), 'docs/readme.md': randomBytes(20), 'bad\u0001name.txt': randomBytes(30), 'z/last.txt': randomBytes(40) });
    const r = await client.uploadTree(tree, '/t2', { files: 2 });
    expect(r.failed.map((f) => [f.path, f.kind, f.code]).sort()).toEqual([['bad\u0001name.txt', 'file', 'BAD_USER_INPUT'], ['docs/readme.md', 'file', 'CONFLICT']]);
    expect(r.files.map((f) => f.path).sort()).toEqual(['ok.txt', 'z/last.txt']);
    expect((await client.fileByPath('/t2/z/last.txt'))?.size).toBe('40');

    const out = join(dir, 'out-conflict');
    await mkdir(join(out, 'docs', 'readme.md'), { recursive: true });
    await symlink(join(dir, 'elsewhere.bin'), join(out, 'a.txt'));
    const down = await client.downloadTree('/t', out);
    expect(down.failed.map((f) => [f.path, f.code]).sort()).toEqual([['a.txt', 'CONFLICT'], ['docs/readme.md', 'CONFLICT']]);
    expect(count(down, 'downloaded')).toBe(3);
    expect((await readFile(join(out, 'docs/big.bin'))).equals(FILES['docs/big.bin'])).toBe(true);
    expect((await lstat(join(out, 'a.txt'))).isSymbolicLink()).toBe(true);
    await expect(access(join(dir, 'elsewhere.bin'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('rejects a missing remote folder, a remote file given as the folder, and a local file given as the folder', async () => {
    await expect(client.downloadTree('/no-such-folder', join(dir, 'x'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(client.downloadTree('/t/a.txt', join(dir, 'x'))).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(client.uploadTree(src, '/t/a.txt')).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(client.uploadTree(join(src, 'a.txt'), '/x')).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
  });

  it('an abort stops every file and leaves resumable state both ways', async () => {
    const tree = join(dir, 'abortable');
    const { data: big, ends } = multiPart('tree-abort', 40 * MIB);
    await writeTree(tree, { 'a.txt': randomBytes(100), 'big.bin': big, 'zz.txt': randomBytes(100) });
    const ac = new AbortController();
    // one file at a time, in order (batch: false; with batches a.txt and zz.txt would go in one request beside big.bin)
    await expect(client.uploadTree(tree, '/ab', {
      // past the first part (100 bytes of a.txt before it)
      files: 1, concurrency: 1, batch: false, signal: ac.signal, onProgress: (p) => p.bytesDone > ends[0] + MIB && ac.abort(),
    })).rejects.toMatchObject({ name: 'AbortError' });
    expect((await client.fileByPath('/ab/a.txt'))?.size).toBe('100');
    expect(await client.fileByPath('/ab/big.bin')).toBeNull();
    expect(await client.fileByPath('/ab/zz.txt')).toBeNull();

    const up = await client.uploadTree(tree, '/ab');
    expect(up.failed).toEqual([]);
    expect(byPath(up)['a.txt'].outcome).toBe('unchanged');
    expect(byPath(up)['big.bin'].result!.partsSkipped).toBeGreaterThanOrEqual(1);
    expect(byPath(up)['big.bin'].bytes).toBeLessThan(big.length);
    expect(byPath(up)['zz.txt'].outcome).toBe('uploaded');

    const out = join(dir, 'out-abort');
    const stop = new AbortController();
    await expect(client.downloadTree('/ab', out, {
      files: 1, concurrency: 1, signal: stop.signal, onProgress: (p) => p.bytesDone > ends[0] + MIB && stop.abort(),
    })).rejects.toMatchObject({ name: 'AbortError' });
    await expect(access(join(out, 'big.bin' + PARTIAL_SUFFIX))).resolves.toBeUndefined();
    await expect(access(join(out, 'zz.txt'))).rejects.toMatchObject({ code: 'ENOENT' });
    const down = await client.downloadTree('/ab', out);
    expect(byPath(down)['a.txt'].outcome).toBe('unchanged');
    expect(byPath(down)['big.bin'].result!.partsReused).toBeGreaterThanOrEqual(1);
    expect((await readFile(join(out, 'big.bin'))).equals(big)).toBe(true);
    expect((await readdir(out)).sort()).toEqual(['a.txt', 'big.bin', 'zz.txt']);
  });
});
