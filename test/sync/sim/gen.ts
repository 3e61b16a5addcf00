import type { Op, OpClass, Rng, Who } from './ops';

export type Kind = 'file' | 'folder';
/** A side's tree: relative path ("/a/b") -> kind. */
export type Kinds = Map<string, Kind>;

export interface GenOptions {
  devices: number;
  classes: ReadonlySet<OpClass>;
  /**
   * The devices this generator acts for (default: all of 0..devices-1, and the server with the
   * server class): the ones whose cycles, crashes, races and offline periods it picks, and whose
   * edits it picks (the server's too, unless `acting` is given). The others (and the server) still
   * edit inside the acting devices' races. sharing.ts uses it for the member's device.
   */
  acting?: readonly number[];
  /**
   * Devices beyond 0..devices-1 that also edit, then cycle, inside the acting devices' races
   * (run.ts: the member's device in a sharing run; its tree is its mount).
   */
  racers?: readonly number[];
}

export interface GenState {
  offline: Set<number>;
  /** Next version number. */
  seq: number;
}

const MAX_DEPTH = 3;

/**
 * The next op of a run, chosen by `rng` from what `tree(who)` holds now (so a move or a delete
 * names something that exists). Roughly a third are cycles of a device; with the classes
 * enabled, some cycles crash or race, and devices go offline and come back.
 */
export async function nextOp(rng: Rng, o: GenOptions, st: GenState, tree: (who: Who) => Promise<Kinds>): Promise<Op> {
  const has = (c: OpClass) => o.classes.has(c);
  const acting = o.acting ?? [...Array(o.devices).keys()];
  const online = acting.filter((d) => !st.offline.has(d));
  const r = rng.next();
  if (r < 0.3 && online.length > 0) {
    const dev = rng.pick(online);
    const x = rng.next();
    if (has('crash') && x < 0.15) {
      const at = callPoint(rng);
      // one crash in six is a kill -9 of a real `tessera sync --once` process (a process costs ~0.5 s)
      if (rng.chance(1 / 6)) return { t: 'kill', dev, at };
      return at === 'download' || at === 'upload' ? { t: 'crash', dev, at, mid: rng.chance(0.5) } : { t: 'crash', dev, at };
    }
    if (has('race') && x > 0.7) {
      const whos: Who[] = [...[...Array(o.devices).keys()].filter((d) => d !== dev), ...(o.racers ?? []), ...(has('server') ? ['s' as const] : [])];
      if (whos.length > 0) {
        const who = rng.pick(whos);
        const inner: Op[] = [];
        const n = rng.int(1, 2);
        for (let i = 0; i < n; i++) {
          const e = editOp(rng, o, st, who, await tree(who));
          if (e) inner.push(e);
        }
        if (typeof who === 'number') inner.push({ t: 'sync', dev: who });
        return { t: 'race', dev, at: callPoint(rng), ops: inner };
      }
    }
    return { t: 'sync', dev };
  }
  if (has('offline') && r < 0.36) {
    const dev = rng.pick(acting);
    return st.offline.has(dev) ? { t: 'online', dev } : { t: 'offline', dev };
  }
  const whos: Who[] = [...acting, ...(has('server') && !o.acting ? ['s' as const] : [])];
  for (let attempt = 0; attempt < 5; attempt++) {
    const who = rng.pick(whos);
    const e = editOp(rng, o, st, who, await tree(who));
    if (e) return e;
  }
  return { t: 'sync', dev: rng.pick(acting) };
}

/** Where a race or crash strikes: the k-th server call of the cycle, or half the time the first call of a method that changes something. */
function callPoint(rng: Rng): number | string {
  return rng.chance(0.5) ? rng.int(1, 8) : rng.pick(['upload', 'download', 'moveFile', 'deleteFile', 'createFolder']);
}

/** An edit by `who` on its tree `t`, or null when the chosen kind has nothing to act on. */
function editOp(rng: Rng, o: GenOptions, st: GenState, who: Who, t: Kinds): Op | null {
  const has = (c: OpClass) => o.classes.has(c);
  const files = [...t].filter(([, k]) => k === 'file').map(([p]) => p);
  const folders = [...t].filter(([, k]) => k === 'folder').map(([p]) => p);
  const v = () => `${typeof who === 'number' ? `d${who}` : 's'}v${st.seq++}`;
  const size = () => rng.int(8, 20);
  const kinds: string[] = [];
  if (has('files')) kinds.push('new', 'new', 'edit', 'edit', 'append', 'rmfile', ...(typeof who === 'number' && files.length > 1 ? ['stamp'] : []));
  if (has('moves')) kinds.push('movefile', 'movefile');
  if (has('folders')) kinds.push('mkdir', 'movefolder', 'rmfolder', 'newdeep');
  if (has('case')) kinds.push('case');
  if (has('swap')) kinds.push('swap');
  switch (rng.pick(kinds)) {
    case 'new': {
      const path = freePath(rng, o, t, folders);
      return path ? { t: 'write', who, path, v: v(), size: size() } : null;
    }
    case 'newdeep': {
      const base = freePath(rng, o, t, folders);
      if (!base || depth(base) >= MAX_DEPTH) return null;
      return { t: 'write', who, path: `${base}/${rng.pick(names(o))}`, v: v(), size: size() };
    }
    case 'edit':
      return files.length ? { t: 'write', who, path: rng.pick(files), v: v(), size: size() } : null;
    case 'append':
      return files.length ? { t: 'append', who, path: rng.pick(files), v: v() } : null;
    case 'stamp': {
      const path = rng.pick(files);
      const like = rng.pick(files.filter((f) => f !== path));
      return { t: 'stamp', who, path, like };
    }
    case 'rmfile':
      return files.length ? { t: 'rm', who, path: rng.pick(files) } : null;
    case 'rmfolder':
      return folders.length ? { t: 'rm', who, path: rng.pick(folders) } : null;
    case 'mkdir': {
      const path = freePath(rng, o, t, folders);
      return path ? { t: 'mkdir', who, path } : null;
    }
    case 'movefile':
    case 'movefolder': {
      const from = rng.pick(files.length && folders.length ? (rng.chance(0.5) ? files : folders) : files.length ? files : folders);
      if (!from) return null;
      const to = freePath(rng, o, t, folders.filter((f) => f !== from && !f.startsWith(from + '/')));
      return to ? { t: 'move', who, from, to } : null;
    }
    case 'case': {
      const all = [...t.keys()];
      if (!all.length) return null;
      const from = rng.pick(all);
      const name = from.slice(from.lastIndexOf('/') + 1);
      const flipped = name === name.toLowerCase() ? name.toUpperCase() : name.toLowerCase();
      return { t: 'move', who, from, to: from.slice(0, from.lastIndexOf('/') + 1) + flipped };
    }
    case 'swap': {
      const all = [...t.keys()];
      return all.length ? { t: 'swap', who, path: rng.pick(all), v: v(), size: size() } : null;
    }
  }
  return null;
}

function names(o: GenOptions): string[] {
  return o.classes.has('case') ? ['a', 'b', 'c', 'A'] : ['a', 'b', 'c'];
}

/** A path not in `t` (nor, without the case class, a case variant of one) under one of `parents` or the root. */
function freePath(rng: Rng, o: GenOptions, t: Kinds, parents: string[]): string | null {
  const taken = o.classes.has('case') ? new Set(t.keys()) : new Set([...t.keys()].map((p) => p.toLowerCase()));
  const under = ['', ...parents.filter((p) => depth(p) < MAX_DEPTH)];
  for (let i = 0; i < 4; i++) {
    const p = `${rng.pick(under)}/${rng.pick(names(o))}`;
    if (!taken.has(o.classes.has('case') ? p : p.toLowerCase())) return p;
  }
  return null;
}

const depth = (p: string) => p.split('/').length - 1;
