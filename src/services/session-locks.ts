import { AppError } from './errors';

/**
 * Points in the upload service where a test may pause to force an interleaving (see
 * `UploadService.hooks`). Production runs none.
 * - `complete:assembled`: a completion has assembled the object in the store, nothing committed yet
 * - `presign`: a part PUT is about to be presigned (refreshPartUrls, or a part URL of a session's view)
 * - `resume:listed`: a resume (beginUpload of an ACTIVE session) has read the store's listing
 * - `abort:store`: an abort is about to abort the upload in the store
 * - `lock:wait`: a call waits for the session lock another call holds
 */
export type UploadHookPoint = 'complete:assembled' | 'presign' | 'resume:listed' | 'abort:store' | 'lock:wait';

export interface UploadHooks {
  at(point: UploadHookPoint, sessionId: string): Promise<void> | void;
}

/**
 * Mutual exclusion per key (an upload session id), within this process: `run` calls `fn` once
 * every earlier holder of any of `keys` has finished. Keys are taken in sorted order, so two
 * callers never wait on each other in a cycle. Not reentrant: a holder must not ask again.
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  /** `onWait(key)` hears a caller that has to wait for `key` (tests: see UploadHooks `lock:wait`). */
  constructor(private readonly onWait?: (key: string) => void) {}

  async run<T>(keys: string | string[], fn: () => Promise<T>): Promise<T> {
    const sorted = [...new Set(typeof keys === 'string' ? [keys] : keys)].sort();
    const releases: (() => void)[] = [];
    try {
      for (const key of sorted) releases.push(await this.acquire(key));
      return await fn();
    } finally {
      for (const release of releases.reverse()) release();
    }
  }

  /** Whether a caller holds or waits for `key`. */
  busy(key: string): boolean {
    return this.tails.has(key);
  }

  private async acquire(key: string): Promise<() => void> {
    const prev = this.tails.get(key);
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = (prev ?? Promise.resolve()).then(() => mine);
    this.tails.set(key, tail);
    if (prev) {
      this.onWait?.(key);
      await prev;
    }
    return () => {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    };
  }
}

/**
 * Why a session no longer takes parts, as `extensions.reason` of a PRECONDITION_FAILED:
 * UPLOAD_COMPLETED (its file is stored: `extensions.fileId`; nothing more to send),
 * UPLOAD_ENDED (aborted or expired: nothing of it is stored; begin again),
 * UPLOAD_GONE (the store no longer knows the upload; begin again).
 */
export type SessionEndReason = 'UPLOAD_COMPLETED' | 'UPLOAD_ENDED' | 'UPLOAD_GONE';

/** The coded error for a session that no longer takes parts (see SessionEndReason). */
export function sessionEnded(session: { id: string; status: string; fileId: string | null }, gone = false): AppError {
  if (session.status === 'COMPLETED') {
    return new AppError('PRECONDITION_FAILED', 'upload already completed', { reason: 'UPLOAD_COMPLETED', sessionId: session.id, fileId: session.fileId });
  }
  if (session.status !== 'ACTIVE') {
    return new AppError('PRECONDITION_FAILED', `upload is ${session.status}`, { reason: 'UPLOAD_ENDED', sessionId: session.id, status: session.status });
  }
  return new AppError('PRECONDITION_FAILED', gone ? 'the store no longer knows this upload; begin it again' : `upload is ${session.status}`,
    { reason: 'UPLOAD_GONE', sessionId: session.id });
}
