import { randomBytes } from 'node:crypto';
import { mkdtemp, open, readFile, rm, stat, truncate, writeFile, access } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TesseraClient } from '../../clients/sdk/client';
import { PARTIAL_SUFFIX } from '../../clients/sdk/download';
import { MIB } from '../../clients/sdk/hashing';
import { main } from '../../clients/cli/main';
import { cliIo } from '../helpers/cli';
import { startTestServer, type TestServer } from '../helpers/server';

const PART = 8 * MIB;

describe('SDK upload and download against a real server (local store, SQLite)', () => {
  let server: TestServer;
  let dir: string;
  let client: TesseraClient;
  let data: Buffer;
  let src: string;
  let n = 0;
  const email = () => `sdk-${process.pid}-${Date.now()}-${n++}@example.com`;

  beforeAll(async () => {
    server = await startTestServer();
    dir = await mkdtemp(join(tmpdir(), 'tessera-sdk-'));
    client = new TesseraClient({ server: server.url });
    await client.signUp(email(), 'correct horse battery', { name: 'SDK test' });
    data = randomBytes(2 * PART + 3 * MIB + 777);
    src = join(dir, 'src.bin');
    await writeFile(src, data);
  });

  afterAll(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('uploads a multi-part file and downloads identical bytes', async () => {
    const progress: number[] = [];
    const up = await client.upload(src, '/docs/big.bin', { fixedParts: true, onProgress: (p) => p.phase === 'upload' && progress.push(p.bytesDone) });
    expect(up.deduplicated).toBe(false);
    expect(up.partsSent).toBe(3);
    expect(up.bytesSent).toBe(data.length);
    expect(up.file.path).toBe('/docs/big.bin');
    expect(Number(up.file.size)).toBe(data.length);
    expect(progress.at(-1)).toBe(data.length);

    const listing = await client.listFolder('/docs');
    expect(listing.map((f) => f.name)).toContain('big.bin');

    const dest = join(dir, 'big.out');
    const down = await client.download('/docs/big.bin', dest);
    expect(down.partsDownloaded).toBe(3);
    expect(down.bytesReceived).toBe(data.length);
    expect((await readFile(dest)).equals(data)).toBe(true);
    await expect(access(dest + PARTIAL_SUFFIX)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('deduplicates a second upload of the same content', async () => {
    const again = await client.upload(src, '/docs/big.bin', { fixedParts: true }); // cut as it was the first time
    expect(again.deduplicated).toBe(true);
    expect(again.bytesSent).toBe(0);
  });

  it('uploads and downloads an empty file', async () => {
    const empty = join(dir, 'empty.txt');
    await writeFile(empty, '');
    const up = await client.upload(empty, '/empty.txt');
    expect(up.file.size).toBe('0');
    const dest = join(dir, 'empty.out');
    await client.download('/empty.txt', dest);
    expect((await stat(dest)).size).toBe(0);
  });

  it('resumes a download from a truncated partial file, fetching only missing parts', async () => {
    const dest = join(dir, 'resume.out');
    const ac = new AbortController();
    const first = client.download('/docs/big.bin', dest, {
      concurrency: 1,
      signal: ac.signal,
      onProgress: (p) => p.bytesDone > PART && ac.abort(),
    });
    await expect(first).rejects.toMatchObject({ name: 'AbortError' });
    await truncate(dest + PARTIAL_SUFFIX, PART + MIB);

    const second = await client.download('/docs/big.bin', dest);
    expect(second.partsReused).toBe(1);
    expect(second.partsDownloaded).toBe(2);
    expect(second.bytesReceived).toBe(data.length - PART);
    expect((await readFile(dest)).equals(data)).toBe(true);
  });

  it('re-verifies a partial file without a sidecar and re-fetches a corrupted part', async () => {
    const dest = join(dir, 'corrupt.out');
    const damaged = Buffer.from(data);
    damaged[PART + 5] ^= 0xff;
    await writeFile(dest + PARTIAL_SUFFIX, damaged);
    const r = await client.download('/docs/big.bin', dest);
    expect(r.partsReused).toBe(2);
    expect(r.partsDownloaded).toBe(1);
    expect(r.bytesReceived).toBe(PART);
    expect((await readFile(dest)).equals(data)).toBe(true);
  });

  it('resumes an aborted upload, sending only the parts not yet stored', async () => {
    const other = randomBytes(2 * PART + 5 * MIB);
    const path = join(dir, 'resume-up.bin');
    await writeFile(path, other);
    const ac = new AbortController();
    const first = client.upload(path, '/resume-up.bin', {
      fixedParts: true, // parts of PART bytes: the abort lands after the first
      concurrency: 1,
      signal: ac.signal,
      onProgress: (p) => p.phase === 'upload' && p.bytesDone > PART && ac.abort(),
    });
    await expect(first).rejects.toMatchObject({ name: 'AbortError' });

    const second = await client.upload(path, '/resume-up.bin', { fixedParts: true });
    expect(second.deduplicated).toBe(false);
    expect(second.partsSkipped).toBeGreaterThanOrEqual(1);
    expect(second.bytesSent).toBeLessThan(other.length);
    const dest = join(dir, 'resume-up.out');
    await client.download('/resume-up.bin', dest);
    expect((await readFile(dest)).equals(other)).toBe(true);
  });

  it('moves and deletes files, and reports NOT_FOUND for a missing one', async () => {
    await client.createFolder('/archive');
    const moved = await client.moveFile('/empty.txt', '/archive/empty.txt');
    expect(moved.path).toBe('/archive/empty.txt');
    await client.deleteFile('/archive/empty.txt');
    expect(await client.fileByPath('/archive/empty.txt')).toBeNull();
    await expect(client.download('/nope.bin', join(dir, 'nope'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  describe('tessera CLI main()', () => {
    const io = () => cliIo({ TESSERA_SERVER: server.url, TESSERA_CONFIG_DIR: join(dir, 'cli-config') }, dir);

    it('signs up, uploads, lists, downloads, moves and removes', async () => {
      const address = email();
      let t = io();
      expect(await main(['signup', '--email', address, '--password', 'correct horse battery'], t)).toBe(0);
      expect(t.out()).toContain(`logged in to ${server.url} as ${address}`);
      const cfg = await stat(join(dir, 'cli-config', 'config.json'));
      expect(cfg.mode & 0o777).toBe(0o600);

      t = io();
      expect(await main(['upload', 'src.bin', '/cli/'], t)).toBe(0);
      expect(t.err()).toMatch(/^uploaded src\.bin -> \/cli\/src\.bin \(.*\)\n$/);

      t = io();
      expect(await main(['ls', '/cli'], t)).toBe(0);
      expect(t.out()).toMatch(/^-\s+19\.0 MiB\s+\S+ \S+\s+src\.bin\n$/);

      // flushed to disk before the rename only with --fsync (same bytes either way)
      const probe = await open(join(dir, 'probe'), 'w');
      const fileHandle = Object.getPrototypeOf(probe);
      await probe.close();
      const sync = jest.spyOn(fileHandle, 'sync');
      try {
        t = io();
        expect(await main(['download', '--fsync', '/cli/src.bin', 'cli.out'], t)).toBe(0);
        expect((await readFile(join(dir, 'cli.out'))).equals(data)).toBe(true);
        expect(t.err()).toMatch(/^downloaded \/cli\/src\.bin -> /);
        expect(sync).toHaveBeenCalled();
        sync.mockClear();
        for (const flag of [[], ['--no-fsync']]) {
          t = io();
          expect(await main(['download', ...flag, '/cli/src.bin', `cli-nofsync${flag.length}.out`], t)).toBe(0);
          expect((await readFile(join(dir, `cli-nofsync${flag.length}.out`))).equals(data)).toBe(true);
        }
        expect(sync).not.toHaveBeenCalled();
      } finally {
        sync.mockRestore();
      }

      t = io();
      expect(await main(['mkdir', '/cli/sub'], t)).toBe(0);
      expect(await main(['mv', '/cli/src.bin', '/cli/sub/moved.bin'], t)).toBe(0);
      expect(await main(['rm', '/cli/sub/moved.bin'], t)).toBe(0);
      expect(t.out()).toContain('deleted /cli/sub/moved.bin');
    });

    it('prints error: <CODE>: <message> and exits non-zero', async () => {
      const t = io();
      expect(await main(['download', '/does/not/exist.bin'], t)).toBe(1);
      expect(t.err()).toMatch(/^error: NOT_FOUND: /);

      const missing = io();
      expect(await main(['upload', 'no-such-file.bin'], missing)).toBe(1);
      expect(missing.err()).toMatch(/^error: ENOENT: no such file/);
      expect(await main(['upload', '/dev/null'], missing)).toBe(1); // a folder is uploaded as a tree (cli-tree.test.ts)
      expect(missing.err()).toMatch(/error: BAD_USER_INPUT: .* is not a regular file\n$/);

      const anon = io();
      anon.env.TESSERA_CONFIG_DIR = join(dir, 'no-config');
      expect(await main(['ls'], anon)).toBe(1);
      expect(anon.err()).toMatch(/^error: UNAUTHENTICATED: /);
    });
  });
});
