/**
 * Ranged GETs for downloads. With no custom `fetch`, requests go through node:http(s) on a
 * keep-alive agent: reading 1 GiB in 8 MiB ranges from RGW took 2.1 s this way and 2.6 s
 * through fetch's web streams on the bench machine (docs/benchmarks.md). Errors look like
 * fetch's: a request that fails for network reasons (refused, reset, cut mid-body) rejects
 * with a TypeError (see `isNetworkFailure`), an aborted one with the signal's AbortError.
 */
import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';

/** What a download needs of an HTTP response. */
export interface RangeResponse {
  status: number;
  /** The body; iterate it once, or call `text()`. */
  body: AsyncIterable<Uint8Array>;
  text(): Promise<string>;
}

const agents = {
  'http:': new http.Agent({ keepAlive: true, maxSockets: 64 }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: 64 }),
};

/** GETs `bytes=offset..offset+length-1` of `url`, through `fetchImpl` when one is given. */
export async function rangeGet(url: URL, offset: number, length: number, signal: AbortSignal, fetchImpl?: typeof fetch): Promise<RangeResponse> {
  const range = `bytes=${offset}-${offset + length - 1}`;
  if (fetchImpl) {
    const res = await fetchImpl(url, { headers: { range }, signal });
    return { status: res.status, body: res.body as unknown as AsyncIterable<Uint8Array>, text: () => res.text() };
  }
  const res = await request(url, range, signal);
  return { status: res.statusCode ?? 0, body: networkErrorsAsTypeErrors(res), text: () => readText(res) };
}

function request(url: URL, range: string, signal: AbortSignal): Promise<http.IncomingMessage> {
  const mod = url.protocol === 'https:' ? https : url.protocol === 'http:' ? http : null;
  if (!mod) return Promise.reject(new TypeError(`unsupported URL scheme: ${url.protocol}`));
  return new Promise((resolve, reject) => {
    const req = mod.get(url, { agent: agents[url.protocol as 'http:' | 'https:'], headers: { range }, signal }, resolve);
    req.on('error', (e) => reject(asNetworkError(e)));
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
