import type { Dirent } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { LocalEntry, SyncedEntry, Tree } from './entries';
import { isIgnoredName } from './paths';

/** Computes a file's contentHash (see ContentHasher). */
export type HashFn = (absPath: string, size: number) => Promise<string>;

/** A path the scanner could not read (it is left out of the tree, so it is neither uploaded nor deleted remotely). */
export interface ScanProblem { rel: string; error: unknown }

/**
 * Walks the sync folder (lstat, no symlinks followed) and returns the local tree. A file is
 * re-hashed only when its size or mtime differ from its synced entry. Skips the `.tessera` dir,
 * download temp files and anything that is neither a regular file nor a folder. A file or folder
 * that vanishes or cannot be read mid-scan is reported in `problems`, and so are its synced
 * descendants kept "as synced" so that an unreadable folder is not taken for a deletion.
 */
export async function scanLocal(root: string, synced: Tree<SyncedEntry>, hash: HashFn): Promise<{ tree: Tree<LocalEntry>; problems: ScanProblem[] }> {
  const tree: Tree<LocalEntry> = new Map();
  const problems: ScanProblem[] = [];
  const keepSynced = (rel: string) => {
    for (const [p, s] of synced) if (p === rel || p.startsWith(rel + '/')) tree.set(p, { kind: s.kind, size: s.size, mtimeMs: s.mtimeMs, contentHash: s.contentHash });
  };
  const walk = async (rel: string) => {
    let items: Dirent[];
    try {
      items = await readdir(join(root, rel), { withFileTypes: true });
    } catch (error) {
      if (rel === '' || (error as NodeJS.ErrnoException).code !== 'ENOENT') {
        problems.push({ rel: rel || '/', error });
        if (rel) keepSynced(rel);
      } else {
        tree.delete(rel);
      }
      return;
    }
    for (const d of items) {
      if (isIgnoredName(d.name)) continue;
      const child = `${rel}/${d.name}`;
      const abs = join(root, child);
      try {
        const st = await lstat(abs);
        if (st.isDirectory()) {
          tree.set(child, { kind: 'folder', size: 0, mtimeMs: st.mtimeMs, contentHash: null });
          await walk(child);
        } else if (st.isFile()) {
          const s = synced.get(child);
          const unchanged = s?.kind === 'file' && s.size === st.size && s.mtimeMs === st.mtimeMs;
          const contentHash = unchanged ? s.contentHash : await hash(abs, st.size);
          tree.set(child, { kind: 'file', size: st.size, mtimeMs: st.mtimeMs, contentHash });
        }
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
        problems.push({ rel: child, error });
        keepSynced(child);
      }
    }
  };
  await walk('');
  return { tree, problems };
}
