import type { DataSource } from 'typeorm';
import { Device } from '../entities';
import { AppError } from './errors';
import type { BusEvent, EventBus } from './events';
import type { ChangeEntry, JournalService } from './journal';

export const DEFAULT_POLL_MS = 30_000;

/** What a live feed yields: a change, or the error that ends it (then nothing more). */
export type LiveItem = ChangeEntry | { end: Error };

export interface LiveOptions {
  /** Safety net: look at the journal this often even without a wake-up. */
  pollMs?: number;
  /** Checked on every poll tick: false ends the feed with UNAUTHENTICATED (a revoked device). */
  stillAllowed?: () => Promise<boolean>;
}

/**
 * The journal after `cursor`, then live: every change exactly once, in order. Bus events only
 * wake the reader (a periodic poll covers a lost one, a `resync` after a bus reconnect wakes
 * everyone); the journal is what is delivered. Errors from the journal (RESET, a bad cursor)
 * and a lost authorisation end the feed with an `{ end }` item, so they reach the client as
 * coded GraphQL errors.
 */
export function liveChanges(journal: JournalService, bus: EventBus, namespaces: string[], cursor: string | null, opts: LiveOptions = {}): AsyncIterableIterator<LiveItem> {
  const pollMs = opts.pollMs ?? DEFAULT_POLL_MS;
  const watched = new Set(namespaces);
  const waker = new Waker(bus, (e) => (e.type === 'change' && watched.has(e.namespaceId)) || e.type === 'resync');
  let recheck = false;
  let buffer: ChangeEntry[] = [];
  let position = cursor;
  return closable<LiveItem>(waker, async () => {
    while (!waker.closed) {
      if (recheck) {
        recheck = false;
        if (opts.stillAllowed && !(await opts.stillAllowed())) {
          waker.close();
          return { value: { end: new AppError('UNAUTHENTICATED', 'this device was signed out') }, done: false };
        }
      }
      if (buffer.length) return { value: buffer.shift()!, done: false };
      if (waker.pending) {
        waker.pending = false;
        let page;
        try {
          page = await journal.read(namespaces, position, 500);
        } catch (e) {
          waker.close();
          return { value: { end: e as Error }, done: false };
        }
        position = page.cursor;
        buffer = page.changes;
        waker.pending = page.hasMore;
        continue;
      }
      if (await waker.sleep(pollMs)) {
        waker.pending = true;
        recheck = true;
      }
    }
    return { value: undefined, done: true };
  });
}

/** Yields `snapshot()` now and after every event `matches` accepts, until returned. */
export function watch<T>(bus: EventBus, matches: (e: BusEvent) => boolean, snapshot: () => Promise<T>): AsyncIterableIterator<T> {
  const waker = new Waker(bus, matches);
  return closable<T>(waker, async () => {
    while (!waker.closed) {
      if (waker.pending) {
        waker.pending = false;
        return { value: await snapshot(), done: false };
      }
      await waker.sleep();
    }
    return { value: undefined, done: true };
  });
}

/** An async iterator over `next` whose return/throw close the waker (unsubscribe, free a sleeper). */
function closable<T>(waker: Waker, next: () => Promise<IteratorResult<T>>): AsyncIterableIterator<T> {
  const finish = async (): Promise<IteratorResult<T>> => {
    waker.close();
    return { value: undefined, done: true };
  };
  return {
    [Symbol.asyncIterator]() { return this; },
    next,
    return: finish,
    throw: async (e) => { await finish(); throw e; },
  };
}

/** A flag that matching bus events raise, and a loop can sleep on; `close` unsubscribes and frees a sleeper. */
class Waker {
  /** Raised by an event; starts raised so the first pass reads. */
  pending = true;
  closed = false;
  private release = () => {};
  private readonly unsubscribe: () => void;

  constructor(bus: EventBus, matches: (e: BusEvent) => boolean) {
    this.unsubscribe = bus.subscribe((e) => {
      if (!matches(e)) return;
      this.pending = true;
      this.release();
    });
  }

  /** Resolves on the next event or close (false), or after `timeoutMs` (true). */
  sleep(timeoutMs?: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = timeoutMs === undefined ? undefined : setTimeout(() => resolve(true), timeoutMs);
      this.release = () => { clearTimeout(timer); resolve(false); };
    });
  }

  close(): void {
    this.closed = true;
    this.unsubscribe();
    this.release();
  }
}

/** Live change feeds for signed-in devices: a feed ends when its device is revoked. */
export class LiveService {
  constructor(
    private readonly ds: DataSource,
    private readonly journal: JournalService,
    private readonly bus: EventBus,
    private readonly pollMs = DEFAULT_POLL_MS,
  ) {}

  /** The user's feed after `cursor`, then live, for as long as `deviceId` stays signed in. */
  changes(userId: string, deviceId: string, cursor: string | null): AsyncIterableIterator<LiveItem> {
    return liveChanges(this.journal, this.bus, [userId], cursor, {
      pollMs: this.pollMs,
      stillAllowed: async () => {
        const device = await this.ds.getRepository(Device).findOneBy({ id: deviceId, userId });
        return !!device && !device.revokedAt;
      },
    });
  }
}
