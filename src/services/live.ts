import type { DataSource } from 'typeorm';
import { Device } from '../entities';
import { AppError } from './errors';
import type { BusEvent, EventBus } from './events';
import type { ChangeEntry, JournalService } from './journal';

export const DEFAULT_POLL_MS = 30_000;

/** The item that ends a feed with an error (then nothing more). */
export interface Ended { end: Error }

/** What a live feed yields: a change, or the error that ends it. */
export type LiveItem = ChangeEntry | Ended;

export interface LiveOptions {
  /** Safety net: look at the journal (and `stillAllowed`) this often even without a wake-up. */
  pollMs?: number;
  /** Checked at the start, on every poll tick, after a `resync` and after a `recheckOn` event: false ends the feed with UNAUTHENTICATED (a revoked device). */
  stillAllowed?: () => Promise<boolean>;
  /** Bus events after which `stillAllowed` is checked at once (this feed's device was revoked, on any instance). */
  recheckOn?: (e: BusEvent) => boolean;
}

const signedOut = () => ({ end: new AppError('UNAUTHENTICATED', 'this device was signed out') });

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
  const waker = new Waker(bus, (e) => (e.type === 'change' && watched.has(e.namespaceId)) || e.type === 'resync', alerts(opts));
  let buffer: ChangeEntry[] = [];
  let position = cursor;
  return closable<LiveItem>(waker, async () => {
    while (!waker.closed) {
      if (await lostAuthorisation(waker, opts)) return { value: signedOut(), done: false };
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
        waker.alerted = true;
      }
    }
    return { value: undefined, done: true };
  });
}

/**
 * Yields `snapshot()` now and after every event `matches` accepts, until returned; with
 * `stillAllowed`, ends with UNAUTHENTICATED as a live feed does.
 */
export function watch<T>(bus: EventBus, matches: (e: BusEvent) => boolean, snapshot: () => Promise<T>, opts: LiveOptions = {}): AsyncIterableIterator<T | Ended> {
  const waker = new Waker(bus, matches, alerts(opts));
  const pollMs = opts.stillAllowed ? opts.pollMs ?? DEFAULT_POLL_MS : undefined;
  return closable<T | Ended>(waker, async () => {
    while (!waker.closed) {
      if (await lostAuthorisation(waker, opts)) return { value: signedOut(), done: false };
      if (waker.pending) {
        waker.pending = false;
        return { value: await snapshot(), done: false };
      }
      if (await waker.sleep(pollMs)) waker.alerted = true;
    }
    return { value: undefined, done: true };
  });
}

/** After an alert, checks `stillAllowed` once; true (and the waker closed) when the feed must end. */
async function lostAuthorisation(waker: Waker, opts: LiveOptions): Promise<boolean> {
  if (!waker.alerted) return false;
  waker.alerted = false;
  if (!opts.stillAllowed || (await opts.stillAllowed())) return false;
  waker.close();
  return true;
}

/** Events that make a feed check its authorisation again: a `resync` (events may be lost) and `recheckOn`. */
function alerts(opts: LiveOptions): ((e: BusEvent) => boolean) | undefined {
  if (!opts.stillAllowed) return undefined;
  return (e) => e.type === 'resync' || !!opts.recheckOn?.(e);
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

/**
 * Flags that bus events raise, and a loop can sleep on: `pending` (look again: events `matches`
 * accepts) and `alerted` (check the authorisation again: events `alert` accepts). `close`
 * unsubscribes and frees a sleeper.
 */
class Waker {
  /** Starts raised so the first pass reads. */
  pending = true;
  /** Starts raised so the first pass checks (a revocation may have come before the subscription). */
  alerted = true;
  closed = false;
  private release = () => {};
  private readonly unsubscribe: () => void;

  constructor(bus: EventBus, matches: (e: BusEvent) => boolean, alert?: (e: BusEvent) => boolean) {
    this.unsubscribe = bus.subscribe((e) => {
      const read = matches(e);
      const check = !!alert?.(e);
      if (!read && !check) return;
      if (read) this.pending = true;
      if (check) this.alerted = true;
      this.release();
    });
  }

  /** Resolves on the next event or close (false), or after `timeoutMs` (true); at once (false) if a flag is raised. */
  sleep(timeoutMs?: number): Promise<boolean> {
    if (this.pending || this.alerted || this.closed) return Promise.resolve(false);
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
    return liveChanges(this.journal, this.bus, [userId], cursor, this.signedIn(userId, deviceId));
  }

  /** `watch` for as long as `deviceId` stays signed in (e.g. an upload's progress). */
  watch<T>(userId: string, deviceId: string, matches: (e: BusEvent) => boolean, snapshot: () => Promise<T>): AsyncIterableIterator<T | Ended> {
    return watch(this.bus, matches, snapshot, this.signedIn(userId, deviceId));
  }

  /** Ends a feed when its device is revoked: at once on the `device-revoked` event, else on the poll tick. */
  private signedIn(userId: string, deviceId: string): LiveOptions {
    return {
      pollMs: this.pollMs,
      stillAllowed: async () => {
        const device = await this.ds.getRepository(Device).findOneBy({ id: deviceId, userId });
        return !!device && !device.revokedAt;
      },
      recheckOn: (e) => e.type === 'device-revoked' && e.deviceId === deviceId,
    };
  }
}
