import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { giveBuffer } from './buffer-pool';
import { TesseraError } from './errors';
import type { PartDigest, PartSpan } from './hashing';

/**
 * Hashes on worker threads, so SHA-256 and MD5 of a large file use every core while the file
 * is still read once. Two kinds of job: a byte range of a file, which the worker reads itself
 * (from the page cache for data just written), and a stream, whose bytes the caller hands
 * over buffer by buffer (transferred, not copied: a download hashes what it received without
 * reading it back). The worker is plain JS, evaluated from a string, so it runs the same from
 * dist/ and under a test transformer.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const crypto = require('node:crypto');
const buf = Buffer.allocUnsafe(1 << 20);
const streams = new Map();
const RECYCLE_MIN = 1 << 20;
function hashRange({ path, offset, size, md5 }) {
  const fd = fs.openSync(path, 'r');
  try {
    const sha = crypto.createHash('sha256');
    const m = md5 ? crypto.createHash('md5') : null;
    let pos = offset;
    let left = size;
    while (left > 0) {
      const n = fs.readSync(fd, buf, 0, Math.min(buf.length, left), pos);
      if (n === 0) throw Object.assign(new Error('the file became shorter while it was hashed'), { code: 'CHANGED' });
      const chunk = buf.subarray(0, n);
      sha.update(chunk);
      if (m) m.update(chunk);
      pos += n;
      left -= n;
    }
    return { sha256: sha.digest('hex'), md5: m ? m.digest('hex') : undefined };
  } finally {
    fs.closeSync(fd);
  }
}
parentPort.on('message', (msg) => {
  const { id, op } = msg;
  try {
    if (op === 'range') return parentPort.postMessage({ id, ...hashRange(msg) });
    if (op === 'update') {
      let h = streams.get(id);
      if (!h) streams.set(id, (h = crypto.createHash('sha256')));
      for (const c of msg.chunks) h.update(c);
      // large batch buffers go back to the caller for reuse (see buffer-pool.ts)
      const spare = msg.chunks.filter((c) => c.byteLength >= RECYCLE_MIN && c.byteOffset === 0 && c.byteLength === c.buffer.byteLength).map((c) => c.buffer);
      if (spare.length) parentPort.postMessage({ recycle: spare }, spare);
      return;
    }
    const h = streams.get(id) || crypto.createHash('sha256');
    streams.delete(id);
    if (op === 'end') parentPort.postMessage({ id, sha256: h.digest('hex') });
  } catch (e) {
    streams.delete(id);
    parentPort.postMessage({ id, error: String((e && e.message) || e), code: e && e.code });
  }
});
`;

interface Reply { id: number; sha256?: string; md5?: string; error?: string; code?: string; recycle?: ArrayBuffer[] }
interface Pending { resolve(r: Reply): void; reject(e: unknown): void }
interface Lane { worker: Worker; pending: Map<number, Pending>; load: number; dead?: unknown }

/** A SHA-256 fed buffer by buffer on a worker thread; see HashPool.stream. */
export interface StreamHasher {
  /**
   * Hands `chunks` to the worker in order. Their memory moves to the worker (the caller must
   * not touch them afterwards); a chunk that shares its memory with other data is copied first.
   */
  update(chunks: readonly Uint8Array[]): void;
  /** SHA-256 (hex) of everything handed over; rejects if the worker failed. */
  digest(): Promise<string>;
  /** Forgets the stream (after a failed transfer). */
  drop(): void;
}

/**
 * Worker threads that hash byte ranges of files and streams of buffers, so the caller's thread
 * spends nothing on the bytes. A job goes to the worker with the least work queued; a stream
 * stays on one worker. `close()` ends the threads; jobs still pending then reject.
 */
export class HashPool {
  private readonly lanes: Lane[];
  private nextId = 1;
  private closed = false;

  constructor(threads: number) {
    this.lanes = Array.from({ length: Math.max(1, threads) }, () => {
      const lane: Lane = { worker: new Worker(WORKER_SOURCE, { eval: true }), pending: new Map(), load: 0 };
      lane.worker.on('message', (r: Reply) => {
        if (r.recycle) return r.recycle.forEach(giveBuffer);
        const p = lane.pending.get(r.id);
        lane.pending.delete(r.id);
        p?.resolve(r);
      });
      lane.worker.on('error', (e) => this.failLane(lane, e));
      lane.worker.on('exit', () => this.failLane(lane, (lane.dead ??= new Error('hash worker exited'))));
      return lane;
    });
  }

  /** SHA-256 (and MD5 if asked) of `size` bytes at `offset` of the file at `path`. */
  async hash(path: string, offset: number, size: number, md5 = false): Promise<{ sha256: string; md5?: string }> {
    const lane = this.pick();
    lane.load += size;
    try {
      const r = await this.call(lane, { op: 'range', path, offset, size, md5 });
      if (r.code === 'CHANGED' || r.code === 'ENOENT') throw new TesseraError('CHANGED', `hashing ${path}: ${r.error}`);
      if (r.error || !r.sha256) throw new Error(`hashing ${path}: ${r.error ?? 'no digest'}`);
      return { sha256: r.sha256, ...(r.md5 ? { md5: r.md5 } : {}) };
    } finally {
      lane.load -= size;
    }
  }

  /** A SHA-256 fed with buffers as they arrive, computed on one worker. */
  stream(): StreamHasher {
    if (this.closed) throw new Error('hash pool closed');
    const lane = this.pick();
    const id = this.nextId++;
    let queued = 0;
    let ended = false;
    return {
      update: (chunks) => {
        if (ended || !chunks.length) return;
        const own = chunks.map((c) => (c.byteOffset === 0 && c.byteLength === c.buffer.byteLength && c.buffer instanceof ArrayBuffer ? c : c.slice()));
        const bytes = own.reduce((n, c) => n + c.byteLength, 0);
        queued += bytes;
        lane.load += bytes;
        try {
          lane.worker.postMessage({ id, op: 'update', chunks: own }, own.map((c) => c.buffer as ArrayBuffer));
        } catch {
          lane.worker.postMessage({ id, op: 'update', chunks: own.map((c) => c.slice()) }); // memory the runtime will not let go
        }
      },
      digest: async () => {
        ended = true;
        try {
          const r = await this.call(lane, { op: 'end' }, id);
          if (r.error || !r.sha256) throw new Error(`hashing a stream: ${r.error ?? 'no digest'}`);
          return r.sha256;
        } finally {
          lane.load -= queued;
        }
      },
      drop: () => {
        if (ended) return;
        ended = true;
        lane.load -= queued;
        if (!this.closed) lane.worker.postMessage({ id, op: 'drop' });
      },
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.lanes.map((l) => l.worker.terminate()));
  }

  private pick(): Lane {
    return this.lanes.reduce((best, l) => (l.load < best.load ? l : best));
  }

  private call(lane: Lane, msg: Record<string, unknown>, id = this.nextId++): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      if (this.closed) return reject(new Error('hash pool closed'));
      if (lane.dead) return reject(lane.dead);
      lane.pending.set(id, { resolve, reject });
      lane.worker.postMessage({ ...msg, id });
    });
  }

  private failLane(lane: Lane, e: unknown): void {
    for (const p of lane.pending.values()) p.reject(this.closed ? new Error('hash pool closed') : e);
    lane.pending.clear();
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
