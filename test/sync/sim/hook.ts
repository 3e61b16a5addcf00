import type { TesseraClient } from '../../../clients/sdk/client';

/** The SDK methods through which the sync engine talks to the server (each one "server call" of the engine). */
export const SERVER_CALLS = new Set([
  'me', 'devices', 'fileByPath', 'listFolder', 'createFolder', 'moveFile', 'deleteFile', 'uploadPlan',
  'latestCursor', 'changes', 'upload', 'download',
]);

/**
 * The interleaving seam: the engine is given (as its `client` option, which it uses for every
 * server call, and as its default change feed) a Proxy of the device's real TesseraClient that
 * counts the engine's calls. Armed with `at` (a 1-based call number, or the first call of an SDK
 * method by name), it either runs `race` before that call and then lets it through, or "crashes":
 * that call and every later one never return, so the abandoned cycle stops where it was.
 * Nothing else is changed: the calls go to the real client, server and file system.
 */
export class CallHook {
  count = 0;
  /** Calls made so far, by SDK method (for failure reports). */
  readonly log: string[] = [];
  private at: number | string | null = null;
  private mode: 'race' | 'crash' = 'race';
  private race: (() => Promise<void>) | null = null;
  crashed = false;
  fired = false;
  /** Calls let through and not yet answered. */
  inFlight = 0;

  arm(at: number | string, mode: 'race' | 'crash', race?: () => Promise<void>): void {
    this.at = at;
    this.mode = mode;
    this.race = race ?? null;
    this.fired = false;
  }

  disarm(): void {
    this.at = null;
    this.race = null;
  }

  /** Runs before each of the engine's server calls. */
  async before(name: string): Promise<void> {
    if (this.crashed) return never();
    this.count++;
    this.log.push(name);
    const hit = this.at !== null && !this.fired && (typeof this.at === 'number' ? this.count >= this.at : this.at === name);
    if (!hit) return;
    this.fired = true;
    if (this.mode === 'crash') {
      this.crashed = true;
      return never();
    }
    const race = this.race;
    this.race = null;
    await race?.();
  }

  wrap(client: TesseraClient): TesseraClient {
    return new Proxy(client, {
      get: (target, prop, receiver) => {
        const value = Reflect.get(target, prop, target);
        if (typeof value !== 'function' || typeof prop !== 'string' || !SERVER_CALLS.has(prop)) {
          return typeof value === 'function' ? value.bind(target) : value;
        }
        void receiver;
        return async (...args: unknown[]) => {
          await this.before(prop);
          this.inFlight++;
          try {
            return await value.apply(target, args);
          } finally {
            this.inFlight--;
          }
        };
      },
    });
  }
}

function never(): Promise<never> {
  return new Promise<never>(() => undefined);
}
