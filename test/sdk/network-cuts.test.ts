import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TesseraClient } from '../../clients/sdk/client';
import { MIB } from '../../clients/sdk/hashing';
import { startTestServer, type TestServer } from '../helpers/server';

/**
 * A TCP proxy in front of the server that cuts the first `cuts` connections whose request
 * starts with `request` (e.g. `GET /blobs/object`) once `after` bytes of the response (GET) or
 * of the request body (PUT) went through: a dropped connection mid-body, as on a flaky link.
 */
async function cuttingProxy(target: URL, request: string, cuts: number, after: number) {
  let cut = 0;
  const upload = request.startsWith('PUT');
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    let doomed = false;
    let moved = 0;
    const close = () => { client.destroy(); upstream.destroy(); };
    const cutNow = () => { client.resetAndDestroy(); upstream.destroy(); };
    client.on('data', (d) => {
      if (!doomed && cut < cuts && d.toString('latin1').startsWith(request)) {
        doomed = true;
        cut++;
      }
      if (doomed && upload && (moved += d.length) > after) return cutNow();
      upstream.write(d);
    });
    upstream.on('data', (d) => {
      if (doomed && !upload && (moved += d.length) > after) return cutNow();
      client.write(d);
    });
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  return { url: `http://127.0.0.1:${port}`, cutCount: () => cut, close: () => new Promise((r) => server.close(r)) };
}

describe('transfers over connections cut mid-body (node:http transport, real TCP)', () => {
  let server: TestServer;
  let dir: string;

  beforeAll(async () => {
    server = await startTestServer();
    dir = await mkdtemp(join(tmpdir(), 'tessera-cuts-'));
  });

  afterAll(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('retries the parts whose connection dropped and ends byte-identical', async () => {
    const data = randomBytes(3 * 8 * MIB + 5 * MIB);
    const src = join(dir, 'src.bin');
    await writeFile(src, data);
    const direct = new TesseraClient({ server: server.url });
    const email = `cuts-${Date.now()}@example.com`;
    await direct.signUp(email, 'correct horse battery');
    await direct.upload(src, '/cuts/file.bin', { fixedParts: true }); // parts of 8 MiB: several to cut

    const proxy = await cuttingProxy(new URL(server.url), 'GET /blobs/object', 3, MIB);
    try {
      const client = new TesseraClient({ server: proxy.url });
      await client.signIn(email, 'correct horse battery');
      const dest = join(dir, 'out.bin');
      const r = await client.download('/cuts/file.bin', dest, { concurrency: 2 });
      expect(proxy.cutCount()).toBe(3);
      expect(r.partsDownloaded).toBe(4);
      expect((await readFile(dest)).equals(data)).toBe(true);
    } finally {
      await proxy.close();
    }
  });

  it('reports NETWORK once a part has failed on every attempt', async () => {
    const data = randomBytes(9 * MIB);
    const src = join(dir, 'small.bin');
    await writeFile(src, data);
    const direct = new TesseraClient({ server: server.url });
    const email = `cuts-all-${Date.now()}@example.com`;
    await direct.signUp(email, 'correct horse battery');
    await direct.upload(src, '/cuts/small.bin');

    const proxy = await cuttingProxy(new URL(server.url), 'GET /blobs/object', 1000, 64 * 1024);
    try {
      const client = new TesseraClient({ server: proxy.url });
      await client.signIn(email, 'correct horse battery');
      await expect(client.download('/cuts/small.bin', join(dir, 'never.bin'), { partAttempts: 2 })).rejects.toMatchObject({ code: 'NETWORK' });
    } finally {
      await proxy.close();
    }
  });

  it('re-sends the parts of an upload whose connection dropped mid-body', async () => {
    const data = randomBytes(3 * 8 * MIB + 123);
    const src = join(dir, 'up.bin');
    await writeFile(src, data);
    const email = `cuts-up-${Date.now()}@example.com`;
    await new TesseraClient({ server: server.url }).signUp(email, 'correct horse battery');
    const proxy = await cuttingProxy(new URL(server.url), 'PUT /blobs/part', 2, 2 * MIB);
    try {
      const client = new TesseraClient({ server: proxy.url });
      await client.signIn(email, 'correct horse battery');
      const up = await client.upload(src, '/cuts/up.bin', { concurrency: 2, fixedParts: true }); // parts of 8 MiB
      expect(proxy.cutCount()).toBe(2);
      expect(up.partsSent).toBe(4);
      const dest = join(dir, 'up.out');
      await new TesseraClient({ server: server.url, token: client.token }).download('/cuts/up.bin', dest);
      expect((await readFile(dest)).equals(data)).toBe(true);
    } finally {
      await proxy.close();
    }
  });
});
