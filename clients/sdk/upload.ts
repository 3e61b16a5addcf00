/**
 * The Node layer of the upload protocol (./upload-core.ts): a local file, cut into
 * content-defined parts (./chunked-hashing.ts) and hashed on worker threads, its parts streamed from disk over node:http(s). An aborted or killed upload resumes
 * by running it again.
 */
import { stat } from 'node:fs/promises';
import { TesseraError } from './errors';
import type { GraphQLTransport } from './graphql';
import { hashFileChunked } from './chunked-hashing';
import { hashFileParts } from './hashing';
import { filePut } from './part-http';
import { uploadSource, type UploadOptions, type UploadResult, type UploadSource } from './upload-core';

export { DEFAULT_UPLOAD_CONCURRENCY, uploadSource, type UploadOptions, type UploadResult, type UploadSource, type PutResponse } from './upload-core';

/**
 * Uploads `localPath` to `remotePath`. Rejects with TesseraError (server codes, NETWORK, STORE, CHANGED,
 * PROTOCOL) or with the signal's reason when aborted; a file missing from the start is the fs
 * error (ENOENT). CHANGED comes at once, without retries, when the file shrinks or vanishes
 * during the upload (nothing is completed).
 */
export async function uploadFile(api: GraphQLTransport, localPath: string, remotePath: string, opts: UploadOptions = {}): Promise<UploadResult> {
  const info = await stat(localPath); // a file missing from the start is the fs error (ENOENT), as for any command
  if (!info.isFile()) throw new TesseraError('BAD_USER_INPUT', `${localPath} is not a regular file`);
  const hashed = { size: info.size, mtimeMs: info.mtimeMs };
  const source: UploadSource = {
    name: localPath,
    size: info.size,
    hash: (partSize, o) => (o.chunking ? hashFileChunked(localPath, o.chunking, o) : hashFileParts(localPath, partSize, o)).catch(vanished(localPath)),
    put: (url, method, headers, part, count, signal) => filePut(url, method, headers,
      { path: localPath, offset: part.offset, size: part.size }, count, signal, opts.fetch, { idleTimeoutMs: opts.idleTimeoutMs }),
    changed: () => changedSince(localPath, hashed),
  };
  return uploadSource(api, source, remotePath, opts);
}

/** A rejection handler: a file that is not there (any more) is CHANGED, at once; other errors pass. */
function vanished(path: string): (e: unknown) => never {
  return (e) => {
    if ((e as NodeJS.ErrnoException)?.code === 'ENOENT') throw new TesseraError('CHANGED', `${path} vanished while it was being uploaded`, { cause: e });
    throw e;
  };
}

/** Whether the file at `path` is no longer the size or age it had when it was hashed. */
async function changedSince(path: string, hashed: { size: number; mtimeMs: number }): Promise<boolean> {
  const now = await stat(path).catch(() => null);
  return !now || now.size !== hashed.size || now.mtimeMs !== hashed.mtimeMs;
}
