/**
 * Many small files (one part each) uploaded through the batch API: `beginUploads` for up to
 * BATCH files in one request, their PUTs straight to the store, then `completeUploads` for
 * the batch in one request. Several batches are in flight at once, so the server's work on one
 * overlaps the PUTs of the next. Per file, what the single-file upload guarantees holds: the
 * parts are hashed before begin (the PUT is bound to the SHA-256, the server checks the stored
 * object before its revision), an ACTIVE session for the same content is resumed, known content
 * completes at once by dedup. A file that fails (its coded error from the batch, a PUT refused)
 * is reported through `onFailure` and the others go on.
 */
import { TesseraError } from './errors';
import { causeMessage, type GraphQLTransport } from './graphql';
import { readFile } from 'node:fs/promises';
import { digestOfBuffer, hashFileParts } from './hashing';
import { bufferPut, filePut } from './part-http';
import { runPool } from './pool';
import { backoff, isNetworkFailure, isRetryableStatus } from './retry';
import type { FileInfo, PartUpload, UploadPlan, UploadSession } from './types';
import type { UploadResult } from './upload-core';
import type { FileDigest } from './digest';

/** Files per beginUploads / completeUploads request (the server takes up to 100). */
export const BATCH = 100;
/** Batches in flight at once: one being begun or completed while the others' PUTs run. */
const BATCHES_IN_FLIGHT = 3;
/**
 * Files of at most this size are read once: hashed in memory and PUT from the same bytes (at most
 * BATCHES_IN_FLIGHT × BATCH × 64 KiB = 19 MiB held), so what is sent is exactly what was hashed.
 * Larger ones are hashed from the file and streamed from it again for the PUT.
 */
const IN_MEMORY_MAX = 64 * 1024;

const PART_FIELDS = 'partNumber offset size sha256 status url method headers { name value } urlExpiresAt';
const FILE_FIELDS = 'id name path isFolder size mimeType contentHash status revision createdAt updatedAt';
export const BEGIN_UPLOADS = `mutation BeginUploads($inputs: [BeginUploadInput!]!) {
  beginUploads(inputs: $inputs) { index error { code message path } session {
    id path size partSize contentHash status expiresAt parts { ${PART_FIELDS} } file { ${FILE_FIELDS} } } } }`;
export const COMPLETE_UPLOADS = `mutation CompleteUploads($uploads: [CompleteUploadInput!]!) {
  completeUploads(uploads: $uploads) { index error { code message path missingParts } file { ${FILE_FIELDS} } } }`;

interface ItemError { code: string; message: string; path?: string | null }

export interface SmallFile {
  /** Local path. */
  path: string;
  remotePath: string;
  size: number;
}

export interface SmallFilesOptions {
  /** PUTs in flight at once across all batches. */
  concurrency: number;
  signal?: AbortSignal;
  /** A file is done: uploaded, or completed by dedup (`result.deduplicated`). */
  onDone: (file: SmallFile, result: UploadResult) => void;
  onFailure: (file: SmallFile, error: unknown) => void;
  onBytes?: (file: SmallFile, bytesDone: number) => void;
}

/** Whether `size` bytes go in one part under `plan` (what this module uploads). */
export function isSmall(size: number, plan: UploadPlan): boolean {
  return size <= Number(plan.minPartSize);
}

/** Uploads `files` (each of at most the plan's minimum part size) in batches; resolves once each file is done or failed; an abort rejects. */
export async function uploadSmallFiles(api: GraphQLTransport, plan: UploadPlan, files: SmallFile[], opts: SmallFilesOptions): Promise<void> {
  const batches: SmallFile[][] = [];
  for (let i = 0; i < files.length; i += BATCH) batches.push(files.slice(i, i + BATCH));
  const puts = new Slots(opts.concurrency);
  await runPool(batches, BATCHES_IN_FLIGHT, (batch, signal) => uploadBatch(api, plan, batch, opts, puts, signal), opts.signal);
}

async function uploadBatch(api: GraphQLTransport, plan: UploadPlan, batch: SmallFile[], opts: SmallFilesOptions, puts: Slots, signal: AbortSignal): Promise<void> {
  const md5 = plan.partChecksum === 'MD5';
  const hashed: { file: SmallFile; digest: FileDigest; bytes?: Buffer }[] = [];
  const partSize = Math.max(Number(plan.minPartSize), 1);
  await runPool(batch, 4, async (file) => {
    try {
      if (file.size <= IN_MEMORY_MAX) {
        const bytes = await readFile(file.path);
        // a file that grew past one part since the walk goes the file way (and fails there as any too-large file would)
        if (bytes.length <= partSize) return void hashed.push({ file, digest: digestOfBuffer(bytes, partSize, { md5 }), bytes });
      }
      hashed.push({ file, digest: await hashFileParts(file.path, partSize, { md5, signal }) });
    } catch (e) {
      if (signal.aborted) throw e;
      opts.onFailure(file, e);
    }
  }, signal);
  if (!hashed.length) return;
  const { beginUploads } = await api.request<{ beginUploads: { index: number; error: ItemError | null; session: UploadSession | null }[] }>(BEGIN_UPLOADS, {
    inputs: hashed.map(({ file, digest }) => ({
      path: file.remotePath, size: String(digest.size), contentHash: digest.contentHash,
      parts: digest.parts.map((p) => ({ partNumber: p.partNumber, size: String(p.size), sha256: p.sha256, ...(p.md5 ? { md5: p.md5 } : {}) })),
    })),
  }, signal);

  const bytesOf = new Map(hashed.map((h) => [h.file, h.bytes]));
  const sent: { file: SmallFile; session: UploadSession; parts: { partNumber: number; etag: string }[]; bytes: number; skipped: number }[] = [];
  await Promise.all(beginUploads.map(async ({ index, error, session }) => {
    const { file, digest } = hashed[index];
    if (error || !session) return opts.onFailure(file, itemError(error));
    if (session.status === 'COMPLETED' && session.file) {
      opts.onBytes?.(file, digest.size);
      return opts.onDone(file, { file: session.file, sessionId: session.id, deduplicated: true, bytesSent: 0, partsSent: 0, partsSkipped: digest.parts.length, partsCopied: 0 });
    }
    const todo = session.parts.filter((p) => p.status !== 'VERIFIED');
    try {
      const parts: { partNumber: number; etag: string }[] = [];
      let bytes = 0;
      for (const p of todo) {
        const part = digest.parts[p.partNumber - 1];
        parts.push({ partNumber: p.partNumber, etag: await puts.run(() => put(api, file, p, part, bytesOf.get(file), signal)) });
        bytes += part.size;
        opts.onBytes?.(file, bytes);
      }
      sent.push({ file, session, parts, bytes, skipped: session.parts.length - todo.length });
    } catch (e) {
      if (signal.aborted) throw e;
      opts.onFailure(file, e);
    }
  }));
  if (!sent.length) return;
  const { completeUploads } = await api.request<{ completeUploads: { index: number; error: ItemError | null; file: FileInfo | null }[] }>(COMPLETE_UPLOADS, {
    uploads: sent.map((s) => ({ sessionId: s.session.id, parts: s.parts })),
  }, signal);
  for (const { index, error, file } of completeUploads) {
    const s = sent[index];
    if (error || !file) opts.onFailure(s.file, itemError(error));
    else opts.onDone(s.file, { file, sessionId: s.session.id, deduplicated: false, bytesSent: s.bytes, partsSent: s.parts.length, partsSkipped: s.skipped, partsCopied: 0 });
  }
}

/** PUTs one part, from `bytes` (the whole file as hashed) or from the file (retried with backoff on network failures and 5xx); resolves with its ETag. */
async function put(api: GraphQLTransport, file: SmallFile, target: PartUpload, part: { offset: number; size: number }, bytes: Buffer | undefined, signal: AbortSignal): Promise<string> {
  if (!target.url) throw new TesseraError('PROTOCOL', `no URL for part ${target.partNumber} of ${file.path}`);
  const headers = Object.fromEntries(target.headers.map((h) => [h.name, h.value]));
  for (let attempt = 1; ; attempt++) {
    try {
      const url = new URL(target.url, api.server);
      const res = bytes
        ? await bufferPut(url, target.method || 'PUT', headers, bytes.subarray(part.offset, part.offset + part.size), signal)
        : await filePut(url, target.method || 'PUT', headers, { path: file.path, offset: part.offset, size: part.size }, () => undefined, signal);
      const text = await res.text().catch(() => '');
      if (res.status >= 200 && res.status < 300) {
        const etag = res.header('etag');
        if (!etag) throw new TesseraError('PROTOCOL', `${file.path}: store sent no ETag`);
        return etag.replace(/^W\//, '').replace(/"/g, '');
      }
      if (isRetryableStatus(res.status) && attempt < 5) {
        await backoff(attempt, signal);
        continue;
      }
      // 400: the bytes no longer match the hash the URL is bound to (the file changed since it was hashed)
      throw res.status === 400
        ? new TesseraError('CHANGED', `${file.path} changed while it was being uploaded (the store refused it); run the upload again`)
        : new TesseraError('STORE', `${file.path}: HTTP ${res.status} ${text.slice(0, 300)}`, { status: res.status });
    } catch (e) {
      if (!isNetworkFailure(e) || signal.aborted) throw e;
      if (attempt >= 5) throw new TesseraError('NETWORK', `${file.path}: ${causeMessage(e)}`, { cause: e });
      await backoff(attempt, signal);
    }
  }
}

function itemError(e: ItemError | null): TesseraError {
  return new TesseraError((e?.code ?? 'PROTOCOL') as never, e?.message ?? 'no result for this file');
}

/** At most `limit` tasks run at once; the others wait in order. */
class Slots {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((r) => this.waiting.push(r));
    this.active++;
    try {
      return await task();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

