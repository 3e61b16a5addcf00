import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * A store object that lost (perhaps) its last revision. Garbage collection deletes it once
 * `dueAt` has passed and still no revision references it: dedup and restoreRevision make several
 * revisions share one object, and a grace period covers a dedup racing the purge.
 */
@Entity('orphan_objects')
export class OrphanObject {
  /** SHA-256 of the storage key (keeps the primary key short on MariaDB). */
  @PrimaryColumn({ type: 'varchar', length: 64 }) keyHash: string;
  @Column({ type: 'varchar', length: 1024 }) storageKey: string;
  /** Revisions sharing an object always share owner and content hash: the index to check. */
  @Column({ type: 'varchar', length: 36 }) ownerId: string;
  @Column({ type: 'varchar', length: 64 }) contentHash: string;
  @Column({ type: 'datetime' }) dueAt: Date;
}
