/** Walks a local folder tree for an upload: regular files and folders; links, special files and a sync folder's state are reported, never followed. */
import { existsSync } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { PARTIAL_SUFFIX } from './partial';
import { failureOf, type TreeFailure, type TreeSkipped } from './tree';

export interface LocalFile {
  /** Relative to the root, '/'-separated. */
  rel: string;
  path: string;
  size: number;
}

export interface LocalFolder {
  /** Relative to the root, '/'-separated ('' is the root). */
  rel: string;
  /** True when the folder holds no regular file and no folder (symlinks and the like do not count). */
  empty: boolean;
}

export interface LocalTree {
  /** Depth first, by name, parents before children. */
  folders: LocalFolder[];
  files: LocalFile[];
  skipped: TreeSkipped[];
  /** Folders that could not be read (their content is missing from `files`). */
  failed: TreeFailure[];
}

/** Lists `root` (a folder) recursively. Rejects only when `root` itself cannot be read. */
export async function walkLocalTree(root: string, signal?: AbortSignal): Promise<LocalTree> {
  const tree: LocalTree = { folders: [], files: [], skipped: [], failed: [] };
  await walk(root, '', tree, signal, true);
  return tree;
}

async function walk(dir: string, rel: string, tree: LocalTree, signal: AbortSignal | undefined, isRoot: boolean): Promise<void> {
  signal?.throwIfAborted();
  const folder: LocalFolder = { rel, empty: true };
  tree.folders.push(folder);
  let names: string[];
  try {
    names = (await readdir(dir)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  } catch (e) {
    if (isRoot) throw e;
    tree.failed.push(failureOf(rel, 'folder', e));
    return;
  }
  const entries = await Promise.all(names.map(async (name) => {
    const path = join(dir, name);
    return { name, path, rel: rel ? `${rel}/${name}` : name, stat: await lstat(path).catch((e: unknown) => e as Error) };
  }));
  for (const e of entries) {
    if (e.stat instanceof Error) {
      tree.failed.push(failureOf(e.rel, 'file', e.stat));
    } else if (e.stat.isSymbolicLink()) {
      tree.skipped.push({ path: e.rel, reason: 'symlink' });
    } else if (e.stat.isDirectory() && isSyncState(e.name, e.path)) {
      tree.skipped.push({ path: e.rel, reason: 'sync-state' });
    } else if (e.stat.isDirectory()) {
      folder.empty = false;
      await walk(e.path, e.rel, tree, signal, false);
    } else if (!e.stat.isFile()) {
      tree.skipped.push({ path: e.rel, reason: 'special' });
    } else if (isPartialDownload(e.name)) {
      tree.skipped.push({ path: e.rel, reason: 'partial-download' });
    } else {
      folder.empty = false;
      tree.files.push({ rel: e.rel, path: e.path, size: e.stat.size });
    }
  }
}

/** The state folder of a `tessera sync` folder (`.tessera` with its state.db): the sync client's own, never content. */
function isSyncState(name: string, path: string): boolean {
  return name === '.tessera' && existsSync(join(path, 'state.db'));
}

/** A download's temporary file or its sidecar (see ./partial). */
function isPartialDownload(name: string): boolean {
  return name.endsWith(PARTIAL_SUFFIX) || name.endsWith(`${PARTIAL_SUFFIX}.json`) || name.endsWith(`${PARTIAL_SUFFIX}.json.tmp`);
}
