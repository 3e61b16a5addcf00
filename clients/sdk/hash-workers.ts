import os from 'node:os';
import { Worker } from 'node:worker_threads';
import type { PartDigest, PartSpan } from './hashing';

/**
 * Hashes the parts of a file on worker threads, one part per job, so SHA-256 and MD5 of a
 * large file use every core while the file is still read once. The worker is plain JS,
 * evaluated from a string, so it runs the same from dist/ and under a test transformer.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const crypto = require('node:crypto');
const buf = Buffer.allocUnsafe(1 << 20);
parentPort.on('message', ({ path, offset, size, md5 }) => {
  try {
    const fd = fs.openSync(path, 'r');
    try {
      const sha = crypto.createHash('sha256');
      const m = md5 ? crypto.createHash('md5') : null;
      let pos = offset;
      let left = size;
      while (left > 0) {
        const n = fs.readSync(fd, buf, 0, Math.min(buf.length, left), pos);
        if (n === 0) throw new Error('the file became shorter while it was hashed');
        const chunk = buf.subarray(0, n);
        sha.update(chunk);
        if (m) m.update(chunk);
        pos += n;
        left -= n;
      }
      parentPort.postMessage({ sha256: sha.digest('hex'), md5: m ? m.digest('hex') : undefined });
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    parentPort.postMessage({ error: String((e && e.message) || e) });
  }
});
`;

interface Reply { sha256?: string; md5?: string; error?: string }
interface Job { path: string; offset: number; size: number; md5: boolean }

/**
 * Worker threads that hash byte ranges of files, each reading the range itself (from the page
 * cache for data just written), so the caller's thread spends nothing on the bytes. Jobs queue
 * for the first free worker. `close()` ends the threads; jobs still queued then reject.
 */
export class HashPool {
  private readonly idle: Worker[];
  private readonly all: Worker[];
  private readonly queue: { job: Job; resolve(r: Reply): void; reject(e: unknown): void }[] = [];
  private closed = false;

  constructor(threads: number) {
    this.all = Array.from({ length: Math.max(1, threads) }, () => new Worker(WORKER_SOURCE, { eval: true }));
    this.idle = [...this.all];
  }

  /** SHA-256 (and MD5 if asked) of `size` bytes at `offset` of the file at `path`. */
  async hash(path: string, offset: number, size: number, md5 = false): Promise<{ sha256: string; md5?: string }> {
    const r = await new Promise<Reply>((resolve, reject) => {
      if (this.closed) return reject(new Error('hash pool closed'));
      this.queue.push({ job: { path, offset, size, md5 }, resolve, reject });
      this.dispatch();
    });
    if (r.error || !r.sha256) throw new Error(`hashing ${path}: ${r.error ?? 'no digest'}`);
    return { sha256: r.sha256, ...(r.md5 ? { md5: r.md5 } : {}) };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const q of this.queue.splice(0)) q.reject(new Error('hash pool closed'));
    await Promise.all(this.all.map((w) => w.terminate()));
  }

  private dispatch(): void {
    while (this.idle.length && this.queue.length) {
      const worker = this.idle.pop()!;
      const { job, resolve, reject } = this.queue.shift()!;
      const done = () => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        this.idle.push(worker);
        this.dispatch();
      };
      const onMessage = (m: Reply) => { done(); resolve(m); };
      const onError = (e: Error) => { done(); reject(e); };
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.postMessage(job);
    }
  }
}

/** Digests of `spans` of the file at `path`, in order; rejects on a read error or abort. */
export async function hashSpansInWorkers(
  path: string,
  spans: PartSpan[],
  opts: { md5?: boolean; signal?: AbortSignal; onPart?: (span: PartSpan) => void; threads?: number } = {},
): Promise<PartDigest[]> {
  const pool = new HashPool(Math.min(opts.threads ?? os.availableParallelism(), 4, spans.length));
  const out: PartDigest[] = new Array(spans.length);
  try {
    await Promise.all(spans.map(async (span, i) => {
      opts.signal?.throwIfAborted();
      out[i] = { ...span, ...(await pool.hash(path, span.offset, span.size, !!opts.md5)) };
      opts.signal?.throwIfAborted();
      opts.onPart?.(span);
    }));
    return out;
  } finally {
    await pool.close();
  }
}
