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
import { TesseraError } from './errors';
import { rawRangeGet, UnsupportedResponse } from './raw-get';

/**
 * Default idle timeout of a part transfer: a request whose connection moves no byte (sending
 * or receiving) for this long fails as a network failure (and is retried like one).
 */
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;

/** Per-request transfer options. */
export interface TransferOptions {
  /** Idle timeout in ms (default DEFAULT_IDLE_TIMEOUT_MS); not applied to a custom `fetchImpl`. */
  idleTimeoutMs?: number;
}

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
export async function rangeGet(url: URL, offset: number, length: number, signal: AbortSignal, fetchImpl?: typeof fetch, opts: TransferOptions = {}): Promise<PartResponse> {
  const headers = { range: `bytes=${offset}-${offset + length - 1}` };
  const idleMs = opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  if (fetchImpl) return fromFetch(await fetchImpl(url, { headers, signal }));
  if (url.protocol === 'http:') {
    try {
      return await rawRangeGet(url, offset, length, signal, idleMs);
    } catch (e) {
      if (!(e instanceof UnsupportedResponse)) throw e;
    }
  }
  return fromNode(await request(url, 'GET', headers, null, signal, idleMs));
}

/**
 * Sends `size` bytes of the file at `path` from `offset` as the body of a `method` request
 * (`content-length` is set unless given); `onBytes` hears every chunk read for sending. A file
 * that no longer has those bytes (it shrank, or vanished) rejects with TesseraError CHANGED
 * at once, the request cut before its promised length (never retried: the bytes are not there).
 */
export async function filePut(
  url: URL, method: string, headers: Record<string, string>, file: { path: string; offset: number; size: number },
  onBytes: (n: number) => void, signal: AbortSignal, fetchImpl?: typeof fetch, opts: TransferOptions = {},
): Promise<PartResponse> {
  const body = () => {
    if (file.size === 0) return null;
    const stream = Readable.from(exactRange(file), { objectMode: false, highWaterMark: 1024 * 1024 });
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
  return fromNode(await request(url, method, all, body(), signal, opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS));
}

/** Sends `body` (bytes already in memory) as the body of a `method` request; `content-length` is set unless given. */
export async function bufferPut(url: URL, method: string, headers: Record<string, string>, body: Buffer, signal: AbortSignal, opts: TransferOptions = {}): Promise<PartResponse> {
  const all = Object.keys(headers).some((k) => k.toLowerCase() === 'content-length') ? headers : { ...headers, 'content-length': String(body.length) };
  return fromNode(await request(url, method, all, body, signal, opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS));
}

/** Exactly `size` bytes of the file from `offset`; TesseraError CHANGED when it has fewer or cannot be opened any more (ENOENT). */
async function* exactRange(file: { path: string; offset: number; size: number }): AsyncGenerator<Buffer> {
  let sent = 0;
  try {
    for await (const chunk of createReadStream(file.path, { start: file.offset, end: file.offset + file.size - 1, highWaterMark: 1024 * 1024 })) {
      sent += (chunk as Buffer).length;
      yield chunk as Buffer;
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new TesseraError('CHANGED', `${file.path} vanished while it was being uploaded`, { cause: e });
    throw e;
  }
  if (sent < file.size) {
    throw new TesseraError('CHANGED', `${file.path} shrank while it was being uploaded (${file.offset + sent} bytes, ${file.offset + file.size} hashed); run the upload again`);
  }
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

/**
 * One request (the body a stream, bytes in memory, or none); its socket may stay idle (nothing sent or received) at most `idleMs`, through the
 * whole exchange until the response body is read, or the request is destroyed (a network
 * failure). A failure of the body (e.g. CHANGED from `exactRange`) rejects as itself.
 */
function request(url: URL, method: string, headers: Record<string, string>, bytes: Readable | Buffer | null, signal: AbortSignal, idleMs: number): Promise<http.IncomingMessage> {
  const body = bytes instanceof Readable ? bytes : null;
  const mod = url.protocol === 'https:' ? https : url.protocol === 'http:' ? http : null;
  if (!mod) return Promise.reject(new TypeError(`unsupported URL scheme: ${url.protocol}`));
  return new Promise((resolve, reject) => {
    let bodyFailure: unknown = null;
    const req = mod.request(url, { method, agent: agents[url.protocol as 'http:' | 'https:'], headers, signal }, (res) => {
      body?.destroy(); // an early answer (e.g. 403): stop reading the file
      resolve(res);
    });
    req.setTimeout(idleMs, () => req.destroy(new TypeError(`network failure: no data moved for ${idleMs} ms`)));
    req.on('error', (e) => {
      body?.destroy();
      reject(bodyFailure ?? asNetworkError(e));
    });
    if (!body) {
      req.end(Buffer.isBuffer(bytes) ? bytes : undefined);
      return;
    }
    body.on('error', (e) => {
      bodyFailure ??= e;
      req.destroy(e);
    });
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
