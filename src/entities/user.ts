import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { bigint } from './columns';

@Entity('users')
export class User {
  @PrimaryGeneratedColumn('uuid') id: string;
  /** Stored lower-cased. */
  @Column({ type: 'varchar', length: 320, unique: true }) email: string;
  @Column({ type: 'varchar', length: 200, nullable: true }) name: string | null;
  /** `scrypt$N$r$p$salt$hash`, never the password. */
  @Column({ type: 'varchar', length: 255 }) passwordHash: string;
  /** Storage quota in bytes; null means the configured default. */
  @Column({ ...bigint, nullable: true }) quotaBytes: number | null;
  /**
   * Bytes of the user's live files (quota.ts), changed under the owner lock with every change to
   * them. Null only in a database from before the counter, until start-up's backfill (backfillUsage).
   */
  @Column({ ...bigint, nullable: true }) usedBytes: number | null = 0;
  /** Bytes reserved by the user's ACTIVE upload sessions (the sum of their `reservedBytes`). */
  @Column({ ...bigint, default: 0 }) reservedBytes: number = 0;
  @CreateDateColumn() createdAt: Date;
}
