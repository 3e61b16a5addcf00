import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

export type ShareRole = 'VIEWER' | 'EDITOR';

/** A file or folder shared by its owner with another user. */
@Entity('shares')
@Index('uq_shares_file_user', ['fileId', 'userId'], { unique: true })
@Index('ix_shares_user', ['userId'])
@Index('ix_shares_owner', ['ownerId'])
export class Share {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column({ type: 'varchar', length: 36 }) fileId: string;
  @Column({ type: 'varchar', length: 36 }) ownerId: string;
  @Column({ type: 'varchar', length: 36 }) userId: string;
  @Column({ type: 'varchar', length: 16 }) role: ShareRole;
  @CreateDateColumn() createdAt: Date;
}
