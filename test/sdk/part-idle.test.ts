import { createHash } from 'node:crypto';
import express from 'express';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { filePut, rangeGet } from '../../clients/sdk/part-http';
import { isNetworkFailure } from '../../clients/sdk/retry';
import { blobRoutes } from '../../src/server/blob-routes';
import { createStorage, localAdapterOf } from '../../src/storage/registry';

/**
 * Part transfers never wait for ever (issue 13, defect 5): a stalled part GET or PUT fails as a
 * network failure after its idle timeout, a file that shrank is CHANGED before anything hangs,
 * and the local store's part route cuts an upload body that stops coming.
 */
describe('part transfers: idle timeouts and short files (real sockets)', () => {
  let handler: (req: http.IncomingMessage, res: http.ServerResponse) => void;
  let server: http.Server;
  let base: string;
  let dir: string;
  beforeAll(async () => {
    server = http.createServer((req, res) => handler(req, res));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    dir = await mkdtemp(join(tmpdir(), 'tessera-idle-'));
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await rm(dir, { recursive: true, force: true });
  });

  const signal = () => new AbortController().signal;
  /** How long `p` took to reject, and with what. */
  async function rejection(p: Promise<unknown>): Promise<{ ms: number; error: unknown }> {
    const t = Date.now();
    try {
      await p;
    } catch (error) {
      return { ms: Date.now() - t, error };
    }
    throw new Error('expected a rejection');
  }
  async function readAll(res: { batches(n: number): AsyncIterable<Uint8Array[]> }): Promise<void> {
    for await (const _ of res.batches(1024)) { /* drain */ }
  }

  it('a ranged GET whose body stalls (raw sockets) fails as a network failure after the idle timeout', async () => {
    handler = (_req, res) => {
      res.writeHead(206, { 'content-length': '100' });
      res.write(Buffer.alloc(10)); // and nothing more
    };
    const res = await rangeGet(new URL('/obj', base), 0, 100, signal(), undefined, { idleTimeoutMs: 300 });
    const { ms, error } = await rejection(readAll(res));
    expect(isNetworkFailure(error)).toBe(true);
    expect(ms).toBeGreaterThanOrEqual(250);
    expect(ms).toBeLessThan(3_000);
  });

  it('a ranged GET that gets no answer at all fails after the idle timeout', async () => {
    handler = () => undefined; // never answers
    const { ms, error } = await rejection(rangeGet(new URL('/obj', base), 0, 100, signal(), undefined, { idleTimeoutMs: 300 }));
    expect(isNetworkFailure(error)).toBe(true);
    expect(ms).toBeLessThan(3_000);
  });

  it('a ranged GET answered without Content-Length (node:http fallback) whose body stalls fails after the idle timeout', async () => {
    handler = (_req, res) => {
      res.writeHead(206, { 'transfer-encoding': 'chunked' });
      res.write(Buffer.alloc(10));
    };
    const res = await rangeGet(new URL('/obj', base), 0, 100, signal(), undefined, { idleTimeoutMs: 300 });
    const { ms, error } = await rejection(readAll(res));
    expect(isNetworkFailure(error)).toBe(true);
    expect(ms).toBeLessThan(3_000);
  });

  it('a part PUT the store never answers fails after the idle timeout', async () => {
    handler = (req) => req.resume(); // reads the body, never answers
    const file = join(dir, 'whole.bin');
    await writeFile(file, Buffer.alloc(5000, 1));
    const { ms, error } = await rejection(filePut(new URL('/part', base), 'PUT', {}, { path: file, offset: 0, size: 5000 }, () => undefined, signal(), undefined, { idleTimeoutMs: 300 }));
    expect(isNetworkFailure(error)).toBe(true);
    expect(ms).toBeLessThan(3_000);
  });

  it('a part PUT of a file that shrank since it was hashed is CHANGED at once, not a request promising bytes it never sends', async () => {
    handler = (req) => req.resume();
    const file = join(dir, 'short.bin');
    await writeFile(file, Buffer.alloc(1000, 2));
    const { ms, error } = await rejection(filePut(new URL('/part', base), 'PUT', {}, { path: file, offset: 0, size: 5000 }, () => undefined, signal()));
    expect(error).toMatchObject({ name: 'TesseraError', code: 'CHANGED' });
    expect(ms).toBeLessThan(1_000);
  });

  it('the local store cuts a part upload whose body stops coming (nothing stored)', async () => {
    const root = await mkdtemp(join(tmpdir(), 'tessera-idle-store-'));
    const adapter = createStorage({ kind: 'local', local: { root, signingSecret: 's', minPartSize: 64 * 1024 } });
    const app = express();
    app.use('/blobs', blobRoutes(localAdapterOf(adapter)!, { idleTimeoutMs: 300 }));
    const store = app.listen(0, '127.0.0.1');
    await new Promise<void>((r) => store.once('listening', r));
    try {
      const body = Buffer.alloc(1000, 3);
      const uploadId = await adapter.createMultipartUpload('k/idle');
      const sha256 = createHash('sha256').update(body).digest('hex');
      const put = await adapter.presignUploadPart('k/idle', uploadId, 1, { size: body.length, checksums: { sha256 }, expiresIn: 60 });
      const socket = net.connect((store.address() as net.AddressInfo).port, '127.0.0.1');
      await new Promise<void>((r) => socket.once('connect', r));
      const started = Date.now();
      const closed = new Promise<number>((r) => socket.once('close', () => r(Date.now() - started)));
      socket.on('error', () => undefined);
      socket.write(`PUT ${put.url} HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n`);
      socket.write(body.subarray(0, 100)); // promises 1000 bytes, sends 100
      const ms = await closed;
      expect(ms).toBeGreaterThanOrEqual(250);
      expect(ms).toBeLessThan(3_000);
      expect((await adapter.listParts('k/idle', uploadId)).parts).toEqual([]);
    } finally {
      store.closeAllConnections();
      await new Promise((r) => store.close(r));
      await rm(root, { recursive: true, force: true });
    }
  });
});
