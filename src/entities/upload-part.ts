import { Column, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import { bigint } from './columns';

export type PartStatus = 'PENDING' | 'UPLOADED' | 'VERIFIED';

/** One declared part of an upload session, with what the store reported for it. */
@Entity('upload_parts')
export class UploadPart {
  @PrimaryColumn({ type: 'varchar', length: 36 }) sessionId: string;
  @PrimaryColumn({ type: 'int' }) partNumber: number;
  @Column(bigint) offset: number;
  @Column(bigint) size: number;
  @Column({ type: 'varchar', length: 64 }) sha256: string;
  @Column({ type: 'varchar', length: 32, nullable: true }) md5: string | null;
  @Column({ type: 'varchar', length: 16 }) status: PartStatus;
  @Column({ type: 'varchar', length: 128, nullable: true }) etag: string | null;
  @UpdateDateColumn() updatedAt: Date;
}
