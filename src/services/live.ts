import type { DataSource } from 'typeorm';
import { Device } from '../entities';
import { AppError } from './errors';
import type { EventBus } from './events';
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
  let pending = true;
  let recheck = false;
  let done = false;
  let wake = () => {};
  let buffer: ChangeEntry[] = [];
  let position = cursor;
  const unsubscribe = bus.subscribe((e) => {
    if ((e.type === 'change' && watched.has(e.namespaceId)) || e.type === 'resync') {
      pending = true;
      wake();
    }
  });
  const finish = async (): Promise<IteratorResult<LiveItem>> => {
    done = true;
    unsubscribe();
    wake();
    return { value: undefined, done: true };
  };
  return {
    [Symbol.asyncIterator]() { return this; },
    async next() {
      while (!done) {
        if (recheck) {
          recheck = false;
          if (opts.stillAllowed && !(await opts.stillAllowed())) {
            await finish();
            return { value: { end: new AppError('UNAUTHENTICATED', 'this device was signed out') }, done: false };
          }
        }
        if (buffer.length) return { value: buffer.shift()!, done: false };
        if (pending) {
          pending = false;
          let page;
          try {
            page = await journal.read(namespaces, position, 500);
          } catch (e) {
            await finish();
            return { value: { end: e as Error }, done: false };
          }
          position = page.cursor;
          buffer = page.changes;
          pending = page.hasMore;
          continue;
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => { pending = true; recheck = true; resolve(); }, pollMs);
          wake = () => { clearTimeout(timer); resolve(); };
        });
      }
      return { value: undefined, done: true };
    },
    return: finish,
    throw: async (e) => { await finish(); throw e; },
  };
}

/** Yields `snapshot()` now and after every event `matches` accepts, until returned. */
export function watch<T>(bus: EventBus, matches: (e: Parameters<Parameters<EventBus['subscribe']>[0]>[0]) => boolean, snapshot: () => Promise<T>): AsyncIterableIterator<T> {
  let pending = true;
  let done = false;
  let wake = () => {};
  const unsubscribe = bus.subscribe((e) => {
    if (matches(e)) { pending = true; wake(); }
  });
  const finish = async (): Promise<IteratorResult<T>> => {
    done = true;
    unsubscribe();
    wake();
    return { value: undefined, done: true };
  };
  return {
    [Symbol.asyncIterator]() { return this; },
    async next() {
      while (!done) {
        if (pending) {
          pending = false;
          return { value: await snapshot(), done: false };
        }
        await new Promise<void>((resolve) => { wake = resolve; });
      }
      return { value: undefined, done: true };
    },
    return: finish,
    throw: async (e) => { await finish(); throw e; },
  };
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
