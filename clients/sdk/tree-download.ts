/**
 * Downloads a remote folder tree: lists it (./remote-tree), creates every folder locally (empty
 * ones too), then downloads several files at once with the single-file download (verified,
 * resumable). A local file whose size and content hash already match the remote one is left
 * alone ("unchanged"); one that differs seeds the download (`reuseFrom`), so only the parts
 * that changed move.
 */
import { lstat, mkdir, open, readdir } from 'node:fs/promises';
import { basename, dirname, join, sep } from 'node:path';
import type { TesseraClient } from './client';
import type { DownloadResult } from './download';
import { DEFAULT_DOWNLOAD_CONCURRENCY, PARTIAL_SUFFIX } from './download';
import { TesseraError } from './errors';
import { hashSpansInWorkers } from './hash-workers';
import { WORKER_THRESHOLD_PARTS, contentHashOf, hashFileRange, sha256Hex, type PartSpan } from './hashing';
import * as ops from './operations';
import { listRemoteTree, type RemoteEntry } from './remote-tree';
import { DEFAULT_TREE_FILES, TreeTally, failureOf, recordFailure, recordFile, remoteFolder, runTreeFiles, type TreeOptions, type TreeResult } from './tree';
import type { FileWithChunks } from './types';

export interface DownloadTreeOptions extends TreeOptions {
  /** Flush each file to disk before it takes its name (see DownloadOptions.fsync). */
  fsync?: boolean;
}

export type DownloadTreeResult = TreeResult<DownloadResult>;

/**
 * Downloads the remote folder `remoteDir` so that `localDir` holds its tree (created if
 * missing, merged into if it exists; local files not in the tree are left alone). Resolves
 * with what happened to each file, also when some failed (e.g. CONFLICT where a local folder
 * or symbolic link stands in a file's way, an fs error code). Rejects with NOT_FOUND when
 * `remoteDir` does not exist, BAD_USER_INPUT when it is a file, an fs error when `localDir`
 * cannot be created, or the signal's reason.
 */
export async function downloadTree(client: TesseraClient, remoteDir: string, localDir: string, opts: DownloadTreeOptions = {}): Promise<DownloadTreeResult> {
  const { signal } = opts;
  const root = remoteFolder(remoteDir);
  if (root !== '/') {
    const node = await client.fileByPath(root);
    if (!node) throw new TesseraError('NOT_FOUND', `no such folder: ${root}`);
    if (!node.isFolder) throw new TesseraError('BAD_USER_INPUT', `${root} is a file, not a folder`);
  }
  const remote = await listRemoteTree(client, root, signal, true);
  const result: DownloadTreeResult = {
    files: [], skipped: [], failed: [], foldersCreated: 0, bytes: 0,
    bytesTotal: remote.files.reduce((n, e) => n + Number(e.file.size), 0),
  };
  if (await mkdir(localDir, { recursive: true })) result.foldersCreated++;
  for (const folder of remote.folders) {
    try {
      if (await mkdir(localPathOf(localDir, folder.rel), { recursive: true })) result.foldersCreated++;
    } catch (e) {
      result.failed.push(failureOf(folder.rel, 'folder', e));
    }
  }

  const localNames = new LocalNames();
  const tally = new TreeTally(result.bytesTotal, remote.files.length, opts.onProgress);
  tally.report();
  const files = remote.files.map((e) => ({ ...e, size: Number(e.file.size) }));
  await runTreeFiles(files, {
    files: opts.files ?? DEFAULT_TREE_FILES,
    concurrency: opts.concurrency ?? DEFAULT_DOWNLOAD_CONCURRENCY,
    signal,
  }, async (entry: RemoteEntry & { size: number }, concurrency, fileSignal) => {
    const localPath = localPathOf(localDir, entry.rel);
    const seen = await localNames.names(dirname(localPath));
    // nothing of this name in the folder as listed: no lstat, and no partial download to resume
    const name = basename(localPath);
    const fresh = seen !== null && ![name, `${name}${PARTIAL_SUFFIX}`, `${name}${PARTIAL_SUFFIX}.json`].some((n) => seen.has(foldName(n)));
    const local = fresh ? 'absent' : await compareLocal(client, localPath, entry.file, fileSignal);
    if (local === 'same') {
      recordFile(result, tally, { path: entry.rel, localPath, remotePath: entry.file.path, size: entry.size, outcome: 'unchanged', bytes: 0 });
      return;
    }
    const listed = entry.file.chunks && entry.file.downloadUrl !== undefined ? entry.file as FileWithChunks : undefined;
    const r = await client.download(entry.file.path, localPath, {
      file: listed,
      concurrency,
      fsync: opts.fsync,
      signal: fileSignal,
      reuseFrom: local === 'differs' ? localPath : undefined,
      fresh,
      onProgress: (p) => tally.file(entry.rel, p.bytesDone),
    });
    recordFile(result, tally, { path: entry.rel, localPath, remotePath: r.file.path, size: Number(r.file.size), outcome: 'downloaded', bytes: r.bytesReceived, result: r });
  }, (entry, e) => recordFailure(result, tally, entry.rel, e));
  return result;
}

/** A name as a case-insensitive, normalising file system may equate it with others (a match only sends a file the lstat way). */
function foldName(name: string): string {
  return name.normalize('NFC').toLowerCase();
}

/**
 * The names in each local folder (folded: foldName), read once per folder (one readdir instead
 * of an lstat per file); null for a folder that cannot be read (its files take the lstat path).
 */
class LocalNames {
  private readonly folders = new Map<string, Promise<Set<string> | null>>();

  names(folder: string): Promise<Set<string> | null> {
    let p = this.folders.get(folder);
    if (!p) {
      p = readdir(folder).then((names) => new Set(names.map(foldName)), () => null);
      this.folders.set(folder, p);
    }
    return p;
  }
}

/**
 * Whether the local file matches the remote one: 'absent', 'same' (size and content hash over
 * the remote file's chunk layout), or 'differs'. CONFLICT when something other than a regular
 * file stands there (a folder, a symbolic link: never followed nor replaced).
 */
async function compareLocal(client: TesseraClient, localPath: string, file: RemoteEntry['file'], signal: AbortSignal): Promise<'absent' | 'same' | 'differs'> {
  const st = await lstat(localPath).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return null;
    throw e;
  });
  if (!st) return 'absent';
  if (!st.isFile()) throw new TesseraError('CONFLICT', `${localPath} is in the way: not a regular file`);
  if (st.size !== Number(file.size) || !file.contentHash) return 'differs';
  type Chunked = { isFolder: boolean; chunks: { index: number; offset: string; size: string }[] };
  const chunked: Chunked | null = file.chunks ? { isFolder: file.isFolder, chunks: file.chunks }
    : (await client.api.request<{ fileByPath: Chunked | null }>(ops.FILE_CHUNKS, { path: file.path }, signal)).fileByPath;
  if (!chunked || chunked.isFolder) return 'differs';
  const spans = spansOf(chunked.chunks, st.size);
  if (!spans) return 'differs';
  return (await localContentHash(localPath, spans, signal)) === file.contentHash ? 'same' : 'differs';
}

/** The chunks as part spans, or null if they do not tile `size` bytes. */
function spansOf(chunks: { index: number; offset: string; size: string }[], size: number): PartSpan[] | null {
  const spans = chunks.map((c) => ({ partNumber: c.index + 1, offset: Number(c.offset), size: Number(c.size) })).sort((a, b) => a.offset - b.offset);
  if (spans.length === 0) return size === 0 ? [{ partNumber: 1, offset: 0, size: 0 }] : null;
  let end = 0;
  for (const s of spans) {
    if (s.offset !== end) return null;
    end += s.size;
  }
  return end === size ? spans : null;
}

/** contentHashOf the SHA-256 of each span of a local file (on worker threads for many spans). */
async function localContentHash(path: string, spans: PartSpan[], signal: AbortSignal): Promise<string | null> {
  if (spans.length >= WORKER_THRESHOLD_PARTS) return contentHashOf((await hashSpansInWorkers(path, spans, { signal })).map((p) => p.sha256));
  const fh = await open(path, 'r');
  try {
    const digests: string[] = [];
    for (const s of spans) {
      signal.throwIfAborted();
      const d = s.size === 0 ? sha256Hex('') : await hashFileRange(fh, s.offset, s.size);
      if (d === null) return null;
      digests.push(d);
    }
    return contentHashOf(digests);
  } finally {
    await fh.close();
  }
}

/** Where a remote path relative to the tree goes locally; BAD_USER_INPUT for a name that cannot be a local file name. */
function localPathOf(root: string, rel: string): string {
  const names = rel.split('/');
  for (const name of names) {
    if (name === '' || name === '.' || name === '..' || name.includes(sep) || name.includes('\0')) {
      throw new TesseraError('BAD_USER_INPUT', `${JSON.stringify(rel)} cannot be a local path`);
    }
  }
  return join(root, ...names);
}
