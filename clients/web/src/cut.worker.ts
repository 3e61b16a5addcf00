/**
 * A Web Worker that cuts a File into content-defined parts (the SDK's chunker,
 * clients/sdk/chunker.ts, the same cut as every client's) and takes each part's SHA-256 in the
 * same pass: the file is read once, in SLICE-byte slices READ_AHEAD ahead of the cut, and as soon as the cut has found a
 * part's end the part's bytes (still held from the read) go to WebCrypto, whose digest runs
 * while the cut goes on. So cutting and hashing overlap, off the page's thread.
 *
 * Messages: { file, params } in; { span: PartDigest } for each part as its digest is known (in
 * any order), { progress: n } as bytes are hashed, then { done: true, parts: n } or { error }.
 * Needs crypto.subtle (a secure context); the caller falls back to hash.worker.ts without it.
 */
import { Chunker, type ChunkParams } from '../../sdk/chunker';

/** Bytes read at a time: larger reads cost fewer round trips to the browser's blob store. */
const SLICE = 16 * 1024 * 1024;
/** Reads started ahead of the cut (the browser reads the file while this thread cuts). */
const READ_AHEAD = 2;
/** Digests in flight at most (each holds its part's bytes). */
const MAX_IN_FLIGHT = 4;

interface Job { file: Blob; params: ChunkParams }

function hex(buf: ArrayBuffer): string {
  const b = new Uint8Array(buf);
  let s = '';
  for (let i = 0; i < b.length; i++) s += (b[i] < 16 ? '0' : '') + b[i].toString(16);
  return s;
}

/** The bytes read so far that the current part still needs, by their offset in the file. */
class Held {
  private slices: { at: number; bytes: Uint8Array<ArrayBuffer> }[] = [];

  add(at: number, bytes: Uint8Array<ArrayBuffer>): void {
    this.slices.push({ at, bytes });
  }

  /** The bytes [from, to) (one copy when they span slices); drops slices wholly before `to`. */
  take(from: number, to: number): Uint8Array<ArrayBuffer> {
    const parts = this.slices.filter((s) => s.at < to && s.at + s.bytes.length > from);
    let out: Uint8Array<ArrayBuffer>;
    if (parts.length === 1) {
      out = parts[0].bytes.subarray(from - parts[0].at, to - parts[0].at);
    } else {
      out = new Uint8Array(to - from);
      for (const s of parts) {
        const a = Math.max(from, s.at);
        const b = Math.min(to, s.at + s.bytes.length);
        out.set(s.bytes.subarray(a - s.at, b - s.at), a - from);
      }
    }
    this.slices = this.slices.filter((s) => s.at + s.bytes.length > to);
    return out;
  }
}

async function cutAndHash({ file, params }: Job): Promise<number> {
  const chunker = new Chunker(params);
  const held = new Held();
  const inFlight = new Set<Promise<void>>();
  let start = 0;
  let partNumber = 1;
  const digest = (offset: number, size: number) => {
    const n = partNumber++;
    const bytes = held.take(offset, offset + size);
    const job = crypto.subtle.digest('SHA-256', bytes).then((d) => {
      postMessage({ span: { partNumber: n, offset, size, sha256: hex(d) } });
      postMessage({ progress: size });
    });
    inFlight.add(job);
    void job.finally(() => inFlight.delete(job)).catch(() => undefined);
  };
  const reads: Promise<ArrayBuffer>[] = [];
  const read = (at: number) => {
    if (at >= file.size) return;
    const r = file.slice(at, at + SLICE).arrayBuffer();
    r.catch(() => undefined); // awaited in turn; one failing after an earlier error must not go unhandled
    reads.push(r);
  };
  for (let k = 0; k < READ_AHEAD; k++) read(k * SLICE);
  for (let pos = 0; pos < file.size; pos += SLICE) {
    const bytes = new Uint8Array(await reads.shift()!);
    read(pos + READ_AHEAD * SLICE);
    held.add(pos, bytes);
    for (const end of chunker.push(bytes)) {
      digest(start, end - start);
      start = end;
    }
    while (inFlight.size >= MAX_IN_FLIGHT) await Promise.race(inFlight);
  }
  if (start < file.size || file.size === 0) digest(start, file.size - start);
  await Promise.all(inFlight);
  return partNumber - 1;
}

self.onmessage = async (ev: MessageEvent<Job>) => {
  try {
    postMessage({ done: true, parts: await cutAndHash(ev.data) });
  } catch (e) {
    postMessage({ error: String((e as Error)?.message ?? e) });
  }
};
