import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * A public link to a file (`/s/<token>`). Only the SHA-256 of the token is stored, so a
 * database leak does not leak working links; the optional password is stored scrypt-hashed.
 */
@Entity('share_links')
@Index('uq_share_links_token', ['tokenHash'], { unique: true })
@Index('ix_share_links_file', ['fileId'])
export class ShareLink {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column({ type: 'varchar', length: 36 }) fileId: string;
  @Column({ type: 'varchar', length: 36 }) ownerId: string;
  /** Hex SHA-256 of the token handed out once at creation. */
  @Column({ type: 'varchar', length: 64 }) tokenHash: string;
  /** `scrypt$…` or null for a link without a password. */
  @Column({ type: 'varchar', length: 255, nullable: true }) passwordHash: string | null;
  @Column({ type: 'datetime', nullable: true }) expiresAt: Date | null;
  @Column({ type: 'datetime', nullable: true }) revokedAt: Date | null;
  @CreateDateColumn() createdAt: Date;
}
