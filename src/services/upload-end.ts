import type { DataSource } from 'typeorm';
import { UploadSession } from '../entities';
import type { EventBus } from './events';
import { releaseReservation } from './quota';
import { sessionEnded, type SessionGuard } from './session-locks';
import { lockOwner, transaction } from './tx';
import { uploaderOf } from './upload-types';
import type { UploadStore } from './upload-store';

/**
 * Ends upload sessions that will not complete: aborted by their uploader, or expired by the
 * janitor. Each end holds the session's lock (SessionGuard), aborts the upload in the store,
 * then marks the session and releases its quota reservation in one transaction under the owner
 * lock; watchers of the session and of the uploader's active uploads are told.
 */
export class SessionEnder {
  constructor(
    private readonly ds: DataSource,
    private readonly store: UploadStore,
    private readonly bus: EventBus,
    private readonly guard: SessionGuard,
  ) {}

  /**
   * Aborts an ACTIVE session; false if it had already ended (aborted or expired). A completed
   * one is PRECONDITION_FAILED with `reason` UPLOAD_COMPLETED. The caller checked ownership.
   */
  abort(sessionId: string): Promise<boolean> {
    return this.guard.locks.run(sessionId, async () => {
      const session = await this.ds.getRepository(UploadSession).findOneByOrFail({ id: sessionId });
      if (session.status === 'COMPLETED') throw sessionEnded(session);
      if (session.status !== 'ACTIVE') return false;
      await this.guard.hook('abort:store', session.id);
      await this.store.abort(session);
      const ended = await this.end(session, 'ABORTED');
      await this.told(session);
      if (!ended) { // completed or ended by another server instance meanwhile
        const fresh = await this.ds.getRepository(UploadSession).findOneByOrFail({ id: sessionId });
        if (fresh.status === 'COMPLETED') throw sessionEnded(fresh);
        return false;
      }
      return true;
    });
  }

  /** Expires up to 500 ACTIVE sessions past their deadline (`now`). Returns how many it ended. */
  async expireStale(now = new Date()): Promise<number> {
    const stale = await this.ds.getRepository(UploadSession).createQueryBuilder('s')
      .where('s.status = :active AND s.expiresAt < :now', { active: 'ACTIVE', now }).limit(500).getMany();
    let expired = 0;
    for (const s of stale) {
      await this.guard.locks.run(s.id, async () => {
        const fresh = await this.ds.getRepository(UploadSession).findOneBy({ id: s.id });
        if (fresh?.status !== 'ACTIVE' || fresh.expiresAt >= now) return; // completed, ended or extended while this waited
        await this.store.abort(fresh);
        if (await this.end(fresh, 'EXPIRED')) expired++;
        await this.told(fresh);
      });
    }
    return expired;
  }

  /**
   * Expires an ACTIVE session with nothing to abort in the store (the store no longer knows the
   * upload, or its object was refused and deleted): its reservation released, its watchers told.
   */
  async expire(session: UploadSession): Promise<void> {
    await this.end(session, 'EXPIRED');
    await this.told(session);
  }

  /** The session ended: its views mint no more URLs, and its and its uploader's watchers hear of it. */
  private async told(session: UploadSession): Promise<void> {
    this.guard.markEnded(session.id);
    await this.bus.publish({ type: 'upload', sessionId: session.id });
    await this.bus.publish({ type: 'uploads', userId: uploaderOf(session) });
  }

  /**
   * Ends an ACTIVE session as ABORTED or EXPIRED and releases its quota reservation, in one
   * transaction under the owner lock. False if it was no longer ACTIVE (completed or ended meanwhile).
   */
  private end(session: UploadSession, status: 'ABORTED' | 'EXPIRED'): Promise<boolean> {
    return transaction(this.ds, async (m) => {
      await lockOwner(m, session.ownerId);
      const fresh = await m.findOneBy(UploadSession, { id: session.id });
      if (fresh?.status !== 'ACTIVE') return false;
      await m.update(UploadSession, { id: session.id }, { status });
      await releaseReservation(m, session.ownerId, fresh.reservedBytes);
      return true;
    });
  }
}
