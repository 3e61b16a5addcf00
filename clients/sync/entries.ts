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

/** What the scanner saw on disk. */
export interface LocalEntry extends BaseEntry {
  mtimeMs: number;
}

/** What the cloud holds (the signed-in user's own tree). */
export interface RemoteEntry extends BaseEntry {
  fileId: string;
  revision: number;
}

/** What was last synced: local and remote agreed on this (the merge base). */
export interface SyncedEntry extends BaseEntry {
  mtimeMs: number;
  fileId: string;
  revision: number;
}

export type Tree<E> = Map<string, E>;

/** Same kind and, for files, same content. */
export function sameContent(a: BaseEntry | undefined, b: BaseEntry | undefined): boolean {
  if (!a || !b) return !a && !b;
  return a.kind === b.kind && (a.kind === 'folder' || a.contentHash === b.contentHash);
}
