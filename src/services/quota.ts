import type { DataSource, EntityManager } from 'typeorm';
import { FileNode, User } from '../entities';
import { AppError } from './errors';

/**
 * Per-user storage quotas, kept as counters on the user row (no SUM over a user's files):
 *
 * - `usedBytes`: the sizes of the user's live files (current revisions; folders and the trash
 *   count nothing). Changed in the same transaction as every change to it: a revision committed
 *   (upload, dedup, restoreRevision), a delete to the trash, a restore from it.
 * - `reservedBytes`: what the user's ACTIVE upload sessions hold. `beginUpload` reserves the
 *   session's size minus the size of the live file it replaces (0 if it shrinks it); completing,
 *   aborting or expiring the session releases exactly what it reserved (`UploadSession.reservedBytes`).
 *
 * Both change only under the owner lock (tx.ts `lockOwner`), so concurrent uploads cannot
 * overshoot: a reservation that would make used + reserved exceed the quota is PAYLOAD_TOO_LARGE
 * at `beginUpload`. Restoring from the trash or restoring an old revision is never refused
 * (the bytes are the user's already) and may take usage over the quota; new uploads are then
 * refused until space is freed. A user's `quotaBytes` overrides the default.
 */
export class QuotaService {
  constructor(private readonly ds: DataSource, private readonly defaultQuotaBytes: number) {}

  /** Bytes of the user's live files. */
  async usage(userId: string): Promise<number> {
    const user = await this.ds.getRepository(User).findOneBy({ id: userId });
    return user?.usedBytes ?? 0; // null only before start-up's backfill
  }

  async quota(userId: string): Promise<number> {
    const user = await this.ds.getRepository(User).findOneBy({ id: userId });
    return this.quotaOf(user);
  }

  /**
   * A cheap early refusal outside any transaction (before the store is asked for anything):
   * PAYLOAD_TOO_LARGE if `bytes` more could not be reserved now. Not a guarantee: `reserve` is.
   */
  async precheck(ownerId: string, bytes: number): Promise<void> {
    if (bytes <= 0) return;
    const user = await this.ds.getRepository(User).findOneBy({ id: ownerId });
    if (user) this.refuseOver(user, bytes, 0);
  }

  /**
   * Inside a transaction that called `lockOwner(ownerId)` first: reserves `bytes` for an upload
   * session, or PAYLOAD_TOO_LARGE if used + reserved + bytes would exceed the quota.
   */
  async reserve(m: EntityManager, ownerId: string, bytes: number): Promise<void> {
    if (bytes <= 0) return;
    const user = await m.findOneByOrFail(User, { id: ownerId });
    this.refuseOver(user, bytes, 0);
    await m.increment(User, { id: ownerId }, 'reservedBytes', bytes);
  }

  /**
   * Inside a locked transaction committing a revision that grows usage by `delta` for a session
   * that reserved `reserved`: nothing to check when the reservation covers it; otherwise (the
   * file it replaced was moved away meanwhile, or a dedup without a session) PAYLOAD_TOO_LARGE
   * unless the quota has room for the excess beyond the other sessions' reservations.
   */
  async checkCommit(m: EntityManager, ownerId: string, delta: number, reserved: number): Promise<void> {
    if (delta <= reserved) return;
    const user = await m.findOneByOrFail(User, { id: ownerId });
    this.refuseOver(user, delta, reserved);
  }

  /** Bytes `user` (a row read under the owner lock) may still reserve: quota - used - reserved. */
  roomOf(user: User): number {
    return this.quotaOf(user) - (user.usedBytes ?? 0) - user.reservedBytes;
  }

  private refuseOver(user: User, bytes: number, ownReservation: number): void {
    const quota = this.quotaOf(user);
    const committed = (user.usedBytes ?? 0) + user.reservedBytes - ownReservation;
    if (committed + bytes > quota) {
      throw new AppError('PAYLOAD_TOO_LARGE', 'storage quota exceeded', {
        quotaBytes: String(quota), usageBytes: String(user.usedBytes ?? 0), reservedBytes: String(user.reservedBytes), requestedBytes: String(bytes),
      });
    }
  }

  quotaOf(user: User | null): number {
    return user?.quotaBytes ?? this.defaultQuotaBytes;
  }
}

/** Inside a locked transaction: the owner's live files grew (or shrank, negative) by `delta` bytes. */
export async function addUsage(m: EntityManager, ownerId: string, delta: number): Promise<void> {
  if (delta) await m.increment(User, { id: ownerId }, 'usedBytes', delta);
}

/** Inside a locked transaction: a session that held `bytes` left ACTIVE. */
export async function releaseReservation(m: EntityManager, ownerId: string, bytes: number): Promise<void> {
  if (bytes) await m.decrement(User, { id: ownerId }, 'reservedBytes', bytes);
}

/** What a set of nodes counts towards usage (live files only). */
export function countedBytes(nodes: Pick<FileNode, 'isFolder' | 'status' | 'size'>[]): number {
  return nodes.reduce((sum, n) => sum + (!n.isFolder && n.status === 'AVAILABLE' ? n.size : 0), 0);
}

/**
 * Sets `usedBytes` from the files where it is unknown (NULL: a database from before the
 * counter existed; on MariaDB the migration does the same). Run once at start-up.
 */
export async function backfillUsage(ds: DataSource): Promise<void> {
  await ds.query(
    `UPDATE users SET usedBytes = (SELECT COALESCE(SUM(f.size), 0) FROM files f WHERE f.ownerId = users.id AND f.status = 'AVAILABLE' AND f.isFolder = 0) WHERE usedBytes IS NULL`,
  );
}
