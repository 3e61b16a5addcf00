import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type net from 'node:net';
import { rangeGet } from '../../clients/sdk/part-http';
import { readStats } from '../../clients/sdk/raw-get';

/** A real HTTP server whose answer each test picks; it records the sockets requests came on. */
describe('ranged GETs over the SDK\'s own sockets (raw-get.ts), against a real HTTP server', () => {
  const data = randomBytes(3 * 1024 * 1024 + 123);
  let handler: (req: http.IncomingMessage, res: http.ServerResponse) => void;
  const sockets = new Set<net.Socket>();
  let server: http.Server;
  let base: string;
  beforeAll(async () => {
    server = http.createServer((req, res) => { sockets.add(req.socket); handler(req, res); });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  beforeEach(() => sockets.clear());

  const ranged = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const [a, b] = /bytes=(\d+)-(\d+)/.exec(req.headers.range ?? '')!.slice(1).map(Number);
    res.writeHead(206, { 'content-length': String(b - a + 1), 'content-range': `bytes ${a}-${b}/${data.length}` });
    res.end(data.subarray(a, b + 1));
  };
  async function read(res: { batches(n: number): AsyncIterable<Uint8Array[]> }, size: number) {
    const sizes: number[] = [];
    const parts: Buffer[] = [];
    for await (const batch of res.batches(size)) for (const c of batch) { sizes.push(c.length); parts.push(Buffer.from(c)); }
    return { body: Buffer.concat(parts), sizes };
  }
  const signal = () => new AbortController().signal;

  it('reads the range in batches of the size asked, and reuses the connection for the next request', async () => {
    handler = ranged;
    const r1 = await rangeGet(new URL('/obj?sig=x', base), 100, 2 * 1024 * 1024, signal());
    expect(r1.status).toBe(206);
    expect(r1.header('content-range')).toBe(`bytes 100-${100 + 2 * 1024 * 1024 - 1}/${data.length}`);
    const { body, sizes } = await read(r1, 512 * 1024);
    expect(body.equals(data.subarray(100, 100 + 2 * 1024 * 1024))).toBe(true);
    expect(sizes).toEqual([512 * 1024, 512 * 1024, 512 * 1024, 512 * 1024]);
    const r2 = await rangeGet(new URL('/obj', base), 2 * 1024 * 1024, data.length - 2 * 1024 * 1024, signal());
    expect((await read(r2, 1024 * 1024)).body.equals(data.subarray(2 * 1024 * 1024))).toBe(true);
    expect(sockets.size).toBe(1);
  });

  it('reads the body into the batch buffers in place (no copy in JavaScript), also for a reader slower than the socket', async () => {
    handler = ranged;
    const before = { ...readStats };
    const r = await rangeGet(new URL('/obj', base), 7, data.length - 7, signal());
    const parts: Buffer[] = [];
    for await (const batch of r.batches(256 * 1024)) {
      for (const c of batch) parts.push(Buffer.from(c));
      await new Promise((res) => setTimeout(res, 2)); // the socket pauses while full batches wait
    }
    expect(Buffer.concat(parts).equals(data.subarray(7))).toBe(true);
    const inPlace = readStats.inPlaceBytes - before.inPlaceBytes;
    const copied = readStats.copiedBytes - before.copiedBytes;
    expect(inPlace + copied).toBe(data.length - 7);
    // only what the socket read into its own buffer before the batch size was known (the head's read, and one
    // read already under way then): each at most 256 KiB; the rest in place
    expect(copied).toBeLessThan(data.length / 4);
  });

  it('gives an error answer with its body (text)', async () => {
    handler = (_req, res) => { res.writeHead(403, { 'content-type': 'application/xml' }); res.end('<Error><Code>AccessDenied</Code></Error>'); };
    const r = await rangeGet(new URL('/obj', base), 0, 10, signal());
    expect(r.status).toBe(403);
    expect(await r.text()).toBe('<Error><Code>AccessDenied</Code></Error>');
  });

  it('falls back to node:http for an answer without Content-Length (chunked)', async () => {
    handler = (req, res) => {
      const [a, b] = /bytes=(\d+)-(\d+)/.exec(req.headers.range ?? '')!.slice(1).map(Number);
      res.writeHead(206);
      res.write(data.subarray(a, a + 10));
      res.end(data.subarray(a + 10, b + 1));
    };
    const r = await rangeGet(new URL('/obj', base), 5, 1000, signal());
    expect(r.status).toBe(206);
    expect((await read(r, 4096)).body.equals(data.subarray(5, 1005))).toBe(true);
  });

  it('rejects like a network failure when the connection drops mid-body or the server sends too much', async () => {
    handler = (_req, res) => {
      res.writeHead(206, { 'content-length': '1000000' });
      res.write(data.subarray(0, 1000), () => res.socket?.destroy());
    };
    let r = await rangeGet(new URL('/obj', base), 0, 1_000_000, signal());
    await expect(read(r, 64 * 1024)).rejects.toMatchObject({ name: 'TypeError' });

    handler = (_req, res) => {
      res.socket!.write('HTTP/1.1 206 Partial Content\r\nContent-Length: 10\r\n\r\n' + 'x'.repeat(20));
    };
    r = await rangeGet(new URL('/obj', base), 0, 10, signal());
    await expect(read(r, 64 * 1024)).rejects.toMatchObject({ name: 'TypeError', message: expect.stringMatching(/more than Content-Length/) });
  });

  it('stops at once when aborted mid-body, with the signal\'s reason', async () => {
    handler = (_req, res) => {
      res.writeHead(206, { 'content-length': '1000000' });
      res.write(data.subarray(0, 1000)); // and never more
    };
    const ac = new AbortController();
    const r = await rangeGet(new URL('/obj', base), 0, 1_000_000, ac.signal);
    const reading = read(r, 64 * 1024);
    setTimeout(() => ac.abort(new DOMException('stop', 'AbortError')), 50);
    await expect(reading).rejects.toMatchObject({ name: 'AbortError' });
  });
});
