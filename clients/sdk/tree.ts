/**
 * What folder transfers (./tree-upload, ./tree-download) share: options, results, progress,
 * and running several files at once within one budget of parts in flight.
 */
import { posix } from 'node:path';
import { TesseraError } from './errors';
import { choosePartSize } from './hashing';
import { PartBudget } from './part-budget';
import { runPool } from './pool';

/** Files transferred at once by default. */
export const DEFAULT_TREE_FILES = 8;

/** Progress of a whole folder transfer. */
export interface TreeProgress {
  /** Bytes of the tree's files transferred or found unchanged so far. */
  bytesDone: number;
  /** Size of every file found to transfer. */
  bytesTotal: number;
  /** Files finished: transferred, unchanged or failed. */
  filesDone: number;
  filesTotal: number;
}

export interface TreeOptions {
  /** Files transferred at once (default DEFAULT_TREE_FILES). */
  files?: number;
  /**
   * Parts in flight for one file (default: the single-file default). The whole tree keeps at
   * most max(concurrency, files) parts in flight: a big file takes up to `concurrency` of
   * them, small files take one each and run side by side.
   */
  concurrency?: number;
  /** Aborting stops every file; uploads and downloads in progress resume when run again. */
  signal?: AbortSignal;
  onProgress?: (p: TreeProgress) => void;
}

/** Something in the tree that is not transferred: symbolic links are never followed. */
export interface TreeSkipped {
  /** Relative to the tree's root, '/'-separated. */
  path: string;
  reason: 'symlink' | 'special' | 'partial-download' | 'sync-state';
}

/** A file or folder that failed; the other files went on. */
export interface TreeFailure {
  /** Relative to the tree's root, '/'-separated ('' is the root itself). */
  path: string;
  kind: 'file' | 'folder';
  /** The TesseraError's code (e.g. CONFLICT, BAD_USER_INPUT), or the fs error's (e.g. EACCES). */
  code: string;
  message: string;
  error: unknown;
}

/** One file that went through; `result` is the single-file transfer's (absent when nothing had to run). */
export interface TreeFileResult<R> {
  path: string;
  localPath: string;
  remotePath: string;
  size: number;
  outcome: 'uploaded' | 'downloaded' | 'unchanged';
  /** Bytes moved over the network for this file. */
  bytes: number;
  result?: R;
}

/** What a folder transfer did. It resolves even when files failed; only an abort rejects. */
export interface TreeResult<R> {
  files: TreeFileResult<R>[];
  skipped: TreeSkipped[];
  failed: TreeFailure[];
  foldersCreated: number;
  /** Bytes moved over the network. */
  bytes: number;
  bytesTotal: number;
}

/** The code a failure is reported with. */
export function failureOf(path: string, kind: TreeFailure['kind'], error: unknown): TreeFailure {
  const code = error instanceof TesseraError ? error.code
    : typeof (error as { code?: unknown })?.code === 'string' ? (error as { code: string }).code : 'ERROR';
  return { path, kind, code, message: String((error as Error)?.message ?? error), error };
}

/** An absolute remote folder path without a trailing slash ("/" for the root). */
export function remoteFolder(p: string): string {
  const n = posix.normalize(p.startsWith('/') ? p : `/${p}`);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

/** `rel` ('/'-separated, '' for the root) under a remote folder. */
export function remoteJoin(root: string, rel: string): string {
  return rel === '' ? root : root === '/' ? `/${rel}` : `${root}/${rel}`;
}

/** Records a file that went through (its bytes moved count in `result.bytes`) and counts it done. */
export function recordFile<R>(result: TreeResult<R>, tally: TreeTally, file: TreeFileResult<R>): void {
  result.files.push(file);
  result.bytes += file.bytes;
  tally.finish(file.path, file.size);
}

/** Records a file that failed and counts it done (with what it got so far). */
export function recordFailure<R>(result: TreeResult<R>, tally: TreeTally, path: string, error: unknown): void {
  result.failed.push(failureOf(path, 'file', error));
  tally.finish(path);
}

/** Counts bytes and files across the tree and reports them. */
export class TreeTally {
  private done = 0;
  private filesDone = 0;
  private readonly perFile = new Map<string, number>();

  constructor(private readonly bytesTotal: number, private readonly filesTotal: number, private readonly onProgress?: (p: TreeProgress) => void) {}

  /** A file's own progress (bytes of it done so far). */
  file(path: string, bytesDone: number): void {
    this.done += bytesDone - (this.perFile.get(path) ?? 0);
    this.perFile.set(path, bytesDone);
    this.report();
  }

  /** A file is finished; `bytesDone` counts it as complete (success) or keeps what it got (failure). */
  finish(path: string, bytesDone?: number): void {
    if (bytesDone !== undefined) this.file(path, bytesDone);
    this.filesDone++;
    this.report();
  }

  report(): void {
    this.onProgress?.({ bytesDone: this.done, bytesTotal: this.bytesTotal, filesDone: this.filesDone, filesTotal: this.filesTotal });
  }
}

/**
 * Runs `transfer` over `items`, `files` at once, each with part concurrency min(its parts,
 * concurrency) taken from a shared PartBudget. A failure goes to `onFailure` and the others
 * go on; an abort of `signal` stops everything and rejects with its reason.
 */
export async function runTreeFiles<T extends { size: number }>(
  items: readonly T[],
  opts: { files: number; concurrency: number; signal?: AbortSignal },
  transfer: (item: T, concurrency: number, signal: AbortSignal) => Promise<void>,
  onFailure: (item: T, error: unknown) => void,
): Promise<void> {
  const budget = new PartBudget(Math.max(opts.concurrency, opts.files));
  await runPool(items, opts.files, async (item, signal) => {
    const weight = Math.min(estimatedParts(item.size), opts.concurrency);
    try {
      const release = await budget.take(weight, signal);
      try {
        await transfer(item, weight, signal);
      } finally {
        release();
      }
    } catch (e) {
      if (signal.aborted) throw e;
      onFailure(item, e);
    }
  }, opts.signal);
}

/** Parts a file of `size` bytes is sent or fetched in (the server's plan mirrored). */
function estimatedParts(size: number): number {
  return size === 0 ? 1 : Math.ceil(size / choosePartSize(size));
}
