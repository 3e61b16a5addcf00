/**
 * The upload protocol, the same for every platform (see DESIGN.md "Upload protocol"):
 * uploadPlan -> hash parts (content-defined where the plan allows, ./chunker.ts) -> beginUpload
 * (resumes an ACTIVE session for the same path + contentHash, or completes at once by dedup)
 * -> copy the parts the owner already stores (by SHA-256, anywhere) -> PUT every
 * non-VERIFIED part straight to the store (in parallel, retried with backoff, expired URLs
 * refreshed) -> confirmParts in batches -> completeUpload. An aborted or killed upload resumes
 * by running it again with the same content: only the parts the server lacks are sent.
 *
 * Platform layers supply an `UploadSource` (how to hash the parts and PUT one of them):
 * ./upload.ts for Node (files, worker_threads, node:http), clients/web for browsers
 * (File.slice, Web Workers, XHR). This module imports nothing platform-specific.
 */
import { TesseraError, isAbortError } from './errors';
import { causeMessage, type GraphQLTransport } from './graphql';
import { contentDefinedFor, type ChunkParams } from './chunker';
import type { FileDigest, PartDigest } from './digest';
import * as ops from './operations';
import { copyStoredParts } from './reuse';
import { runPool } from './pool';
import type { ProgressCallback } from './progress';
import { backoff, isNetworkFailure, isRetryableStatus } from './retry';
import type { FileInfo, PartUpload, UploadPlan, UploadSession } from './types';

/** What the protocol needs of a part PUT's response. */
export interface PutResponse {
  status: number;
  /** A response header (lowercase name), or null. */
  header(name: string): string | null;
  text(): Promise<string>;
}

/**
 * The content to upload, as a platform provides it. `put` rejects like fetch: a TypeError for
 * a network failure (retried), the signal's AbortError when aborted.
 */
export interface UploadSource {
  /** For messages (a local path, a file name). */
  readonly name: string;
  readonly size: number;
  /**
   * Hashes every part (SHA-256, and MD5 when asked); reports bytes hashed. Parts are cut by
   * `opts.chunking` (content-defined, ./chunker.ts) when given and the platform can, else in
   * `partSize` bytes: the server takes either.
   */
  hash(partSize: number, opts: { md5: boolean; signal?: AbortSignal; onProgress?: (done: number, total: number) => void; chunking?: ChunkParams }): Promise<FileDigest>;
  /** Sends the bytes of `part` to `url`; calls `count(n)` as bytes leave. */
  put(url: URL, method: string, headers: Record<string, string>, part: PartDigest, count: (n: number) => void, signal: AbortSignal): Promise<PutResponse>;
  /** Whether the content differs from what was hashed (checked when the store refuses a part). */
  changed?(): Promise<boolean>;
}

/** Parts in flight by default: measured faster than 4 against RGW (docs/benchmarks.md). */
export const DEFAULT_UPLOAD_CONCURRENCY = 8;

export interface UploadOptions {
  /** Parts in flight at once (default DEFAULT_UPLOAD_CONCURRENCY). */
  concurrency?: number;
  mimeType?: string;
  /** The revision this upload replaces; an older one than current is a CONFLICT. */
  baseRevision?: number;
  /** Aborting leaves the session ACTIVE (confirmed parts kept) so a later run resumes it. */
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
  /** Confirmed parts per confirmParts call (default 16). */
  confirmBatchSize?: number;
  /** Attempts per part PUT on network errors and 5xx (default 5). */
  partAttempts?: number;
  /** Used for the part PUTs instead of node:http(s) (tests inject faults with it; Node layer only). */
  fetch?: typeof fetch;
  /** A part PUT whose connection moves no byte for this long fails (retried as a network failure); default 60 s. */
  idleTimeoutMs?: number;
  /** Hears the parts once hashed (before beginUpload): a browser remembers them to resume after a reload. */
  onPlanned?: (digest: FileDigest) => void;
  /** Upload into this folder (yours, or shared with you as EDITOR): `remotePath` is then relative to it. */
  folderId?: string;
  /**
   * Cut the file in the plan's fixed part size, as clients did before content-defined parts
   * (default false: content-defined parts where the plan allows, ./chunker.ts).
   */
  fixedParts?: boolean;
  /** Hears each part the store accepted in this run. */
  onPartSent?: (partNumber: number) => void;
  /**
   * Hears the server's upload session once begun (an app that cancels aborts it: abortUpload).
   * Also called when the beginUpload answers after `signal` aborted the upload: the session
   * exists then, and the app decides (abort it on cancel, keep it to resume on pause).
   */
  onSession?: (sessionId: string) => void;
}

export interface UploadResult {
  file: FileInfo;
  sessionId: string;
  /** True when the server already had this content: no bytes moved. */
  deduplicated: boolean;
  /** Bytes PUT by this run (not counting failed attempts). */
  bytesSent: number;
  partsSent: number;
  /** Parts the server already had (VERIFIED at beginUpload: an earlier run sent them). */
  partsSkipped: number;
  /** Parts the owner already stored (any file, any revision), copied inside the store instead of sent. */
  partsCopied: number;
}

const REFRESH_MARGIN_MS = 30_000;
/** Part URLs asked for at a time: all of them in beginUpload up to this many parts, else windows of this many. */
const URL_WINDOW = 64;

/**
 * Uploads `source` to `remotePath`. Rejects with TesseraError (server codes, NETWORK, STORE,
 * CHANGED, PROTOCOL) or with the signal's reason when aborted (the session stays ACTIVE with
 * its confirmed parts, so a later run resumes it).
 */
export async function uploadSource(api: GraphQLTransport, source: UploadSource, remotePath: string, opts: UploadOptions = {}): Promise<UploadResult> {
  const planned = { remembered: false };
  try {
    return await upload(api, source, remotePath, opts, planned);
  } catch (e) {
    // a plan remembered from an earlier upload may no longer be the server's: once more with a fresh one
    if (!(e instanceof TesseraError && e.code === 'BAD_USER_INPUT' && planned.remembered)) throw e;
    smallPlans.delete(api);
    return upload(api, source, remotePath, opts, planned);
  }
}

async function upload(api: GraphQLTransport, source: UploadSource, remotePath: string, opts: UploadOptions, planned: { remembered: boolean }): Promise<UploadResult> {
  const { signal } = opts;
  const { size } = source;
  const plan = await planFor(api, size, planned, signal);
  const digest = await source.hash(Number(plan.partSize), {
    chunking: (!opts.fixedParts && contentDefinedFor(size, plan)) || undefined,
    md5: plan.partChecksum === 'MD5',
    signal,
    onProgress: (done, total) => opts.onProgress?.({ phase: 'hash', bytesDone: done, bytesTotal: total }),
  });
  opts.onPlanned?.(digest);
  const begin = digest.parts.length <= URL_WINDOW ? ops.BEGIN_UPLOAD : ops.BEGIN_UPLOAD_NO_URLS;
  // not aborted with `signal`: a session the server begins must reach onSession even when this
  // upload is aborted meanwhile (an app that cancels then aborts it at once, nothing left ACTIVE)
  const beginning = api.request<{ beginUpload: UploadSession }>(begin, {
    input: {
      path: remotePath,
      size: String(digest.size),
      mimeType: opts.mimeType,
      contentHash: digest.contentHash,
      baseRevision: opts.baseRevision,
      ...(opts.folderId ? { folderId: opts.folderId } : {}),
      parts: digest.parts.map((p) => ({ partNumber: p.partNumber, size: String(p.size), sha256: p.sha256, ...(p.md5 ? { md5: p.md5 } : {}) })),
    },
  });
  // the content is stored already (dedup, or a run that completed this session): nothing to send
  const storedAtBegin = (file: FileInfo, sessionId: string): UploadResult => {
    opts.onProgress?.({ phase: 'upload', bytesDone: digest.size, bytesTotal: digest.size });
    return { file, sessionId, deduplicated: true, bytesSent: 0, partsSent: 0, partsSkipped: digest.parts.length, partsCopied: 0 };
  };
  let session: UploadSession;
  try {
    session = (await untilAborted(beginning, signal)).beginUpload;
  } catch (e) {
    if (signal?.aborted) {
      beginning.then(({ beginUpload }) => opts.onSession?.(beginUpload.id), () => undefined);
      throw e;
    }
    // the resumed session was completed (by another run) between the answer and its part URLs
    const id = endedSessionOf(e);
    if (!id) throw e;
    const file = await finishedFile(api, id, digest.contentHash, e, signal);
    opts.onSession?.(id);
    return storedAtBegin(file, id);
  }
  opts.onSession?.(session.id);

  if (session.status === 'COMPLETED' && session.file) return storedAtBegin(session.file, session.id);
  if (session.status !== 'ACTIVE' && session.status !== 'COMPLETED') {
    throw new TesseraError('CONFLICT', `upload session ${session.id} is ${session.status}`);
  }

  const uploader = new PartUploader(api, source, session, digest.size, opts);
  const resumed = digest.parts.filter((p) => !uploader.needsUpload(p.partNumber)).length;
  let copied: PartUpload[] = [];
  let todo: PartDigest[] = [];
  try {
    copied = await copyStoredParts(api, session.id, digest.parts.filter((p) => uploader.needsUpload(p.partNumber)), signal);
    uploader.update(copied);
    todo = digest.parts.filter((p) => uploader.needsUpload(p.partNumber));
    uploader.willSend(todo.map((p) => p.partNumber));
    uploader.report();
    await runPool(todo, opts.concurrency ?? DEFAULT_UPLOAD_CONCURRENCY, (part, s) => uploader.send(part, s), signal);
  } catch (e) {
    if (endedSessionOf(e, session.id)) {
      // the session was completed by another run (same content, same path) while this one sent parts: its file is this upload's
      const file = await finishedFile(api, session.id, digest.contentHash, e, signal);
      return { file, sessionId: session.id, deduplicated: false, bytesSent: uploader.bytesSent, partsSent: 0, partsSkipped: resumed, partsCopied: 0 };
    }
    await uploader.flush().catch(() => undefined);
    throw e;
  }
  // the last batch is confirmed by completeUpload itself (one round trip less; one in all for a small file)
  const last = await uploader.unconfirmed();
  const { completeUpload: file } = await api.request<{ completeUpload: FileInfo }>(ops.COMPLETE_UPLOAD, { sessionId: session.id, parts: last }, signal);
  return { file, sessionId: session.id, deduplicated: false, bytesSent: uploader.bytesSent, partsSent: todo.length, partsSkipped: resumed,
    partsCopied: copied.filter((p) => p.status === 'VERIFIED').length };
}

/** `p`, or the signal's reason as soon as `signal` aborts (`p` itself runs on). */
function untilAborted<T>(p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * The session id when `e` says an upload session no longer takes parts: the server's
 * PRECONDITION_FAILED with reason UPLOAD_COMPLETED / UPLOAD_GONE (refreshPartUrls, copyParts,
 * a resumed beginUpload's part URLs), or the store's 404 for a part PUT (no such upload:
 * `sessionId` given). Null for anything else.
 */
function endedSessionOf(e: unknown, sessionId?: string): string | null {
  if (!(e instanceof TesseraError)) return null;
  const reason = e.details.extensions?.reason;
  if (e.code === 'PRECONDITION_FAILED' && (reason === 'UPLOAD_COMPLETED' || reason === 'UPLOAD_GONE')) {
    const id = e.details.extensions?.sessionId;
    return typeof id === 'string' ? id : sessionId ?? null;
  }
  return e.code === 'STORE' && e.details.status === 404 && sessionId ? sessionId : null;
}

/**
 * The file of a session that finished under an upload: its own file when the session is
 * COMPLETED and the file still holds this content. Otherwise nothing of this upload is (or
 * stays) stored as it asked, and nothing is sent again into the ended session: CONFLICT
 * (reason UPLOAD_ENDED) for an aborted or expired session or a file changed since, else `cause`.
 */
async function finishedFile(api: GraphQLTransport, sessionId: string, contentHash: string, cause: unknown, signal?: AbortSignal): Promise<FileInfo> {
  const { uploadSession: s } = await api.request<{ uploadSession: { status: string; file: FileInfo | null } | null }>(ops.UPLOAD_SESSION_STATE, { id: sessionId }, signal);
  if (s?.status === 'COMPLETED' && s.file && s.file.contentHash === contentHash && s.file.status === 'AVAILABLE') return s.file;
  if (s && s.status !== 'ACTIVE') {
    throw new TesseraError('CONFLICT', `upload session ${sessionId} is ${s.status}${s.file ? ' and its file changed since' : ''}; nothing was uploaded: run the upload again`,
      { extensions: { reason: 'UPLOAD_ENDED', sessionId }, cause });
  }
  throw cause;
}

/**
 * The plans of all files up to the minimum part size are alike (one part): the last plan a
 * transport fetched serves them without a round trip.
 */
const smallPlans = new WeakMap<GraphQLTransport, UploadPlan>();

async function planFor(api: GraphQLTransport, size: number, planned: { remembered: boolean }, signal?: AbortSignal): Promise<UploadPlan> {
  const known = smallPlans.get(api);
  planned.remembered = !!known && size <= Number(known.minPartSize);
  if (planned.remembered) return { ...known!, partSize: known!.minPartSize, partCount: 1 };
  const { uploadPlan } = await api.request<{ uploadPlan: UploadPlan }>(ops.UPLOAD_PLAN, { size: String(size) }, signal);
  smallPlans.set(api, uploadPlan);
  return uploadPlan;
}

/** Sends parts of one session and batches their confirmations. */
class PartUploader {
  bytesSent = 0;
  private bytesDone = 0;
  private readonly parts = new Map<number, PartUpload>();
  /** Part numbers in the order they will be sent, and each one's place in it. */
  private order: number[] = [];
  private readonly place = new Map<number, number>();
  private readonly refreshing = new Map<number, Promise<void>>();
  private pending: { partNumber: number; etag: string }[] = [];
  private confirmChain: Promise<void> = Promise.resolve();

  constructor(
    private readonly api: GraphQLTransport,
    private readonly source: UploadSource,
    private readonly session: UploadSession,
    private readonly total: number,
    private readonly opts: UploadOptions,
  ) {
    for (const p of session.parts) {
      this.parts.set(p.partNumber, p);
      if (p.status === 'VERIFIED') this.bytesDone += Number(p.size);
    }
  }

  needsUpload(partNumber: number): boolean {
    return this.parts.get(partNumber)?.status !== 'VERIFIED';
  }

  /** Takes the server's newer view of some parts (e.g. VERIFIED after copyParts). */
  update(parts: PartUpload[]): void {
    for (const p of parts) {
      const known = this.parts.get(p.partNumber);
      if (p.status === 'VERIFIED' && known?.status !== 'VERIFIED') this.bytesDone += Number(p.size);
      this.parts.set(p.partNumber, p);
    }
  }

  /** The parts about to be sent, in order (URLs are fetched ahead along it). */
  willSend(partNumbers: number[]): void {
    this.order = partNumbers;
    partNumbers.forEach((n, i) => this.place.set(n, i));
  }

  report(): void {
    this.opts.onProgress?.({ phase: 'upload', bytesDone: this.bytesDone, bytesTotal: this.total });
  }

  async send(part: PartDigest, signal: AbortSignal): Promise<void> {
    const etag = await this.put(part, signal);
    this.pending.push({ partNumber: part.partNumber, etag });
    if (this.pending.length >= (this.opts.confirmBatchSize ?? 16)) await this.flush();
  }

  /** Confirms every part sent so far (one call at a time, in order). */
  flush(): Promise<void> {
    const batch = this.pending.splice(0);
    if (batch.length > 0) {
      this.confirmChain = this.confirmChain.then(async () => {
        await this.api.request(ops.CONFIRM_PARTS, { sessionId: this.session.id, parts: batch });
      });
    }
    return this.confirmChain;
  }

  /** Waits for the confirmations in flight; returns the parts sent since, not confirmed yet. */
  async unconfirmed(): Promise<{ partNumber: number; etag: string }[]> {
    const batch = this.pending.splice(0);
    await this.confirmChain;
    return batch;
  }

  private async put(part: PartDigest, signal: AbortSignal): Promise<string> {
    const maxAttempts = this.opts.partAttempts ?? 5;
    let refreshes = 0;
    for (let attempt = 1; ; ) {
      let target = this.parts.get(part.partNumber);
      if (!target?.url || expiresSoon(target)) target = await this.refresh(part.partNumber, signal);
      let counted = 0;
      const count = (n: number) => {
        counted += n;
        this.bytesDone += n;
        this.report();
      };
      const rollback = () => {
        this.bytesDone -= counted;
        counted = 0;
        this.report();
      };
      let res: PutResponse;
      try {
        res = await this.source.put(new URL(target.url!, this.api.server), target.method || 'PUT', headersOf(target), part, count, signal);
      } catch (e) {
        rollback();
        if (isAbortError(e) || signal.aborted || !isNetworkFailure(e) || attempt >= maxAttempts) {
          throw isNetworkFailure(e) && !signal.aborted ? new TesseraError('NETWORK', `part ${part.partNumber}: ${causeMessage(e)}`, { cause: e }) : e;
        }
        await backoff(attempt++, signal);
        continue;
      }
      const text = await res.text().catch(() => '');
      if (res.status >= 200 && res.status < 300) {
        const etag = res.header('etag');
        if (!etag) throw new TesseraError('PROTOCOL', `part ${part.partNumber}: store sent no ETag`);
        this.bytesSent += part.size;
        this.opts.onPartSent?.(part.partNumber);
        return etag.replace(/^W\//, '').replace(/"/g, '');
      }
      rollback();
      if ((res.status === 403 || res.status === 400) && refreshes < 2) {
        refreshes++;
        this.parts.set(part.partNumber, { ...target, url: null });
        continue;
      }
      if (isRetryableStatus(res.status) && attempt < maxAttempts) {
        await backoff(attempt++, signal);
        continue;
      }
      if (res.status === 400 && await this.source.changed?.()) {
        throw new TesseraError('CHANGED', `${this.source.name} changed while it was being uploaded (the store refused a part that no longer matches its hash); run the upload again`);
      }
      throw new TesseraError('STORE', `part ${part.partNumber}: HTTP ${res.status} ${text.slice(0, 300)}`, { status: res.status });
    }
  }


  /**
   * A fresh URL for `partNumber`, fetched with those of the next parts to send that lack one
   * (up to URL_WINDOW in one refreshPartUrls); parts already being fetched wait for that call.
   */
  private async refresh(partNumber: number, signal: AbortSignal): Promise<PartUpload> {
    if (!this.refreshing.has(partNumber)) {
      const numbers = [partNumber];
      for (let i = (this.place.get(partNumber) ?? this.order.length) + 1; i < this.order.length && numbers.length < URL_WINDOW; i++) {
        const n = this.order[i];
        const known = this.parts.get(n);
        if (!this.refreshing.has(n) && (!known?.url || expiresSoon(known))) numbers.push(n);
      }
      const call = this.api.request<{ refreshPartUrls: PartUpload[] }>(ops.REFRESH_PART_URLS, { sessionId: this.session.id, partNumbers: numbers }, signal)
        .then(({ refreshPartUrls }) => { for (const p of refreshPartUrls) this.parts.set(p.partNumber, p); })
        .finally(() => { for (const n of numbers) this.refreshing.delete(n); });
      for (const n of numbers) this.refreshing.set(n, call);
    }
    await this.refreshing.get(partNumber);
    const fresh = this.parts.get(partNumber);
    if (!fresh?.url) throw new TesseraError('PROTOCOL', `no URL for part ${partNumber} after refreshPartUrls`);
    return fresh;
  }
}

/** The headers the part URL must be sent with (filePut adds content-length). */
function headersOf(target: PartUpload): Record<string, string> {
  return Object.fromEntries(target.headers.map((h) => [h.name, h.value]));
}

function expiresSoon(p: PartUpload): boolean {
  return p.urlExpiresAt != null && Date.parse(p.urlExpiresAt) - Date.now() < REFRESH_MARGIN_MS;
}
