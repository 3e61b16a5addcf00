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
  @CreateDateColumn() createdAt: Date;
}
