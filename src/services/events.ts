import { EventEmitter } from 'node:events';

/** What is published after a commit: a wake-up hint, never the truth (the journal is). */
export type BusEvent =
  | { type: 'change'; namespaceId: string; seq: number }
  | { type: 'upload'; sessionId: string }
  /** One of `userId`'s upload sessions (as uploader) began or ended: their activeUploads changed. */
  | { type: 'uploads'; userId: string }
  /** A device was signed out: its live feeds, on every instance, look at once and end. */
  | { type: 'device-revoked'; userId: string; deviceId: string }
  /** Events may have been lost (the bus reconnected): every reader should look again. */
  | { type: 'resync' };

/**
 * Fan-out of events to subscribers, in-process by default; a Redis-backed bus lets
 * several API instances share one user base.
 */
export interface EventBus {
  publish(event: BusEvent): Promise<void>;
  /** Returns an unsubscribe function. */
  subscribe(listener: (event: BusEvent) => void): () => void;
  close(): Promise<void>;
  /** Connection states of a bus that talks to Redis ("ready", "reconnecting", …), for the metrics. */
  redisStatus?(): Record<string, string>;
}

export class LocalEventBus implements EventBus {
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  async publish(event: BusEvent): Promise<void> {
    this.emitter.emit('event', event);
  }

  subscribe(listener: (event: BusEvent) => void): () => void {
    this.emitter.on('event', listener);
    return () => this.emitter.off('event', listener);
  }

  async close(): Promise<void> {
    this.emitter.removeAllListeners();
  }
}
