/**
 * The browser layer of the SDK's upload protocol (clients/sdk/upload-core.ts): a File hashed
 * in Web Workers, in content-defined parts where the plan allows (the SDK's chunker), its parts
 * PUT with XMLHttpRequest (upload progress) straight to the presigned URLs. Content-defined
 * parts without MD5 are cut and hashed in one pass in one worker (cut.worker.ts: the file read
 * once, each part's SHA-256 taken by WebCrypto as soon as its end is found); with MD5 (or
 * without WebCrypto) the cut runs here and each part is hashed in the pool (hash.worker.ts).
 * Planning, begin/resume, part scheduling, retries, URL refresh, confirm and complete are the
 * SDK's; nothing of the protocol is repeated here.
 */
import { sha256 } from 'hash-wasm';
import { uploadSource, type UploadOptions, type UploadResult, type UploadSource } from '../../sdk/upload-core';
import type { GraphQLTransport } from '../../sdk/graphql';
import type { FileDigest, PartDigest } from '../../sdk/digest';
import { Chunker, type ChunkParams } from '../../sdk/chunker';

type Pending = { resolve: (v: { sha256: string; md5?: string }) => void; reject: (e: Error) => void; progress: (n: number) => void };

/** A small pool of hash workers shared by every upload of the page. */
class HashPool {
  private workers: { w: Worker; busy: boolean }[] = [];
  private queue: (() => void)[] = [];
  private pending = new Map<number, Pending>();
  private nextId = 1;

  private worker(): Promise<{ w: Worker; busy: boolean }> {
    const free = this.workers.find((x) => !x.busy);
    if (free) { free.busy = true; return Promise.resolve(free); }
    if (this.workers.length < Math.max(2, Math.min(4, navigator.hardwareConcurrency || 2))) {
      const w = new Worker(new URL('./hash.worker.ts', import.meta.url), { type: 'module' });
      w.onmessage = (ev) => {
        const { id, progress, error, sha256: sha, md5 } = ev.data;
        const p = this.pending.get(id);
        if (!p) return;
        if (progress) return p.progress(progress);
        this.pending.delete(id);
        if (error) p.reject(new Error(error));
        else p.resolve({ sha256: sha, md5 });
      };
      const slot = { w, busy: true };
      this.workers.push(slot);
      return Promise.resolve(slot);
    }
    return new Promise((resolve) => this.queue.push(() => resolve(this.worker())));
  }

  async hash(file: Blob, offset: number, size: number, md5: boolean, progress: (n: number) => void): Promise<{ sha256: string; md5?: string }> {
    const slot = await this.worker();
    try {
      const id = this.nextId++;
      return await new Promise((resolve, reject) => {
        this.pending.set(id, { resolve, reject, progress });
        slot.w.postMessage({ id, file, offset, size, md5 });
      });
    } finally {
      slot.busy = false;
      this.queue.shift()?.();
    }
  }
}

const pool = new HashPool();

function hexToBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Parts of `partSize` bytes, as the SDK's planParts (a zero-byte file is one empty part). */
function spans(size: number, partSize: number): { partNumber: number; offset: number; size: number }[] {
  if (size === 0) return [{ partNumber: 1, offset: 0, size: 0 }];
  const out = [];
  for (let offset = 0, n = 1; offset < size; offset += partSize, n++) out.push({ partNumber: n, offset, size: Math.min(partSize, size - offset) });
  return out;
}

/**
 * Content-defined parts of `file` (clients/sdk/chunker.ts, as the Node SDK cuts them), read in
 * 4 MiB slices; `onSpan` hears each part as soon as its end is known.
 */
async function chunkedSpans(file: Blob, params: ChunkParams, onSpan: (s: { partNumber: number; offset: number; size: number }) => void, signal?: AbortSignal): Promise<void> {
  const chunker = new Chunker(params);
  let start = 0;
  let n = 1;
  const slice = 4 * 1024 * 1024;
  for (let pos = 0; pos < file.size; pos += slice) {
    signal?.throwIfAborted();
    for (const end of chunker.push(new Uint8Array(await file.slice(pos, pos + slice).arrayBuffer()))) {
      onSpan({ partNumber: n++, offset: start, size: end - start });
      start = end;
    }
  }
  if (start < file.size || file.size === 0) onSpan({ partNumber: n, offset: start, size: file.size - start });
}

/**
 * Cuts and hashes `file` in one pass in a dedicated worker (cut.worker.ts); the parts in order.
 * Rejects with the signal's reason when aborted (the worker is ended) or with the worker's error.
 */
function cutAndHashInWorker(file: Blob, params: ChunkParams, signal?: AbortSignal, onProgress?: (done: number, total: number) => void): Promise<PartDigest[]> {
  signal?.throwIfAborted();
  const w = new Worker(new URL('./cut.worker.ts', import.meta.url), { type: 'module' });
  const parts: PartDigest[] = [];
  let done = 0;
  let onAbort = () => undefined as void;
  return new Promise<PartDigest[]>((resolve, reject) => {
    onAbort = () => reject(signal!.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    w.onmessage = (ev) => {
      const m = ev.data;
      if (m.span) parts[m.span.partNumber - 1] = m.span;
      else if (m.progress) { done += m.progress; onProgress?.(done, file.size); }
      else if (m.error) reject(new Error(m.error));
      else if (m.done) {
        if (parts.length === m.parts && parts.every(Boolean)) resolve(parts);
        else reject(new Error(`cut worker: ${parts.filter(Boolean).length} of ${m.parts} parts`));
      }
    };
    w.onerror = (ev) => reject(new Error(`cut worker: ${ev.message}`));
    w.postMessage({ file, params });
  }).finally(() => {
    signal?.removeEventListener('abort', onAbort);
    w.terminate();
  });
}

/**
 * Hashes `file` in parts on the worker pool (content-defined when `chunking` is given, else of
 * `partSize` bytes); the content hash is SHA-256 over the binary part digests.
 */
export async function hashFile(file: Blob, partSize: number, md5: boolean, signal?: AbortSignal, onProgress?: (done: number, total: number) => void, chunking?: ChunkParams): Promise<FileDigest> {
  let done = 0;
  const jobs: Promise<PartDigest>[] = [];
  const hashSpan = (s: { partNumber: number; offset: number; size: number }) => {
    signal?.throwIfAborted();
    const job = pool.hash(file, s.offset, s.size, md5, (n) => { done += n; onProgress?.(done, file.size); })
      .then((h) => ({ ...s, sha256: h.sha256, ...(h.md5 ? { md5: h.md5 } : {}) }));
    job.catch(() => undefined); // awaited below; a failure before then must not go unhandled
    jobs.push(job);
  };
  let parts: PartDigest[];
  if (chunking && !md5 && typeof crypto !== 'undefined' && !!crypto.subtle) {
    parts = await cutAndHashInWorker(file, chunking, signal, onProgress);
  } else {
    if (chunking) await chunkedSpans(file, chunking, hashSpan, signal);
    else spans(file.size, partSize).forEach(hashSpan);
    parts = await Promise.all(jobs);
  }
  signal?.throwIfAborted();
  const joined = new Uint8Array(parts.length * 32);
  parts.forEach((p, i) => joined.set(hexToBytes(p.sha256), i * 32));
  return { size: file.size, parts, contentHash: await sha256(joined) };
}

/** PUTs `body` with XHR; rejects with a TypeError on network failure (retried by the SDK) and an AbortError on abort. */
function xhrPut(url: URL, method: string, headers: Record<string, string>, body: Blob, count: (n: number) => void, signal: AbortSignal) {
  return new Promise<{ status: number; header(name: string): string | null; text(): Promise<string> }>((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, url.href);
    for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() !== 'content-length') xhr.setRequestHeader(k, v);
    let sent = 0;
    xhr.upload.onprogress = (ev) => { count(ev.loaded - sent); sent = ev.loaded; };
    const onAbort = () => xhr.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    xhr.onload = () => {
      signal.removeEventListener('abort', onAbort);
      if (sent < body.size) count(body.size - sent);
      resolve({ status: xhr.status, header: (n) => xhr.getResponseHeader(n), text: async () => xhr.responseText });
    };
    xhr.onerror = () => { signal.removeEventListener('abort', onAbort); reject(new TypeError(`network error sending to ${url.host}`)); };
    xhr.onabort = () => reject(signal.reason ?? new DOMException('aborted', 'AbortError'));
    xhr.send(body);
  });
}

/** The UploadSource of a browser File. */
export function fileSource(file: File): UploadSource {
  return {
    name: file.name,
    size: file.size,
    hash: (partSize, o) => hashFile(file, partSize, o.md5, o.signal, o.onProgress, o.chunking),
    put: (url, method, headers, part, count, signal) => xhrPut(url, method, headers, file.slice(part.offset, part.offset + part.size), count, signal),
    changed: async () => false,
  };
}

/** Uploads a browser File through the SDK's protocol core. */
export function uploadBrowserFile(api: GraphQLTransport, file: File, remotePath: string, opts: UploadOptions = {}): Promise<UploadResult> {
  return uploadSource(api, fileSource(file), remotePath, { concurrency: 4, mimeType: file.type || undefined, ...opts });
}
