import { normaliseKey } from './keys';
import type { StorageAdapter } from './types';

/**
 * Wraps an adapter so every key (and uploadPartCopy's source key, and listMultipartUploads'
 * prefix) passes `normaliseKey` before the adapter sees it. A bad key rejects with
 * StorageError('INVALID_KEY') and never reaches the store. The wrapped adapter stays
 * reachable as `inner` (see `unwrap`).
 */
export function guardKeys(adapter: StorageAdapter): GuardedStorageAdapter {
  if (adapter instanceof GuardedStorageAdapter) return adapter;
  return new GuardedStorageAdapter(adapter);
}

/** The adapter behind any number of `guardKeys` wrappers. */
export function unwrap(adapter: StorageAdapter): StorageAdapter {
  return adapter instanceof GuardedStorageAdapter ? unwrap(adapter.inner) : adapter;
}

/** A prefix may be empty or end in '/'; what precedes the '/' must be a valid key. */
function normalisePrefix(prefix: string | undefined): string | undefined {
  if (prefix === undefined || prefix === '') return prefix;
  const slash = prefix.endsWith('/');
  const body = normaliseKey(slash ? prefix.slice(0, -1) : prefix);
  return slash ? `${body}/` : body;
}

export class GuardedStorageAdapter implements StorageAdapter {
  constructor(readonly inner: StorageAdapter) {}

  get name() {
    return this.inner.name;
  }
  get limits() {
    return this.inner.limits;
  }
  get checksum() {
    return this.inner.checksum;
  }
  get features() {
    return this.inner.features;
  }

  async createMultipartUpload(...[key, opts]: Parameters<StorageAdapter['createMultipartUpload']>) {
    return this.inner.createMultipartUpload(normaliseKey(key), opts);
  }

  async presignUploadPart(...[key, uploadId, partNumber, opts]: Parameters<StorageAdapter['presignUploadPart']>) {
    return this.inner.presignUploadPart(normaliseKey(key), uploadId, partNumber, opts);
  }

  async presignPut(...[key, opts]: Parameters<StorageAdapter['presignPut']>) {
    return this.inner.presignPut(normaliseKey(key), opts);
  }

  async listParts(...[key, uploadId, opts]: Parameters<StorageAdapter['listParts']>) {
    return this.inner.listParts(normaliseKey(key), uploadId, opts);
  }

  async uploadPartCopy(...[key, uploadId, partNumber, source]: Parameters<StorageAdapter['uploadPartCopy']>) {
    const k = normaliseKey(key);
    return this.inner.uploadPartCopy(k, uploadId, partNumber, { ...source, key: normaliseKey(source.key) });
  }

  async completeMultipartUpload(...[key, uploadId, parts]: Parameters<StorageAdapter['completeMultipartUpload']>) {
    return this.inner.completeMultipartUpload(normaliseKey(key), uploadId, parts);
  }

  async abortMultipartUpload(key: string, uploadId: string) {
    return this.inner.abortMultipartUpload(normaliseKey(key), uploadId);
  }

  async *listMultipartUploads(opts?: { prefix?: string }) {
    const prefix = normalisePrefix(opts?.prefix);
    yield* this.inner.listMultipartUploads({ ...opts, prefix });
  }

  async presignGet(...[key, opts]: Parameters<StorageAdapter['presignGet']>) {
    return this.inner.presignGet(normaliseKey(key), opts);
  }

  async head(key: string) {
    return this.inner.head(normaliseKey(key));
  }

  async *listObjects(prefix: string) {
    yield* this.inner.listObjects(normalisePrefix(prefix) ?? '');
  }

  async delete(key: string) {
    return this.inner.delete(normaliseKey(key));
  }

  async getStream(...[key, range]: Parameters<StorageAdapter['getStream']>) {
    return this.inner.getStream(normaliseKey(key), range);
  }

  async ping() {
    return this.inner.ping();
  }

  async close() {
    await this.inner.close?.();
  }
}
