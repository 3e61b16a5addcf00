import type { DataSource } from 'typeorm';
import { UploadSession } from '../entities';
import { isStorageError } from '../storage/errors';
import type { StorageAdapter } from '../storage/types';
import type { UploadService } from './uploads';

export interface JanitorReport {
  expiredSessions: number;
  abortedOrphans: number;
}

/**
 * Keeps nothing billed in a bucket: expires abandoned sessions (aborting them on the store)
 * and aborts multipart uploads under Tessera's prefix that no active session owns, once they
 * are older than `orphanGraceSeconds` (a session may be between createMultipartUpload and its insert).
 */
export class Janitor {
  constructor(
    private readonly ds: DataSource,
    private readonly storage: StorageAdapter,
    private readonly uploads: UploadService,
    private readonly orphanGraceSeconds = 24 * 3600,
  ) {}

  async run(now = new Date()): Promise<JanitorReport> {
    const expiredSessions = await this.uploads.expireStale(now);
    let abortedOrphans = 0;
    const cutoff = now.getTime() - this.orphanGraceSeconds * 1000;
    for await (const upload of this.storage.listMultipartUploads({ prefix: 'u/' })) {
      if (upload.initiated.getTime() > cutoff) continue;
      const owner = await this.ds.getRepository(UploadSession).findOneBy({ storageUploadId: upload.uploadId, status: 'ACTIVE' });
      if (owner) continue;
      try {
        await this.storage.abortMultipartUpload(upload.key, upload.uploadId);
        abortedOrphans++;
      } catch (e) {
        if (!isStorageError(e, 'NO_SUCH_UPLOAD')) throw e;
      }
    }
    return { expiredSessions, abortedOrphans };
  }
}
