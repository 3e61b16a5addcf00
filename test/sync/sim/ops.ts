/**
 * The simulation's operations: plain JSON values, so a failing run prints them and a replay
 * runs exactly them. `who` is a device index (0..2) or 's' (a person editing on the server
 * through the SDK). Every op that writes content carries a unique version tag `v`; the bytes
 * written are `contentOf(v, size)` (or the old bytes + `+v` for an append), so every version
 * in the run is distinguishable. An op that no longer applies when it runs (its path is gone,
 * its target taken, its parent a file) is skipped: dropping ops while minimizing never makes a
 * list invalid.
 */
export type Who = number | 's';

export type Op =
  /** Create or overwrite a file (missing parent folders are created). */
  | { t: 'write'; who: Who; path: string; v: string; size: number }
  | { t: 'append'; who: Who; path: string; v: string }
  | { t: 'mkdir'; who: Who; path: string }
  /** Move or rename a file or folder (a case-only rename is a move to the same name in another case). */
  | { t: 'move'; who: Who; from: string; to: string }
  /** Delete a file, or a folder with everything in it. */
  | { t: 'rm'; who: Who; path: string }
  /** Replace a file by a folder holding one new file, or a folder by a new file, at the same path. */
  | { t: 'swap'; who: Who; path: string; v: string; size: number }
  /**
   * Give two files of a device the same mtime (a whole second), as a coarse file-system clock
   * does to files written within one tick (the sync engine must still tell them apart).
   */
  | { t: 'stamp'; who: Who; path: string; like: string }
  /** One complete cycle of device `dev` (skipped while it is offline). */
  | { t: 'sync'; dev: number }
  | { t: 'offline'; dev: number }
  | { t: 'online'; dev: number }
  /**
   * A cycle of `dev` abandoned just before its `at`-th server call (a number, or the first call of
   * that SDK method), then the engine reopened. With `mid` (an upload or download), the call starts
   * and is abandoned part way instead.
   */
  | { t: 'crash'; dev: number; at: number | string; mid?: boolean }
  /**
   * The device's engine is closed and a real `tessera sync <folder> --once` process runs on its
   * folder instead, killed with SIGKILL just before its `at`-th server call (a number, or the
   * first call of that SDK method; see kill-at.cjs); then the engine is reopened.
   */
  | { t: 'kill'; dev: number; at: number | string }
  /** A cycle of `dev` during which, just before its `at`-th server call, `ops` run (other devices' edits and cycles, server edits). */
  | { t: 'race'; dev: number; at: number | string; ops: Op[] }
  /** First op of a run with a second user: the owner's `/sh` is shared with them (sharing.ts; `who`/`dev` MEMBER are theirs). */
  | { t: 'share'; role: 'EDITOR' | 'VIEWER' };

/** Op classes the generator can enable separately (so seeds exercising a known defect can be left out or singled out). */
export const OP_CLASSES = ['files', 'moves', 'folders', 'case', 'swap', 'server', 'offline', 'crash', 'race'] as const;
export type OpClass = (typeof OP_CLASSES)[number];

export function parseClasses(s: string): OpClass[] {
  const list = s.split(',').map((x) => x.trim()).filter(Boolean);
  for (const c of list) if (!(OP_CLASSES as readonly string[]).includes(c)) throw new Error(`unknown op class ${c} (known: ${OP_CLASSES.join(', ')})`);
  return list as OpClass[];
}

/** The bytes of version `v` of `size` bytes (unique per `v`). */
export function contentOf(v: string, size: number): string {
  const head = `<${v}>`;
  return head + '.'.repeat(Math.max(0, size - head.length));
}

/** One line per op, for failure reports. */
export function describeOps(ops: Op[]): string {
  return ops.map((o) => `  ${JSON.stringify(o)},`).join('\n');
}

/** mulberry32: a small deterministic PRNG. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)];
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}
