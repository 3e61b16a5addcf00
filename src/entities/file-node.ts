import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import { bigint } from './columns';

export type FileStatus = 'UPLOADING' | 'AVAILABLE' | 'DELETED';

/**
 * A file or folder in its owner's tree. Paths are compared byte-exactly through `pathKey`
 * (SHA-256 of the path), which also keeps the unique index short on MariaDB; a deleted node
 * has no pathKey, so its path can be reused.
 */
@Entity('files')
@Index('uq_files_owner_path', ['ownerId', 'pathKey'], { unique: true })
@Index('ix_files_owner_parent', ['ownerId', 'parentKey'])
export class FileNode {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column({ type: 'varchar', length: 36 }) ownerId: string;
  @Column({ type: 'varchar', length: 64, nullable: true }) pathKey: string | null;
  /** pathKey of the parent folder; null for children of the root. */
  @Column({ type: 'varchar', length: 64, nullable: true }) parentKey: string | null;
  @Column({ type: 'text' }) path: string;
  @Column({ type: 'varchar', length: 255 }) name: string;
  @Column({ type: 'boolean', default: false }) isFolder: boolean;
  @Column({ ...bigint, default: 0 }) size: number;
  @Column({ type: 'varchar', length: 255, nullable: true }) mimeType: string | null;
  @Column({ type: 'varchar', length: 64, nullable: true }) contentHash: string | null;
  @Column({ type: 'varchar', length: 16 }) status: FileStatus;
  @Column({ type: 'int', default: 0 }) revision: number;
  @Column({ type: 'varchar', length: 36, nullable: true }) currentRevisionId: string | null;
  @CreateDateColumn() createdAt: Date;
  @UpdateDateColumn() updatedAt: Date;
  @Column({ type: 'datetime', nullable: true }) deletedAt: Date | null;
  /** In the trash: the id of the node whose deletion put it there (itself for the top one). */
  @Column({ type: 'varchar', length: 36, nullable: true }) trashedWithId: string | null;
}
