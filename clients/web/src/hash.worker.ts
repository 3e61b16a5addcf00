/**
 * A Web Worker hashing parts of a File: SHA-256 (and MD5 when asked) of each part.
 * Messages: { id, file, offset, size, md5 } in, { id, progress } as bytes are hashed, then
 * { id, sha256, md5? } or { id, error }.
 *
 * A part up to ONE_SHOT bytes is read whole and its SHA-256 taken by WebCrypto (native code,
 * SHA extensions where the CPU has them: several times hash-wasm's speed), while MD5 runs in
 * hash-wasm over the same bytes at the same time. A larger part, or a page that is not a
 * secure context (no crypto.subtle: plain http to a host other than localhost), is read in
 * 4 MiB slices through hash-wasm, so a part never sits in memory twice.
 */
import { createMD5, createSHA256, md5 as md5Of } from 'hash-wasm';

const SLICE = 4 * 1024 * 1024;
const ONE_SHOT = 32 * 1024 * 1024;

interface Job { id: number; file: Blob; offset: number; size: number; md5: boolean }

function hex(buf: ArrayBuffer): string {
  return Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');
}

async function oneShot({ id, file, offset, size, md5 }: Job): Promise<{ sha256: string; md5?: string }> {
  const bytes = await file.slice(offset, offset + size).arrayBuffer();
  const [sha, m] = await Promise.all([crypto.subtle.digest('SHA-256', bytes), md5 ? md5Of(new Uint8Array(bytes)) : undefined]);
  postMessage({ id, progress: size });
  return { sha256: hex(sha), ...(m ? { md5: m } : {}) };
}

async function streamed({ id, file, offset, size, md5 }: Job): Promise<{ sha256: string; md5?: string }> {
  const sha = await createSHA256();
  const m = md5 ? await createMD5() : null;
  sha.init();
  m?.init();
  for (let at = offset; at < offset + size; at += SLICE) {
    const bytes = new Uint8Array(await file.slice(at, Math.min(at + SLICE, offset + size)).arrayBuffer());
    sha.update(bytes);
    m?.update(bytes);
    postMessage({ id, progress: bytes.length });
  }
  return { sha256: sha.digest('hex'), ...(m ? { md5: m.digest('hex') } : {}) };
}

self.onmessage = async (ev: MessageEvent<Job>) => {
  const job = ev.data;
  try {
    const fast = job.size <= ONE_SHOT && typeof crypto !== 'undefined' && !!crypto.subtle;
    postMessage({ id: job.id, ...(await (fast ? oneShot(job) : streamed(job))) });
  } catch (e) {
    postMessage({ id: job.id, error: String((e as Error)?.message ?? e) });
  }
};
