/**
 * A Web Worker hashing parts of a File: SHA-256 (and MD5 when asked) of each part, read in
 * 4 MiB slices so a part never sits in memory twice. Messages: { id, file, offset, size, md5 }
 * in, { id, sha256, md5?, done } out (done: bytes hashed so far, sent as it goes), or { id, error }.
 */
import { createMD5, createSHA256 } from 'hash-wasm';

const SLICE = 4 * 1024 * 1024;

interface Job { id: number; file: Blob; offset: number; size: number; md5: boolean }

self.onmessage = async (ev: MessageEvent<Job>) => {
  const { id, file, offset, size, md5 } = ev.data;
  try {
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
    postMessage({ id, sha256: sha.digest('hex'), md5: m?.digest('hex') });
  } catch (e) {
    postMessage({ id, error: String((e as Error)?.message ?? e) });
  }
};
