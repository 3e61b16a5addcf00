import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TesseraClient } from '../../clients/sdk/client';
import { PARTIAL_SUFFIX } from '../../clients/sdk/download';
import { countingFetch } from '../helpers/gql';
import { startTestServer, type TestServer } from '../helpers/server';

/** A folder download lists files with what downloading them needs: no request per file, and URLs that expired meanwhile are renewed. */
describe('folder download requests (local store, SQLite)', () => {
  let server: TestServer;
  let dir: string;
  const operations: string[] = [];
  let client: TesseraClient;

  beforeAll(async () => {
    server = await startTestServer({ config: { downloadUrlTtl: 1 } });
    dir = await mkdtemp(join(tmpdir(), 'tessera-tree-req-'));
    client = new TesseraClient({ server: server.url, fetch: countingFetch(operations) });
    await client.signUp(`tree-req-${process.pid}-${Date.now()}@example.com`, 'correct horse battery');
  });
  afterAll(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('20 small files in 2 folders: one listing per folder, no request per file; expired listed URLs are renewed', async () => {
    const src = join(dir, 'src');
    const files = new Map<string, Buffer>();
    for (const d of ['a', 'b']) {
      await mkdir(join(src, d), { recursive: true });
      for (let i = 0; i < 10; i++) {
        const bytes = randomBytes(1000 + i);
        files.set(`${d}/f${i}.bin`, bytes);
        await writeFile(join(src, d, `f${i}.bin`), bytes);
      }
    }
    const up = await client.uploadTree(src, '/tree');
    expect(up.failed).toEqual([]);

    operations.length = 0;
    const down = await client.downloadTree('/tree', join(dir, 'fresh'), { files: 4 });
    expect(down.failed).toEqual([]);
    expect(operations.filter((o) => o === 'FileForDownload')).toEqual([]);
    expect(operations.filter((o) => o === 'ListFolderForDownload')).toHaveLength(3); // /tree, /tree/a, /tree/b
    for (const [rel, bytes] of files) expect((await readFile(join(dir, 'fresh', rel))).equals(bytes)).toBe(true);

    // the listing's URLs live 1 s here: a download that starts later renews its URL (one DownloadUrl)
    const [listed] = (await client.listFolderForDownload('/tree/a')).filter((f) => f.name === 'f3.bin');
    await new Promise((r) => setTimeout(r, 2100));
    operations.length = 0;
    const r = await client.download(listed.path, join(dir, 'late.bin'), { file: listed });
    expect(operations).toEqual(['DownloadUrl']);
    expect(r.bytesReceived).toBe(1003);
    expect((await readFile(join(dir, 'late.bin'))).equals(files.get('a/f3.bin')!)).toBe(true);
  });

  it('a folder that is a sync root uploads without its .tessera state', async () => {
    const root = join(dir, 'synced');
    await mkdir(join(root, '.tessera'), { recursive: true });
    await writeFile(join(root, '.tessera', 'state.db'), 'sqlite bytes');
    await writeFile(join(root, 'doc.txt'), 'content');
    const r = await client.uploadTree(root, '/synced');
    expect(r.skipped).toEqual([{ path: '.tessera', reason: 'sync-state' }]);
    expect(r.files.map((f) => f.path)).toEqual(['doc.txt']);
    expect((await client.listFolder('/synced')).map((f) => f.name)).toEqual(['doc.txt']);
  });

  it('a folder download lists each local folder once: files it does not find start fresh, a partial download it finds is resumed, a stale `fresh` hint is harmless', async () => {
    const src = join(dir, 'resume-src');
    await mkdir(src, { recursive: true });
    const bytes = new Map(['p.bin', 'q.bin', 'r.bin'].map((n, i) => [n, randomBytes(2000 + i)]));
    for (const [n, b] of bytes) await writeFile(join(src, n), b);
    expect((await client.uploadTree(src, '/resume')).failed).toEqual([]);

    // p.bin was fully fetched by an interrupted run (its partial file holds the right bytes): nothing to fetch again
    const out = join(dir, 'resume-out');
    await mkdir(out, { recursive: true });
    await writeFile(join(out, `p.bin${PARTIAL_SUFFIX}`), bytes.get('p.bin')!);
    const down = await client.downloadTree('/resume', out);
    expect(down.failed).toEqual([]);
    const received = Object.fromEntries(down.files.map((f) => [f.path, f.bytes]));
    expect(received).toEqual({ 'p.bin': 0, 'q.bin': 2001, 'r.bin': 2002 });
    for (const [n, b] of bytes) expect((await readFile(join(out, n))).equals(b)).toBe(true);
    expect((await readdir(out)).sort()).toEqual(['p.bin', 'q.bin', 'r.bin']);
    // the same with --fsync (small new files are written with synchronous calls, O_DSYNC, fsync before the rename)
    const durable = await client.downloadTree('/resume', join(dir, 'resume-durable'), { fsync: true });
    expect(durable.failed).toEqual([]);
    for (const [n, b] of bytes) expect((await readFile(join(dir, 'resume-durable', n))).equals(b)).toBe(true);
    expect((await readdir(join(dir, 'resume-durable'))).sort()).toEqual(['p.bin', 'q.bin', 'r.bin']);

    // `fresh` given although a partial file exists (it appeared after the listing): the resume path still runs
    const [q] = (await client.listFolderForDownload('/resume')).filter((f) => f.name === 'q.bin');
    const late = join(dir, 'late-q.bin');
    const wrong = Buffer.from(bytes.get('q.bin')!);
    wrong[5] ^= 1;
    await writeFile(late + PARTIAL_SUFFIX, wrong);
    const r = await client.download(q.path, late, { file: q, fresh: true });
    expect([r.bytesReceived, r.partsReused]).toEqual([2001, 0]);
    expect((await readFile(late)).equals(bytes.get('q.bin')!)).toBe(true);
    await writeFile(late + PARTIAL_SUFFIX, bytes.get('q.bin')!);
    const again = await client.download(q.path, late, { file: q, fresh: true });
    expect([again.bytesReceived, again.partsReused]).toEqual([0, 1]);
  });
});

