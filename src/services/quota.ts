import type { DataSource } from 'typeorm';
import { FileNode, User } from '../entities';
import { AppError } from './errors';

/**
 * Per-user storage quotas. Usage is the sum of the sizes of the user's live files (their
 * current revisions; folders count nothing). A user's `quotaBytes` overrides the default.
 * Checked when an upload begins: uploads already under way are not reserved, so several
 * concurrent uploads may overshoot by at most their own sizes.
 */
export class QuotaService {
  constructor(private readonly ds: DataSource, private readonly defaultQuotaBytes: number) {}

  async usage(userId: string): Promise<number> {
    const row = await this.ds.getRepository(FileNode).createQueryBuilder('f')
      .select('COALESCE(SUM(f.size), 0)', 'total')
      .where('f.ownerId = :userId AND f.status = :status AND f.isFolder = 0', { userId, status: 'AVAILABLE' })
      .getRawOne<{ total: string | number }>();
    return Number(row?.total ?? 0);
  }

  async quota(userId: string): Promise<number> {
    const user = await this.ds.getRepository(User).findOneBy({ id: userId });
    return user?.quotaBytes ?? this.defaultQuotaBytes;
  }

  /** PAYLOAD_TOO_LARGE unless `ownerId` can store `additionalBytes` more (negative: shrinking). */
  async check(ownerId: string, additionalBytes: number): Promise<void> {
    if (additionalBytes <= 0) return;
    const [usage, quota] = await Promise.all([this.usage(ownerId), this.quota(ownerId)]);
    if (usage + additionalBytes > quota) {
      throw new AppError('PAYLOAD_TOO_LARGE', 'storage quota exceeded', { quotaBytes: String(quota), usageBytes: String(usage), requestedBytes: String(additionalBytes) });
    }
  }
}
