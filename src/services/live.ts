import type { EventBus } from './events';
import type { ChangeEntry, JournalService } from './journal';

const POLL_MS = 30_000;

/**
 * The journal after `cursor`, then live: every change exactly once, in order. Bus events only
 * wake the reader (a periodic poll covers a lost one); the journal is what is delivered.
 */
export function liveChanges(journal: JournalService, bus: EventBus, namespaces: string[], cursor: string | null): AsyncIterableIterator<ChangeEntry> {
  const watched = new Set(namespaces);
  let pending = true;
  let done = false;
  let wake = () => {};
  let buffer: ChangeEntry[] = [];
  let position = cursor;
  const unsubscribe = bus.subscribe((e) => {
    if (e.type === 'change' && watched.has(e.namespaceId)) {
      pending = true;
      wake();
    }
  });
  const finish = async (): Promise<IteratorResult<ChangeEntry>> => {
    done = true;
    unsubscribe();
    wake();
    return { value: undefined, done: true };
  };
  return {
    [Symbol.asyncIterator]() { return this; },
    async next() {
      while (!done) {
        if (buffer.length) return { value: buffer.shift()!, done: false };
        if (pending) {
          pending = false;
          const page = await journal.read(namespaces, position, 500);
          position = page.cursor;
          buffer = page.changes;
          pending = page.hasMore;
          continue;
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => { pending = true; resolve(); }, POLL_MS);
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
