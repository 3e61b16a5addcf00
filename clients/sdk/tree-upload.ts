/**
 * Uploads a local folder tree: walks it (./local-tree), lists what the remote folder holds,
 * creates the folders that no file creates (empty ones), then uploads the files: those of one
 * part in batches of 100 through the batch API (./batch-upload: one beginUploads and one
 * completeUploads per batch), the others several at once, each with the single-file upload
 * (hashing, dedup, resume, unchanged parts copied in the store). A file whose content the remote path already has completes at once by dedup and is
 * reported "unchanged"; no bytes move.
 */
import { stat } from 'node:fs/promises';
import type { TesseraClient } from './client';
import { TesseraError, isTesseraError } from './errors';
import { isSmall, uploadSmallFiles } from './batch-upload';
import { walkLocalTree, type LocalFile } from './local-tree';
import { runPool } from './pool';
import { listRemoteTree, type RemoteTree } from './remote-tree';
import { DEFAULT_TREE_FILES, TreeTally, failureOf, recordFailure, recordFile, remoteFolder, remoteJoin, runTreeFiles, type TreeOptions, type TreeResult } from './tree';
import { DEFAULT_UPLOAD_CONCURRENCY, type UploadResult } from './upload';
import type { FileInfo } from './types';

export interface UploadTreeOptions extends TreeOptions {
  /** Files of one part go through the batch API (beginUploads / completeUploads, 100 per request) when the store takes them in one PUT (uploadPlan.singlePut); false: one by one like the others (default true). */
  batch?: boolean;
}
export type UploadTreeResult = TreeResult<UploadResult>;

/**
 * Uploads the folder `localDir` so that `remoteDir` holds its tree (created if missing, merged
 * into if it exists; remote files not in the tree are left alone). Resolves with what happened
 * to each file, also when some failed (their TesseraError code, e.g. CONFLICT where a folder
 * stands, BAD_USER_INPUT for a name the server refuses). Rejects when `localDir` is not a
 * readable folder, when `remoteDir` is a file (CONFLICT), or with the signal's reason.
 */
export async function uploadTree(client: TesseraClient, localDir: string, remoteDir: string, opts: UploadTreeOptions = {}): Promise<UploadTreeResult> {
  const { signal } = opts;
  const root = remoteFolder(remoteDir);
  if (!(await stat(localDir)).isDirectory()) throw new TesseraError('BAD_USER_INPUT', `${localDir} is not a folder`);
  const [local, remote] = await Promise.all([walkLocalTree(localDir, signal), remoteTreeOrEmpty(client, root, signal)]);
  const existing = new Map<string, FileInfo>([...remote.folders, ...remote.files].map((e) => [e.file.path, e.file]));
  if (remote.root) existing.set(root, remote.root);

  const result: UploadTreeResult = {
    files: [], skipped: local.skipped, failed: [...local.failed], foldersCreated: 0, bytes: 0,
    bytesTotal: local.files.reduce((n, f) => n + f.size, 0),
  };
  const toCreate = local.folders.filter((f) => f.empty && remoteJoin(root, f.rel) !== '/' && !existing.get(remoteJoin(root, f.rel))?.isFolder);
  await runPool(toCreate, opts.files ?? DEFAULT_TREE_FILES, async (folder) => {
    try {
      await client.createFolder(remoteJoin(root, folder.rel));
      result.foldersCreated++;
    } catch (e) {
      if (signal?.aborted) throw e;
      result.failed.push(failureOf(folder.rel, 'folder', e));
    }
  }, signal);

  const tally = new TreeTally(result.bytesTotal, local.files.length, opts.onProgress);
  tally.report();
  const record = (file: LocalFile, r: UploadResult) => {
    const before = existing.get(r.file.path);
    const unchanged = r.deduplicated && !!before && !before.isFolder && before.contentHash === r.file.contentHash && before.revision === r.file.revision;
    recordFile(result, tally, {
      path: file.rel, localPath: file.path, remotePath: r.file.path, size: Number(r.file.size),
      outcome: unchanged ? 'unchanged' : 'uploaded', bytes: r.bytesSent, result: r,
    });
  };
  // one-part files go through the batch API (100 per request) where the store takes them in one PUT; the others one
  // by one. On a store without single PUTs (local, GCS) a batch saves little, and a resumed session's multipart
  // upload can be completed by an earlier, interrupted run's request still in flight (Ctrl-C, then the same command)
  const plan = local.files.length ? await client.uploadPlan(1) : null;
  const small = plan?.singlePut && opts.batch !== false ? local.files.filter((f) => isSmall(f.size, plan)) : [];
  const smallSet = new Set(small);
  const large = local.files.filter((f) => !smallSet.has(f));
  const concurrency = opts.concurrency ?? DEFAULT_UPLOAD_CONCURRENCY;
  const bySmall = new Map(small.map((f) => [f.path, f]));
  await Promise.all([
    small.length && uploadSmallFiles(client.api, plan!, small.map((f) => ({ path: f.path, remotePath: remoteJoin(root, f.rel), size: f.size })), {
      concurrency: Math.max(concurrency, opts.files ?? DEFAULT_TREE_FILES) * 2,
      signal,
      onDone: (f, r) => record(bySmall.get(f.path)!, r),
      onFailure: (f, e) => recordFailure(result, tally, bySmall.get(f.path)!.rel, e),
      onBytes: (f, n) => tally.file(bySmall.get(f.path)!.rel, n),
    }),
    runTreeFiles(large, { files: opts.files ?? DEFAULT_TREE_FILES, concurrency, signal }, async (file: LocalFile, weight, fileSignal) => {
      record(file, await client.upload(file.path, remoteJoin(root, file.rel), {
        concurrency: weight,
        signal: fileSignal,
        onProgress: (p) => p.phase === 'upload' && tally.file(file.rel, p.bytesDone),
      }));
    }, (file, e) => recordFailure(result, tally, file.rel, e)),
  ]);
  return result;
}

/** The remote tree under `root` and the root folder (null for "/"), empty if there is no folder there yet; CONFLICT if `root` is a file. */
async function remoteTreeOrEmpty(client: TesseraClient, root: string, signal?: AbortSignal): Promise<RemoteTree & { root: FileInfo | null }> {
  const none = { folders: [], files: [], root: null };
  const node = root === '/' ? null : await client.fileByPath(root);
  if (root !== '/' && !node) return none;
  if (node && !node.isFolder) throw new TesseraError('CONFLICT', `${root} is a file, not a folder`);
  try {
    return { ...(await listRemoteTree(client, root, signal)), root: node };
  } catch (e) {
    if (isTesseraError(e, 'NOT_FOUND')) return none;
    throw e;
  }
}
