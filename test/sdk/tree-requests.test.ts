import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TesseraClient } from '../../clients/sdk/client';
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
});
