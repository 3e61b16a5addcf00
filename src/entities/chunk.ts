import { Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';
import { bigint } from './columns';

/**
 * A verified part of a revision: what a downloader checks each byte range against, and what a
 * new upload of the same owner may copy inside the store (found by SHA-256: ix_chunks_sha256).
 */
@Entity('chunks')
@Index('ix_chunks_sha256', ['sha256'])
export class Chunk {
  @PrimaryColumn({ type: 'varchar', length: 36 }) revisionId: string;
  @PrimaryColumn({ type: 'int' }) index: number;
  @Column(bigint) offset: number;
  @Column(bigint) size: number;
  @Column({ type: 'varchar', length: 64 }) sha256: string;
  @Column({ type: 'varchar', length: 128, nullable: true }) etag: string | null;
  @CreateDateColumn() createdAt: Date;
}
