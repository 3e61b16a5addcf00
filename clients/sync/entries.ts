/**
 * The three trees of a sync folder, each a map from a path relative to the sync root
 * ("/a/b.txt", posix separators, the root itself not included) to an entry.
 */
export type EntryKind = 'file' | 'folder';

interface BaseEntry {
  kind: EntryKind;
  /** Bytes (0 for a folder). */
  size: number;
  /** The server's content hash scheme (see clients/sdk/hashing.ts); null for a folder. */
  contentHash: string | null;
}

/**
 * What the scanner saw on disk. A file whose size, mtime and inode are those of its synced
 * entry is taken as unchanged (not hashed again): the inode tells a file apart from another
 * one of the same size and mtime renamed over it (file-system clocks are coarse: files
 * written within one tick share an mtime).
 */
export interface LocalEntry extends BaseEntry {
  mtimeMs: number;
  /** The file's inode number (absent: not known, e.g. a state database from before it was kept). */
  ino?: number;
}

/** What the cloud holds (the signed-in user's own tree). */
export interface RemoteEntry extends BaseEntry {
  fileId: string;
  revision: number;
}

/** What was last synced: local and remote agreed on this (the merge base). */
export interface SyncedEntry extends BaseEntry {
  mtimeMs: number;
  ino?: number;
  fileId: string;
  revision: number;
}

export type Tree<E> = Map<string, E>;

/** Same size, mtime and (when both are known) inode: the same file as far as a stat can tell. */
export function sameStat(a: { size: number; mtimeMs: number; ino?: number }, b: { size: number; mtimeMs: number; ino?: number }): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs && (a.ino === undefined || b.ino === undefined || a.ino === b.ino);
}

/** Same kind and, for files, same content. */
export function sameContent(a: BaseEntry | undefined, b: BaseEntry | undefined): boolean {
  if (!a || !b) return !a && !b;
  return a.kind === b.kind && (a.kind === 'folder' || a.contentHash === b.contentHash);
}
