import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { bigint } from './columns';

/** One immutable version of a file's content; its object in the store never changes. */
@Entity('file_revisions')
@Index('uq_revisions_file_rev', ['fileId', 'revision'], { unique: true })
@Index('ix_revisions_owner_hash', ['ownerId', 'contentHash'])
export class FileRevision {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column({ type: 'varchar', length: 36 }) fileId: string;
  @Column({ type: 'varchar', length: 36 }) ownerId: string;
  @Column({ type: 'int' }) revision: number;
  @Column(bigint) size: number;
  @Column({ type: 'varchar', length: 64 }) contentHash: string;
  @Column({ type: 'varchar', length: 1024 }) storageKey: string;
  @Column(bigint) partSize: number;
  @Column({ type: 'varchar', length: 255, nullable: true }) mimeType: string | null;
  @Column({ type: 'varchar', length: 36, nullable: true }) deviceId: string | null;
  @CreateDateColumn() createdAt: Date;
}
