/**
 * Parallel, verified, resumable download: fileByPath -> chunk list + downloadUrl -> ranged GETs
 * of every part not yet on disk, each streamed into `<dest>.tessera-partial` at its offset,
 * hashed as it arrives (on worker threads, which receive the written buffers without a copy,
 * when there are several parts; read back from the file otherwise) and recorded in
 * `<dest>.tessera-partial.json` only once its SHA-256 matches (a part that fails is fetched
 * again; the partial file is never the destination) ->
 * contentHash over the verified digests -> (fsync, when asked) -> atomic rename. A durable
 * download writes the partial file O_DSYNC (see openPartial), so the final fsync has little
 * left to write. A killed download
 * resumes by re-hashing the parts the sidecar lists (or every part present,
 * without a sidecar).
 */
import { createHash } from 'node:crypto';
import { renameSync } from 'node:fs';
import { copyFile, open, rename, stat, type FileHandle } from 'node:fs/promises';
import { chunkParams } from './chunker';
import { hashFileChunked } from './chunked-hashing';
import { TesseraError, isAbortError } from './errors';
import { causeMessage, type GraphQLTransport } from './graphql';
import { dropSpareBuffers } from './buffer-pool';
import { HashPool, type StreamHasher } from './hash-workers';
import { contentHashOf, hashFileRange, sha256Hex, WORKER_THRESHOLD_PARTS } from './hashing';
import { openPartial, PARTIAL_SUFFIX, SidecarFile, SyncPartial, verifyExisting, type DigestOf, type Part, type PartialWriter } from './partial';
import * as ops from './operations';
import { runPool } from './pool';
import type { ProgressCallback } from './progress';
import { rangeGet } from './part-http';
import { backoff, isNetworkFailure, isRetryableStatus } from './retry';
import type { FileWithChunks } from './types';

const WRITE_BATCH = 4 * 1024 * 1024;
/** A new one-part file of at most this size is written with synchronous calls (SyncPartial). */
const SYNC_WRITE_MAX = 64 * 1024;
/** Parts in flight by default: 8 measured faster than 4 or 12 against RGW (docs/benchmarks.md). */
export const DEFAULT_DOWNLOAD_CONCURRENCY = 8;

export interface DownloadOptions {
  /** Parts in flight at once (default DEFAULT_DOWNLOAD_CONCURRENCY). */
  concurrency?: number;
  /**
   * Flush the file to disk before it takes its name (default false), so that a power cut right
   * after the download cannot leave a file that differs from the cloud. Off by default, as in
   * aws-cli, rclone and cp: the bytes are verified either way, and a durable download is bound
   * by the disk's write speed (docs/benchmarks.md). Sync clients that record a download as
   * done should ask for it.
   */
  fsync?: boolean;
  /** Aborting keeps the partial file and its sidecar so a later run resumes. */
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
  /** Attempts per part on network errors, 5xx and digest mismatches (default 5). */
  partAttempts?: number;
  /** Lifetime asked for the download URL, in seconds. */
  urlExpiresIn?: number;
  /** Used for the part GETs instead of node:http(s) (tests inject faults with it). */
  fetch?: typeof fetch;
  /** A part GET whose connection moves no byte for this long fails (retried as a network failure); default 60 s. */
  idleTimeoutMs?: number;
  /**
   * The file as a listing gave it (`listFolderForDownload`: chunks and a download URL), so no
   * request is made for it; a URL that expired meanwhile is renewed as in any download.
   */
  file?: FileWithChunks;
  /**
   * The caller saw neither a partial download of this file nor its sidecar just before (a folder
   * download that listed the local folder): the partial file is then created exclusively and
   * nothing is read back or verified first. If one appeared meanwhile, the usual resume path runs.
   */
  fresh?: boolean;
  /**
   * An older local copy of the file (usually `localPath` itself before an update): its parts
   * that still match, at the same place or (content-defined parts) moved by an insertion or
   * deletion, are taken from it instead of the network, so an edit of a large file downloads
   * only the parts that changed. It seeds the partial file unless a partial download exists.
   */
  reuseFrom?: string;
}

export interface DownloadResult {
  file: FileWithChunks;
  localPath: string;
  /** Bytes fetched by this run (verified parts only). */
  bytesReceived: number;
  partsDownloaded: number;
  /** Parts taken from disk: verified from an earlier run, or from the older copy (`reuseFrom`), wherever they sat in it. */
  partsReused: number;
}

export { PARTIAL_SUFFIX };

/**
 * Downloads `remotePath` to `localPath`. Rejects with TesseraError: NOT_FOUND, BAD_USER_INPUT
 * (a folder), CONFLICT (the file changed mid-download), INTEGRITY, STORE, NETWORK; or with
 * the signal's reason when aborted.
 */
export async function downloadFile(api: GraphQLTransport, remotePath: string, localPath: string, opts: DownloadOptions = {}): Promise<DownloadResult> {
  const { signal } = opts;
  const file = opts.file ?? (await api.request<{ fileByPath: FileWithChunks | null }>(
    ops.FILE_FOR_DOWNLOAD, { path: remotePath, expiresIn: opts.urlExpiresIn }, signal)).fileByPath;
  if (!file || file.status === 'DELETED') throw new TesseraError('NOT_FOUND', `no such file: ${remotePath}`);
  if (file.isFolder) throw new TesseraError('BAD_USER_INPUT', `${remotePath} is a folder`);
  const size = Number(file.size);
  const parts = partsOf(file, size);

  const partial = localPath + PARTIAL_SUFFIX;
  const sidecar = new SidecarFile(partial + '.json', { contentHash: file.contentHash ?? '', size, verified: [] }, parts.length > 1);
  if (opts.reuseFrom) await seedPartial(opts.reuseFrom, partial, sidecar);
  // a new partial file (created exclusively) has nothing to verify or resume; one that exists takes the resume path.
  // A new one of a small one-part file is written with synchronous calls (SyncPartial), others through a FileHandle.
  const fresh = opts.fresh && !opts.reuseFrom;
  const small = fresh && parts.length === 1 && size > 0 && size <= SYNC_WRITE_MAX ? SyncPartial.create(partial, opts.fsync === true) : null;
  const created = fresh && !small ? await openPartial(partial, opts.fsync === true, true) : null;
  if (small || created) sidecar.assumeAbsent();
  const fh = small ? null : created ?? await openPartial(partial, opts.fsync === true);
  const out: PartialWriter = small ?? fh!;
  const pool = parts.length >= WORKER_THRESHOLD_PARTS ? new HashPool(2) : null;
  const digestOf: DigestOf = pool
    ? async (p) => (await pool.hash(partial, p.offset, p.size)).sha256
    : (p) => hashFileRange(fh!, p.offset, p.size);
  try {
    const verified = small || created ? new Map<number, string>() : await verifyExisting(fh!, parts, await sidecar.load(), digestOf);
    if (!small && !created) await fh!.truncate(size); // a new file reaches its size as its parts are written
    if (opts.reuseFrom) await reuseMoved(opts.reuseFrom, fh!, parts, verified, digestOf, signal);
    for (const p of parts) if (p.size === 0) verified.set(p.index, p.sha256);
    await sidecar.save(verified);

    const todo = parts.filter((p) => !verified.has(p.index));
    const fetcher = new PartFetcher(api, file, parts, out, pool, sidecar, verified, opts);
    fetcher.report();
    await runPool(todo, opts.concurrency ?? DEFAULT_DOWNLOAD_CONCURRENCY, (p, s) => fetcher.fetchPart(p, s), signal);

    const expected = file.contentHash ?? contentHashOf(parts.map((p) => p.sha256));
    if (!parts.every((p) => verified.has(p.index)) || contentHashOf(parts.map((p) => verified.get(p.index)!)) !== expected) {
      throw new TesseraError('INTEGRITY', `${localPath}: content hash does not match after download`);
    }
    if (opts.fsync) await out.sync();
    await out.close();
    if (small) renameSync(partial, localPath);
    else await rename(partial, localPath);
    await sidecar.remove();
    return { file, localPath, bytesReceived: fetcher.bytesReceived, partsDownloaded: todo.length,
      partsReused: parts.length - todo.length - parts.filter((p) => p.size === 0).length };
  } finally {
    await pool?.close();
    dropSpareBuffers(); // the batch buffers this download's hash workers handed back
    await out.close().catch(() => undefined);
  }
}

/**
 * Takes parts that moved in the older copy `from` (content-defined parts after an insertion or
 * deletion: the same SHA-256 at another offset) from there instead of the network: `from` is
 * re-cut as an upload would have cut it (./chunker.ts), only its pieces of a wanted size are
 * hashed, and a piece with a wanted SHA-256 is copied into the partial file at the part's offset
 * and verified there like any part. Nothing to do for fixed parts (they do not move) or when
 * every part is already verified; an unreadable `from` is no error (the parts are fetched).
 */
async function reuseMoved(from: string, fh: FileHandle, parts: Part[], verified: Map<number, string>, digestOf: DigestOf, signal?: AbortSignal): Promise<void> {
  const wanted = parts.filter((p) => !verified.has(p.index) && p.size > 0);
  if (wanted.length === 0 || !variableParts(parts)) return;
  const bySha = new Map<string, Part[]>();
  for (const p of wanted) bySha.set(p.sha256, [...(bySha.get(p.sha256) ?? []), p]);
  const sizes = new Set(wanted.map((p) => p.size));
  const old = await open(from, 'r').catch(() => null);
  if (!old) return;
  try {
    const { size: oldSize } = await old.stat();
    const pieces = await hashFileChunked(from, chunkParams(oldSize), { signal, hashIf: (span) => sizes.has(span.size) }).catch(() => null);
    const buf = Buffer.allocUnsafe(4 * 1024 * 1024);
    for (const piece of pieces?.parts ?? []) {
      for (const p of bySha.get(piece.sha256) ?? []) {
        if (p.size !== piece.size || verified.has(p.index)) continue;
        for (let done = 0; done < p.size; ) {
          const { bytesRead } = await old.read(buf, 0, Math.min(buf.length, p.size - done), piece.offset + done);
          if (bytesRead === 0) break;
          await fh.write(buf, 0, bytesRead, p.offset + done);
          done += bytesRead;
        }
        if (await digestOf(p) === p.sha256) verified.set(p.index, p.sha256);
      }
    }
  } finally {
    await old.close();
  }
}

/** Whether a file's parts vary in size (content-defined), so a part may sit elsewhere in an older copy. */
function variableParts(parts: Part[]): boolean {
  return parts.slice(0, -1).some((p) => p.size !== parts[0].size) || (parts.length > 1 && parts[parts.length - 1].size > parts[0].size);
}

/** Starts the partial file as a copy of `from` (when there is no partial yet); its parts are then verified like a resumed download's. */
async function seedPartial(from: string, partial: string, sidecar: SidecarFile): Promise<void> {
  if (await stat(partial).then(() => true, () => false)) return;
  await sidecar.remove();
  await copyFile(from, partial).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT') throw e;
  });
}

function partsOf(file: FileWithChunks, size: number): Part[] {
  const parts = [...file.chunks]
    .map((c) => ({ index: c.index, offset: Number(c.offset), size: Number(c.size), sha256: c.sha256.toLowerCase() }))
    .sort((a, b) => a.offset - b.offset);
  if (parts.length === 0 && size === 0) return [{ index: 0, offset: 0, size: 0, sha256: sha256Hex('') }];
  let end = 0;
  for (const p of parts) {
    if (p.offset !== end) throw new TesseraError('PROTOCOL', `chunks of ${file.path} do not tile the file at offset ${end}`);
    end += p.size;
  }
  if (end !== size) throw new TesseraError('PROTOCOL', `chunks of ${file.path} cover ${end} of ${size} bytes`);
  if (file.contentHash && contentHashOf(parts.map((p) => p.sha256)) !== file.contentHash) {
    throw new TesseraError('INTEGRITY', `chunk digests of ${file.path} do not match its contentHash`);
  }
  return parts;
}

class PartFetcher {
  bytesReceived = 0;
  private bytesDone = 0;
  private url: string;
  private refreshing: Promise<void> | null = null;
  private readonly total: number;

  constructor(
    private readonly api: GraphQLTransport,
    private readonly file: FileWithChunks,
    parts: Part[],
    private readonly fh: PartialWriter,
    private readonly pool: HashPool | null,
    private readonly sidecar: SidecarFile,
    private readonly verified: Map<number, string>,
    private readonly opts: DownloadOptions,
  ) {
    this.url = file.downloadUrl ?? '';
    this.total = Number(file.size);
    for (const p of parts) if (verified.has(p.index)) this.bytesDone += p.size;
  }

  report(): void {
    this.opts.onProgress?.({ phase: 'download', bytesDone: this.bytesDone, bytesTotal: this.total });
  }

  async fetchPart(part: Part, signal: AbortSignal): Promise<void> {
    const maxAttempts = this.opts.partAttempts ?? 5;
    let refreshes = 0;
    for (let attempt = 1; ; ) {
      if (!this.url) await this.refreshUrl(this.url, signal);
      const url = this.url;
      let counted = 0;
      let hasher: StreamHasher | null = null;
      try {
        const res = await rangeGet(new URL(url, this.api.server), part.offset, part.size, signal, this.opts.fetch, { idleTimeoutMs: this.opts.idleTimeoutMs });
        const whole = res.status === 200 && part.offset === 0 && part.size === this.total;
        if (res.status !== 206 && !whole) {
          const text = await res.text().catch(() => '');
          if ((res.status === 403 || res.status === 400) && refreshes++ < 2) {
            await this.refreshUrl(url, signal);
            continue;
          }
          if (isRetryableStatus(res.status) && attempt < maxAttempts) {
            await backoff(attempt++, signal);
            continue;
          }
          throw new TesseraError('STORE', `part at ${part.offset}: HTTP ${res.status} ${text.slice(0, 300)}`, { status: res.status });
        }
        let pos = part.offset;
        // network chunks are small: take them in batches (one write syscall per WRITE_BATCH
        // bytes), then hash the written buffers (on a hash worker when there is a pool, here
        // otherwise: no read back of what was just written)
        hasher = this.pool?.stream() ?? inlineHasher();
        for await (const batch of res.batches(WRITE_BATCH)) {
          const n = batch.reduce((sum, c) => sum + c.length, 0);
          if (pos + n > part.offset + part.size) throw new TesseraError('STORE', `part at ${part.offset}: store sent too many bytes`);
          await this.fh.writev(batch, pos);
          hasher?.update(batch);
          pos += n;
          counted += n;
          this.bytesDone += n;
          this.report();
        }
        const complete = pos === part.offset + part.size;
        if (!complete) hasher.drop();
        const digest = complete ? await hasher.digest() : null;
        if (digest === part.sha256) {
          this.bytesReceived += part.size;
          this.verified.set(part.index, digest);
          await this.sidecar.save(this.verified);
          return;
        }
        this.rollback(counted);
        if (attempt >= maxAttempts) throw new TesseraError('INTEGRITY', `part at ${part.offset} of ${this.file.path} failed verification ${attempt} times`);
        attempt++;
      } catch (e) {
        hasher?.drop();
        this.rollback(counted);
        if (e instanceof TesseraError || isAbortError(e) || signal.aborted) throw e;
        if (!isNetworkFailure(e) || attempt >= maxAttempts) throw new TesseraError('NETWORK', `part at ${part.offset}: ${causeMessage(e)}`, { cause: e });
        await backoff(attempt++, signal);
      }
    }
  }

  private rollback(counted: number): void {
    if (counted === 0) return;
    this.bytesDone -= counted;
    this.report();
  }

  /** Gets a fresh URL for the same content once, however many parts saw `staleUrl` fail. */
  private async refreshUrl(staleUrl: string, signal: AbortSignal): Promise<void> {
    if (this.url !== staleUrl) return;
    this.refreshing ??= (async () => {
      try {
        const { file } = await this.api.request<{ file: { contentHash: string | null; downloadUrl: string | null } | null }>(
          ops.DOWNLOAD_URL, { id: this.file.id, expiresIn: this.opts.urlExpiresIn }, signal);
        if (!file?.downloadUrl) throw new TesseraError('NOT_FOUND', `${this.file.path} is no longer available`);
        if (file.contentHash !== this.file.contentHash) throw new TesseraError('CONFLICT', `${this.file.path} changed during the download; run it again`);
        this.url = file.downloadUrl;
      } finally {
        this.refreshing = null;
      }
    })();
    await this.refreshing;
  }
}

/** SHA-256 of the buffers as they are written, on this thread (they are hashed before `update` returns). */
function inlineHasher(): StreamHasher {
  const sha = createHash('sha256');
  return {
    update: (chunks) => { for (const c of chunks) sha.update(c); },
    digest: async () => sha.digest('hex'),
    drop: () => undefined,
  };
}
