import type { TesseraClient } from '../../../clients/sdk/client';
import type { Action } from '../../../clients/sync/planner';

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
  /** The engine's server calls since the hook was last armed (or created). */
  count = 0;
  /** Calls made so far, by SDK method (for failure reports). */
  readonly log: string[] = [];
  private at: number | string | null = null;
  private mode: 'race' | 'crash' | 'crash-mid' = 'race';
  private race: (() => Promise<void>) | null = null;
  crashed = false;
  fired = false;
  /** Calls let through and not yet answered. */
  inFlight = 0;

  /**
   * `crash-mid`: the call at `at` starts and is aborted (through the SDK's `signal`, which keeps
   * what a download wrote so far, as a kill would) at its first progress report, then never returns.
   */
  arm(at: number | string, mode: 'race' | 'crash' | 'crash-mid', race?: () => Promise<void>): void {
    this.at = at;
    this.count = 0; // `at` counts the calls of the cycle about to run
    this.mode = mode;
    this.race = race ?? null;
    this.fired = false;
  }

  disarm(): void {
    this.at = null;
    this.race = null;
  }

  /** Runs before each of the engine's server calls; 'mid' asks for the call to be aborted part way. */
  async before(name: string): Promise<'go' | 'mid'> {
    if (this.crashed) return never();
    this.count++;
    this.log.push(name);
    const hit = this.at !== null && !this.fired && (typeof this.at === 'number' ? this.count >= this.at : this.at === name);
    if (!hit) return 'go';
    this.fired = true;
    if (this.mode === 'crash-mid' && (name === 'download' || name === 'upload')) return 'mid';
    if (this.mode === 'crash' || this.mode === 'crash-mid') {
      this.crashed = true;
      return never();
    }
    const race = this.race;
    this.race = null;
    await race?.();
    return 'go';
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
          const how = await this.before(prop);
          this.inFlight++;
          try {
            if (how === 'go') return await value.apply(target, args);
            // transfer(src, dest, opts): abort at the first progress report, as a kill mid-transfer
            const ac = new AbortController();
            const opts = (args[2] ?? {}) as { signal?: AbortSignal; onProgress?: (...a: unknown[]) => void };
            const call = value.apply(target, [args[0], args[1], { ...opts, signal: ac.signal, onProgress: (...a: unknown[]) => { opts.onProgress?.(...a); ac.abort(); } }]);
            await Promise.resolve(call).catch(() => undefined);
            this.crashed = true;
          } finally {
            this.inFlight--;
          }
          return never();
        };
      },
    });
  }
}

function never(): Promise<never> {
  return new Promise<never>(() => undefined);
}

/**
 * The engine's `transferOrder` under the simulation: a plan's parallel transfers run one at a
 * time, in an order drawn from `seed` and each action (type and paths), so one seed is one
 * interleaving of them (the same batch always gets the same order, whatever ran before it,
 * which keeps the order while a failing op list is minimized), and other seeds try other orders.
 */
export function seededTransferOrder(seed: number): (transfers: Action[]) => Action[] {
  const key = (a: Action) => fnv1a(`${seed}:${a.type}:${'from' in a ? a.from : ''}:${a.path}`);
  return (transfers) => transfers.map((a) => [key(a), a] as const).sort((x, y) => x[0] - y[0]).map(([, a]) => a);
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}
