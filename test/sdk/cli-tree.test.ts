import { randomBytes } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../clients/cli/main';
import { TesseraClient } from '../../clients/sdk/client';
import { FILE_CHUNKS } from '../../clients/sdk/operations';
import { formatBytes } from '../../clients/cli/progress';
import { MIB } from '../../clients/sdk/hashing';
import { cliIo } from '../helpers/cli';
import { startTestServer, type TestServer } from '../helpers/server';

const FILES: Record<string, Buffer> = {
  'a.txt': randomBytes(1000),
  'empty.bin': Buffer.alloc(0),
  'docs/readme.md': randomBytes(5000),
  'docs/big.bin': randomBytes(17 * MIB),
};

/** `tessera upload` / `download` of a folder, in process against a real server (local store). */
describe('tessera CLI folder transfers', () => {
  let server: TestServer;
  let dir: string;
  let client: TesseraClient;
  let env: Record<string, string>;

  beforeAll(async () => {
    server = await startTestServer();
    dir = await mkdtemp(join(tmpdir(), 'tessera-cli-tree-'));
    client = new TesseraClient({ server: server.url });
    const { token } = await client.signUp(`cli-tree-${Date.now()}@example.com`, 'correct horse battery');
    env = { TESSERA_SERVER: server.url, TESSERA_CONFIG_DIR: join(dir, 'config'), TESSERA_TOKEN: token };
    for (const [rel, data] of Object.entries(FILES)) {
      await mkdir(join(dir, 'photos', rel, '..'), { recursive: true });
      await writeFile(join(dir, 'photos', rel), data);
    }
    await mkdir(join(dir, 'photos', 'emptydir'));
    await symlink(join(dir, 'photos', 'a.txt'), join(dir, 'photos', 'link.txt'));
  });

  afterAll(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function run(cwd: string, ...argv: string[]) {
    const io = cliIo(env, cwd);
    const code = await main(argv, io);
    return { code, out: io.out(), err: io.err() };
  }

  async function expectTree(root: string) {
    for (const [rel, data] of Object.entries(FILES)) expect((await readFile(join(root, rel))).equals(data)).toBe(true);
    expect((await lstat(join(root, 'emptydir'))).isDirectory()).toBe(true);
    expect((await readdir(root)).sort()).toEqual(['a.txt', 'docs', 'empty.bin', 'emptydir']);
  }

  it('uploads a folder like cp -r: into / as /photos, again unchanged, at an explicit path, into an existing folder, or its contents', async () => {
    let r = await run(dir, 'upload', 'photos', '/');
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/^skipped link\.txt: symbolic link \(not followed\)\nuploaded photos -> \/photos: 4 files uploaded, 0 unchanged, 1 skipped, 0 failed, 1 folder created \(17\.0 MiB in \S+s, .*\/s\)\n$/);
    expect((await client.fileByPath('/photos/docs/big.bin'))?.size).toBe(String(17 * MIB));
    expect((await client.fileByPath('/photos/emptydir'))?.isFolder).toBe(true);
    expect(await client.fileByPath('/photos/link.txt')).toBeNull();

    r = await run(dir, 'upload', 'photos');
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/uploaded photos -> \/photos: 0 files uploaded, 4 unchanged, 1 skipped, 0 failed \(0 B in /);

    r = await run(dir, 'upload', '-j', '2', '-c', '2', 'photos', '/backup/photos');
    expect(r.code).toBe(0);
    expect(r.err).toContain('uploaded photos -> /backup/photos: 4 files uploaded');
    expect((await client.fileByPath('/backup/photos/docs/readme.md'))?.size).toBe('5000');
    r = await run(dir, 'upload', 'photos', '/backup');
    expect(r.err).toContain('uploaded photos -> /backup/photos: 0 files uploaded, 4 unchanged');

    r = await run(join(dir, 'photos'), 'upload', '.', '/flat');
    expect(r.code).toBe(0);
    expect((await client.listFolder('/flat')).map((f) => f.name)).toEqual(['a.txt', 'docs', 'empty.bin', 'emptydir']);
  });

  it('downloads a folder like cp -r: to a new path, into the current folder, again unchanged, or its contents', async () => {
    let r = await run(dir, 'download', '/photos', 'restored');
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/^downloaded \/photos -> .*restored: 4 files downloaded, 0 unchanged, 0 skipped, 0 failed, 3 folders created \(17\.0 MiB in /);
    await expectTree(join(dir, 'restored'));

    const cwd = join(dir, 'elsewhere');
    await mkdir(cwd);
    r = await run(cwd, 'download', '/photos');
    expect(r.code).toBe(0);
    await expectTree(join(cwd, 'photos'));
    const big = await readFile(join(cwd, 'photos', 'docs', 'big.bin'));
    big[9 * MIB] ^= 0xff;
    await writeFile(join(cwd, 'photos', 'docs', 'big.bin'), big);
    r = await run(cwd, 'download', '-j', '1', '/photos', '.');
    expect(r.code).toBe(0);
    // only the part holding the changed byte moves (content-defined parts: its size depends on the bytes)
    const { fileByPath } = await client.api.request<{ fileByPath: { chunks: { offset: string; size: string }[] } }>(FILE_CHUNKS, { path: '/photos/docs/big.bin' });
    const part = fileByPath.chunks.find((c) => Number(c.offset) <= 9 * MIB && 9 * MIB < Number(c.offset) + Number(c.size))!;
    expect(r.err).toContain(`: 1 file downloaded, 3 unchanged, 0 skipped, 0 failed (${formatBytes(Number(part.size))} in `);
    await expectTree(join(cwd, 'photos'));

    r = await run(dir, 'download', '/photos/docs/', 'docs-only');
    expect(r.code).toBe(0);
    expect((await readdir(join(dir, 'docs-only'))).sort()).toEqual(['big.bin', 'readme.md']);
  });

  it('prints each failure on its own line, goes on with the other files and exits 1', async () => {
    await client.createFolder('/photos2/photos/docs/readme.md'); // /photos2 exists: the tree goes to /photos2/photos
    let r = await run(dir, 'upload', 'photos', '/photos2');
    expect(r.code).toBe(1);
    const lines = r.err.split('\n');
    expect(lines).toContain('skipped link.txt: symbolic link (not followed)');
    expect(lines.filter((l) => l.startsWith('failed '))).toEqual([expect.stringMatching(/^failed docs\/readme\.md: CONFLICT: /)]);
    expect(r.err).toMatch(/uploaded photos -> \/photos2\/photos: 3 files uploaded, 0 unchanged, 1 skipped, 1 failed, 1 folder created \(/);
    expect(lines.at(-2)).toBe('error: INCOMPLETE: 1 of 4 item(s) failed; the others went through');
    expect((await client.fileByPath('/photos2/photos/docs/big.bin'))?.size).toBe(String(17 * MIB));

    const out = join(dir, 'blocked', 'photos'); // blocked/ exists: the tree goes to blocked/photos
    await mkdir(join(out, 'a.txt'), { recursive: true });
    r = await run(dir, 'download', '/photos', 'blocked');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^failed a\.txt: CONFLICT: .*not a regular file\n/);
    expect((await readFile(join(out, 'docs', 'big.bin'))).equals(FILES['docs/big.bin'])).toBe(true);
  });

  it('draws the tree progress (files and bytes) on a TTY', async () => {
    const io = cliIo(env, dir);
    (io.stderr as { isTTY: boolean; columns?: number }).isTTY = true;
    (io.stderr as { columns?: number }).columns = 120;
    expect(await main(['download', '/photos', 'tty-out'], io)).toBe(0);
    expect(io.err()).toMatch(/\rdownload 4\/4 files \[#+\] 100% 17\.0 MiB\/17\.0 MiB/);
    expect(io.err()).toMatch(/\r\x1b\[Kdownloaded \/photos -> .*tty-out: 4 files downloaded/);
  });
});
