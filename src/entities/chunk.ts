import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';
import { bigint } from './columns';

/** A verified part of a revision: what a downloader checks each byte range against. */
@Entity('chunks')
export class Chunk {
  @PrimaryColumn({ type: 'varchar', length: 36 }) revisionId: string;
  @PrimaryColumn({ type: 'int' }) index: number;
  @Column(bigint) offset: number;
  @Column(bigint) size: number;
  @Column({ type: 'varchar', length: 64 }) sha256: string;
  @Column({ type: 'varchar', length: 128, nullable: true }) etag: string | null;
  @CreateDateColumn() createdAt: Date;
}
