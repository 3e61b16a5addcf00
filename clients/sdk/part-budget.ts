/**
 * A budget of part slots shared by the files of a folder transfer, so that several files in
 * flight never have more than `size` parts in flight together. Slots are granted first come,
 * first served: a big file waiting for its slots is not overtaken by later small files.
 */
export class PartBudget {
  private free: number;
  private readonly waiting: { n: number; grant: () => void }[] = [];

  constructor(readonly size: number) {
    this.free = size;
  }

  /**
   * Waits for `n` slots (at most the whole budget) and resolves with the function that gives
   * them back (calling it again does nothing). Rejects with the signal's reason when aborted
   * while waiting.
   */
  async take(n: number, signal?: AbortSignal): Promise<() => void> {
    const want = Math.max(1, Math.min(n, this.size));
    signal?.throwIfAborted();
    if (this.waiting.length > 0 || this.free < want) {
      await new Promise<void>((resolve, reject) => {
        const entry = { n: want, grant: () => { signal?.removeEventListener('abort', onAbort); resolve(); } };
        const onAbort = () => {
          const i = this.waiting.indexOf(entry);
          if (i >= 0) this.waiting.splice(i, 1);
          this.drain();
          reject(signal!.reason);
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        this.waiting.push(entry);
      });
    } else {
      this.free -= want;
    }
    let given = false;
    return () => {
      if (given) return;
      given = true;
      this.free += want;
      this.drain();
    };
  }

  private drain(): void {
    while (this.waiting.length > 0 && this.free >= this.waiting[0].n) {
      const next = this.waiting.shift()!;
      this.free -= next.n;
      next.grant();
    }
  }
}
