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

function run(worker: Worker, job: { path: string; offset: number; size: number; md5: boolean }): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: Reply) => { worker.off('error', onError); resolve(m); };
    const onError = (e: Error) => { worker.off('message', onMessage); reject(e); };
    worker.once('message', onMessage);
    worker.once('error', onError);
    worker.postMessage(job);
  });
}

/** Digests of `spans` of the file at `path`, in order; rejects on a read error or abort. */
export async function hashSpansInWorkers(
  path: string,
  spans: PartSpan[],
  opts: { md5?: boolean; signal?: AbortSignal; onPart?: (span: PartSpan) => void; threads?: number } = {},
): Promise<PartDigest[]> {
  const threads = Math.max(1, Math.min(opts.threads ?? os.availableParallelism(), 4, spans.length));
  const workers = Array.from({ length: threads }, () => new Worker(WORKER_SOURCE, { eval: true }));
  const out: PartDigest[] = new Array(spans.length);
  let next = 0;
  try {
    await Promise.all(workers.map(async (worker) => {
      while (next < spans.length) {
        opts.signal?.throwIfAborted();
        const i = next++;
        const span = spans[i];
        const r = await run(worker, { path, offset: span.offset, size: span.size, md5: !!opts.md5 });
        if (r.error || !r.sha256) throw new Error(`hashing ${path}: ${r.error ?? 'no digest'}`);
        out[i] = { ...span, sha256: r.sha256, ...(r.md5 ? { md5: r.md5 } : {}) };
        opts.onPart?.(span);
      }
    }));
    return out;
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
