import type { Dirent, Stats } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { join, posix } from 'node:path';
import { sameStat, type LocalEntry, type SyncedEntry, type Tree } from './entries';
import { isIgnoredName, isInside } from './paths';

/** Computes a file's contentHash (see ContentHasher). */
export type HashFn = (absPath: string, size: number) => Promise<string>;

/** A path the scanner could not read (it is left out of the tree, so it is neither uploaded nor deleted remotely). */
export interface ScanProblem { rel: string; error: unknown }

/** The file-system calls a scan makes (default: node:fs/promises); tests wrap it to count calls. */
export interface ScanFs {
  lstat(path: string): Promise<Stats>;
  readdir(path: string, opts: { withFileTypes: true }): Promise<Dirent[]>;
}

export interface ScanOptions {
  /** Paths (relative, "/a/b") left out of the tree, and for a folder, not walked. Default: the state dir and temp files. */
  ignores?: (rel: string, isDir: boolean) => boolean;
  fs?: ScanFs;
}

export interface ScanResult { tree: Tree<LocalEntry>; problems: ScanProblem[] }

/**
 * Walks the sync folder (lstat, no symlinks followed) and returns the local tree. A file is
 * re-hashed only when its size, mtime or inode differ from its synced entry. Skips ignored paths
 * and anything that is neither a regular file nor a folder. A file or folder that vanishes or
 * cannot be read mid-scan is reported in `problems`, and so are its synced descendants kept
 * "as synced" so that an unreadable folder is not taken for a deletion.
 */
export async function scanLocal(root: string, synced: Tree<SyncedEntry>, hash: HashFn, opts: ScanOptions = {}): Promise<ScanResult> {
  const scanner = new Scanner(root, synced, hash, opts, new Map(), undefined);
  await scanner.walk('');
  return { tree: scanner.tree, problems: scanner.problems };
}

/**
 * The local tree from `previous` (a scan's tree under the same ignore rules) with only the
 * `dirty` paths looked at again: each one is lstat'ed and, for a folder, its subtree walked;
 * a path that is gone takes its subtree out of the tree. A dirty path whose parent folder the
 * previous tree does not hold is widened to its topmost missing ancestor; the parent folders
 * of dirty paths get their mtime refreshed. Same guarantees as
 * `scanLocal` (unreadable paths keep their synced entries); the result equals a full scan as
 * long as every change since `previous` lies in or under a dirty path.
 */
export async function rescanLocal(
  root: string, previous: Tree<LocalEntry>, dirty: Iterable<string>, synced: Tree<SyncedEntry>, hash: HashFn, opts: ScanOptions = {},
): Promise<ScanResult> {
  const paths = topmost(widen(dirty, previous));
  if (paths.length === 0) return { tree: previous, problems: [] };
  const tree = new Map(previous);
  const scanner = new Scanner(root, synced, hash, opts, tree, previous);
  for (const rel of paths) {
    for (const p of [...tree.keys()]) if (p === rel || isInside(p, rel)) tree.delete(p);
    await scanner.visit(rel);
  }
  for (const dir of new Set(paths.map((p) => posix.dirname(p)))) if (dir !== '/' && !paths.some((p) => p === dir || isInside(dir, p))) await scanner.refreshFolder(dir);
  return { tree, problems: scanner.problems };
}

/** Normalises watcher names ("a/b", "a\\b") to relative paths ("/a/b"); null for the root itself. */
export function toRel(name: string): string | null {
  const p = posix.normalize('/' + name.split(/[\\/]/).join('/')).replace(/\/+$/, '');
  return p === '' || p === '/' || p.startsWith('/..') ? null : p;
}

function widen(dirty: Iterable<string>, previous: Tree<LocalEntry>): Set<string> {
  const out = new Set<string>();
  for (let rel of dirty) {
    for (let parent = posix.dirname(rel); parent !== '/'; parent = posix.dirname(parent)) {
      if (previous.get(parent)?.kind !== 'folder') rel = parent;
    }
    out.add(rel);
  }
  return out;
}

function topmost(paths: Set<string>): string[] {
  return [...paths].filter((p) => ![...ancestors(p)].some((a) => paths.has(a)));
}

function* ancestors(rel: string): Generator<string> {
  for (let p = posix.dirname(rel); p !== '/'; p = posix.dirname(p)) yield p;
}

class Scanner {
  readonly problems: ScanProblem[] = [];
  private readonly fs: ScanFs;
  private readonly ignores: (rel: string, isDir: boolean) => boolean;

  constructor(
    private readonly root: string,
    private readonly synced: Tree<SyncedEntry>,
    private readonly hash: HashFn,
    opts: ScanOptions,
    readonly tree: Tree<LocalEntry>,
    private readonly previous: Tree<LocalEntry> | undefined,
  ) {
    this.fs = opts.fs ?? fsp;
    this.ignores = opts.ignores ?? ((rel) => rel.split('/').some((s) => s !== '' && isIgnoredName(s)));
  }

  private keepSynced(rel: string): void {
    for (const [p, s] of this.synced) if (p === rel || isInside(p, rel)) this.tree.set(p, { kind: s.kind, size: s.size, mtimeMs: s.mtimeMs, ino: s.ino, contentHash: s.contentHash });
  }

  async walk(rel: string): Promise<void> {
    let items: Dirent[];
    try {
      items = await this.fs.readdir(join(this.root, rel), { withFileTypes: true });
    } catch (error) {
      if (rel === '' || (error as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.problems.push({ rel: rel || '/', error });
        if (rel) this.keepSynced(rel);
      } else {
        this.tree.delete(rel);
      }
      return;
    }
    for (const d of items) {
      const child = `${rel}/${d.name}`;
      if (d.isDirectory() ? this.ignores(child, true) : this.ignores(child, false)) continue;
      await this.visit(child);
    }
  }

  /** lstat's `rel` (not ignored-checked by the caller) and adds it, and a folder's subtree, to the tree. */
  async visit(rel: string): Promise<void> {
    const abs = join(this.root, rel);
    try {
      const st = await this.fs.lstat(abs);
      if (st.isDirectory()) {
        if (this.ignores(rel, true)) return;
        this.tree.set(rel, { kind: 'folder', size: 0, mtimeMs: st.mtimeMs, contentHash: null });
        await this.walk(rel);
      } else if (st.isFile()) {
        if (this.ignores(rel, false)) return;
        this.tree.set(rel, { kind: 'file', size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, contentHash: await this.contentHash(rel, abs, st) });
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.problems.push({ rel, error });
        this.keepSynced(rel);
      } else if (rel.includes('\uFFFD')) {
        // listed but not found under its decoded name: the name's bytes are not UTF-8 (a path cannot carry them)
        this.problems.push({ rel, error: new Error('the name is not valid UTF-8: it cannot be synced (rename it)') });
      }
    }
  }

  /** Updates a folder entry's mtime (its contents unchanged); a folder that is gone is left for its own event. */
  async refreshFolder(rel: string): Promise<void> {
    const entry = this.tree.get(rel);
    if (entry?.kind !== 'folder') return;
    try {
      const st = await this.fs.lstat(join(this.root, rel));
      if (st.isDirectory()) this.tree.set(rel, { ...entry, mtimeMs: st.mtimeMs });
    } catch {
      // a vanished or unreadable parent: its own event (or the next full scan) deals with it
    }
  }

  private async contentHash(rel: string, abs: string, st: Stats): Promise<string> {
    for (const known of [this.synced.get(rel), this.previous?.get(rel)]) {
      if (known?.kind === 'file' && known.contentHash && sameStat(known, st)) return known.contentHash;
    }
    return this.hash(abs, st.size);
  }
}
