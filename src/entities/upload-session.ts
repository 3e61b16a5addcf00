import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import { bigint } from './columns';

export type UploadStatus = 'ACTIVE' | 'COMPLETED' | 'ABORTED' | 'EXPIRED';

/** A multipart upload in progress; lives in the database so it survives restarts. */
@Entity('upload_sessions')
@Index('ix_sessions_resume', ['ownerId', 'pathKey', 'contentHash', 'status'])
@Index('ix_sessions_expiry', ['status', 'expiresAt'])
/** activeUploads: a user's ACTIVE sessions (the ones they upload, into their own tree or a shared folder). */
@Index('ix_sessions_uploader', ['uploaderId', 'status'])
export class UploadSession {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column({ type: 'varchar', length: 36 }) ownerId: string;
  /** Who uploads: the owner, or an editor of a folder shared by the owner (null: the owner). */
  @Column({ type: 'varchar', length: 36, nullable: true }) uploaderId: string | null;
  @Column({ type: 'varchar', length: 36, nullable: true }) deviceId: string | null;
  @Column({ type: 'text' }) path: string;
  @Column({ type: 'varchar', length: 64 }) pathKey: string;
  @Column(bigint) size: number;
  @Column(bigint) partSize: number;
  @Column({ type: 'varchar', length: 64 }) contentHash: string;
  @Column({ type: 'varchar', length: 255, nullable: true }) mimeType: string | null;
  @Column({ type: 'varchar', length: 16 }) status: UploadStatus;
  @Column({ type: 'varchar', length: 1024 }) storageKey: string;
  /** The store's multipart upload id (null for a one-PUT session, and for one completed at once by dedup). */
  @Column({ type: 'varchar', length: 1024, nullable: true }) storageUploadId: string | null;
  /** The object arrives in one presigned PUT to `storageKey` (a one-part file on a store with `features.presignPut`). */
  @Column({ type: 'boolean', default: false }) singlePut: boolean;
  @Column({ type: 'int', nullable: true }) baseRevision: number | null;
  /** Quota this session holds while ACTIVE (quota.ts): its size less the size of the live file it replaced at begin. */
  @Column({ ...bigint, default: 0 }) reservedBytes: number;
  @Column({ type: 'varchar', length: 36, nullable: true }) fileId: string | null;
  @Column({ type: 'datetime' }) expiresAt: Date;
  @CreateDateColumn() createdAt: Date;
  @UpdateDateColumn() updatedAt: Date;
}
