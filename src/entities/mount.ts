import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * Where a file or folder shared with a member appears in the member's own tree (a Dropbox-style
 * mount). One per share; removed with the share. `path` is in the member's tree; the shared
 * node keeps its own path in its owner's tree. Paths compare byte-exactly through `pathKey`.
 */
@Entity('mounts')
@Index('uq_mounts_member_path', ['memberId', 'pathKey'], { unique: true })
@Index('uq_mounts_member_file', ['memberId', 'fileId'], { unique: true })
@Index('ix_mounts_member_parent', ['memberId', 'parentKey'])
@Index('ix_mounts_owner', ['ownerId'])
export class Mount {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column({ type: 'varchar', length: 36 }) memberId: string;
  /** The shared node's owner (never changes). */
  @Column({ type: 'varchar', length: 36 }) ownerId: string;
  /** The shared node (the share's file). */
  @Column({ type: 'varchar', length: 36 }) fileId: string;
  @Column({ type: 'text' }) path: string;
  @Column({ type: 'varchar', length: 64 }) pathKey: string;
  /** pathKey of the parent folder in the member's tree; null at the root. */
  @Column({ type: 'varchar', length: 64, nullable: true }) parentKey: string | null;
  @Column({ type: 'varchar', length: 255 }) name: string;
  @CreateDateColumn() createdAt: Date;
}
