import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** A signed-in client; tokens are bound to a device and die with it. */
@Entity('devices')
export class Device {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Index() @Column({ type: 'varchar', length: 36 }) userId: string;
  @Column({ type: 'varchar', length: 200, nullable: true }) name: string | null;
  @CreateDateColumn() createdAt: Date;
  @Column({ type: 'datetime', nullable: true }) revokedAt: Date | null;
  /** When a request last authenticated with it, to the minute (see AuthService.authenticate). */
  @Column({ type: 'datetime', nullable: true }) lastSeenAt: Date | null;
}
