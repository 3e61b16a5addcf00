/**
 * The part transfers: ranged GETs for downloads, PUTs of a file range for uploads. With no
 * custom `fetch`, requests go through node:http(s) on a keep-alive agent: reading 1 GiB in
 * 8 MiB ranges from RGW took 2.1 s this way and 2.6 s through fetch's web streams on the bench
 * machine (docs/benchmarks.md). Errors look like fetch's: a request that fails for network
 * reasons (refused, reset, cut mid-body) rejects with a TypeError (see `isNetworkFailure`),
 * an aborted one with the signal's AbortError. Tests inject faults through `fetchImpl`.
 */
import { createReadStream } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import { rawRangeGet, UnsupportedResponse } from './raw-get';

/** What a transfer needs of an HTTP response. */
export interface PartResponse {
  status: number;
  /** A response header (lowercase name), or null. */
  header(name: string): string | null;
  /** The body; iterate it once, or call `text()` or `batches()`. */
  body: AsyncIterable<Uint8Array>;
  /**
   * The body in batches of at least `bytes` (the last may be smaller), each an array of the
   * chunks as received: one await per batch instead of per network chunk. Network failures
   * reject like `body`'s.
   */
  batches(bytes: number): AsyncIterable<Uint8Array[]>;
  text(): Promise<string>;
}

const agents = {
  'http:': new http.Agent({ keepAlive: true, maxSockets: 64 }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: 64 }),
};

/**
 * GETs `bytes=offset..offset+length-1` of `url`: through `fetchImpl` when one is given, over
 * raw-get.ts's sockets for plain http, node:https otherwise (and for answers raw-get does not
 * handle).
 */
export async function rangeGet(url: URL, offset: number, length: number, signal: AbortSignal, fetchImpl?: typeof fetch): Promise<PartResponse> {
  const headers = { range: `bytes=${offset}-${offset + length - 1}` };
  if (fetchImpl) return fromFetch(await fetchImpl(url, { headers, signal }));
  if (url.protocol === 'http:') {
    try {
      return await rawRangeGet(url, offset, length, signal);
    } catch (e) {
      if (!(e instanceof UnsupportedResponse)) throw e;
    }
  }
  return fromNode(await request(url, 'GET', headers, null, signal));
}

/**
 * Sends `size` bytes of the file at `path` from `offset` as the body of a `method` request
 * (`content-length` is set unless given); `onBytes` hears every chunk read for sending.
 */
export async function filePut(
  url: URL, method: string, headers: Record<string, string>, file: { path: string; offset: number; size: number },
  onBytes: (n: number) => void, signal: AbortSignal, fetchImpl?: typeof fetch,
): Promise<PartResponse> {
  const body = () => {
    if (file.size === 0) return null;
    const stream = createReadStream(file.path, { start: file.offset, end: file.offset + file.size - 1, highWaterMark: 1024 * 1024 });
    stream.on('data', (chunk) => onBytes(chunk.length));
    return stream;
  };
  const all = Object.keys(headers).some((k) => k.toLowerCase() === 'content-length') ? headers : { ...headers, 'content-length': String(file.size) };
  if (fetchImpl) {
    const stream = body();
    return fromFetch(await fetchImpl(url, {
      method, headers: all, body: stream ? (Readable.toWeb(stream) as ReadableStream) : undefined, duplex: 'half', signal,
    } as RequestInit));
  }
  return fromNode(await request(url, method, all, body(), signal));
}

function fromFetch(res: Response): PartResponse {
  const body = res.body as unknown as AsyncIterable<Uint8Array>;
  return { status: res.status, header: (n) => res.headers.get(n), body, text: () => res.text(), batches: (bytes) => grouped(body, bytes) };
}

function fromNode(res: http.IncomingMessage): PartResponse {
  return {
    status: res.statusCode ?? 0,
    header: (n) => { const v = res.headers[n]; return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v; },
    body: networkErrorsAsTypeErrors(res),
    text: () => readText(res),
    batches: (bytes) => nodeBatches(res, bytes),
  };
}

async function* grouped(body: AsyncIterable<Uint8Array>, bytes: number): AsyncGenerator<Uint8Array[]> {
  let batch: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    batch.push(chunk);
    size += chunk.length;
    if (size >= bytes) {
      yield batch;
      batch = [];
      size = 0;
    }
  }
  if (batch.length) yield batch;
}

/** Batches from 'data' events: the stream is paused while a full batch waits for its consumer. */
function nodeBatches(res: http.IncomingMessage, bytes: number): AsyncIterable<Uint8Array[]> {
  let batch: Buffer[] = [];
  let size = 0;
  let ended = false;
  let failure: unknown = null;
  let wake: (() => void) | null = null;
  const notify = () => { const w = wake; wake = null; w?.(); };
  res.on('data', (chunk: Buffer) => {
    batch.push(chunk);
    size += chunk.length;
    if (size >= bytes) {
      res.pause();
      notify();
    }
  });
  res.on('end', () => { ended = true; notify(); });
  res.on('error', (e) => { failure ??= e; notify(); });
  res.on('close', () => {
    if (!ended) failure ??= new Error('connection closed before the end of the body');
    notify();
  });
  return {
    [Symbol.asyncIterator]: () => ({
      async next(): Promise<IteratorResult<Uint8Array[]>> {
        for (;;) {
          if (failure) {
            res.destroy();
            throw asNetworkError(failure);
          }
          if (size >= bytes || (ended && size > 0)) {
            const out = batch;
            batch = [];
            size = 0;
            if (!ended) res.resume();
            return { value: out, done: false };
          }
          if (ended) return { value: undefined, done: true };
          await new Promise<void>((r) => (wake = r));
        }
      },
      async return(): Promise<IteratorResult<Uint8Array[]>> {
        res.destroy();
        return { value: undefined, done: true };
      },
    }),
  };
}

function request(url: URL, method: string, headers: Record<string, string>, body: Readable | null, signal: AbortSignal): Promise<http.IncomingMessage> {
  const mod = url.protocol === 'https:' ? https : url.protocol === 'http:' ? http : null;
  if (!mod) return Promise.reject(new TypeError(`unsupported URL scheme: ${url.protocol}`));
  return new Promise((resolve, reject) => {
    const req = mod.request(url, { method, agent: agents[url.protocol as 'http:' | 'https:'], headers, signal }, (res) => {
      body?.destroy(); // an early answer (e.g. 403): stop reading the file
      resolve(res);
    });
    req.on('error', (e) => {
      body?.destroy();
      reject(asNetworkError(e));
    });
    if (!body) {
      req.end();
      return;
    }
    body.on('error', (e) => req.destroy(e));
    body.pipe(req);
  });
}

async function* networkErrorsAsTypeErrors(body: Readable): AsyncGenerator<Uint8Array> {
  try {
    for await (const chunk of body) yield chunk as Buffer;
  } catch (e) {
    throw asNetworkError(e);
  } finally {
    body.destroy();
  }
}

async function readText(body: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of networkErrorsAsTypeErrors(body)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function asNetworkError(e: unknown): unknown {
  const name = (e as { name?: unknown } | null)?.name;
  if (name === 'AbortError' || name === 'TimeoutError') return e;
  return new TypeError(`network failure: ${(e as Error)?.message ?? String(e)}`, { cause: e });
}
