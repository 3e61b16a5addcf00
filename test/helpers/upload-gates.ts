import type { UploadHookPoint, UploadHooks } from '../../src/services/session-locks';

interface Gate {
  reached: Promise<void>;
  release(): void;
}

/**
 * UploadService hooks for forced interleavings: `hold(point)` stops the next call that
 * reaches `point` until `release()`; `seen(point)` resolves when any call reaches it. Calls
 * that reach a point nobody holds pass at once. No timers: every step waits for an event.
 */
export class UploadGates implements UploadHooks {
  private readonly held = new Map<UploadHookPoint, { reached: () => void; released: Promise<void> }>();
  private readonly watchers: { point: UploadHookPoint; resolve: () => void }[] = [];
  readonly log: UploadHookPoint[] = [];

  async at(point: UploadHookPoint): Promise<void> {
    this.log.push(point);
    for (const w of this.watchers.filter((x) => x.point === point)) {
      this.watchers.splice(this.watchers.indexOf(w), 1);
      w.resolve();
    }
    const gate = this.held.get(point);
    if (!gate) return;
    this.held.delete(point);
    gate.reached();
    await gate.released;
  }

  hold(point: UploadHookPoint): Gate {
    let reached!: () => void;
    let release!: () => void;
    const r = new Promise<void>((res) => (reached = res));
    const released = new Promise<void>((res) => (release = res));
    this.held.set(point, { reached, released });
    return { reached: r, release };
  }

  seen(point: UploadHookPoint): Promise<void> {
    return new Promise((resolve) => this.watchers.push({ point, resolve }));
  }

  clear(): void {
    this.held.clear();
    this.watchers.length = 0;
    this.log.length = 0;
  }
}
