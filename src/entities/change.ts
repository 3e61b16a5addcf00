import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { bigint } from './columns';

export type ChangeKind = 'CREATED' | 'UPDATED' | 'MOVED' | 'DELETED' | 'SHARED' | 'UNSHARED' | 'RESTORED';

/**
 * The change journal. Positions are per owner namespace (`seq`), taken under the
 * namespace's row lock in `journal_heads`, so they become visible in commit order.
 */
@Entity('changes')
@Index('ix_changes_file', ['fileId'])
@Index('ix_changes_at', ['at'])
export class Change {
  @PrimaryColumn({ type: 'varchar', length: 36 }) namespaceId: string;
  @PrimaryColumn(bigint) seq: number;
  @Column({ type: 'varchar', length: 16 }) kind: ChangeKind;
  @Column({ type: 'varchar', length: 36 }) fileId: string;
  @Column({ type: 'text' }) path: string;
  @Column({ type: 'text', nullable: true }) fromPath: string | null;
  @Column({ type: 'int', default: 0 }) revision: number;
  @Column({ type: 'boolean', default: false }) isFolder: boolean;
  @Column({ type: 'varchar', length: 36, nullable: true }) deviceId: string | null;
  /** For SHARED/UNSHARED: the user the share concerns. */
  @Column({ type: 'varchar', length: 36, nullable: true }) subjectUserId: string | null;
  @Column({ type: 'datetime' }) at: Date;
}

/** The last position handed out in a namespace; its row lock serialises appends. */
@Entity('journal_heads')
export class JournalHead {
  @PrimaryColumn({ type: 'varchar', length: 36 }) namespaceId: string;
  @Column(bigint) lastSeq: number;
  /** Entries up to here were pruned (retention): a cursor before it gets RESET. */
  @Column({ ...bigint, default: 0 }) prunedSeq: number;
}
