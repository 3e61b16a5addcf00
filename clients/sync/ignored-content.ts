import type { Dirent } from 'node:fs';
import { readFile, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { EntryKind, RemoteEntry, Tree } from './entries';
import { IGNORE_FILE, IgnoreRules, type IgnoreMatcher } from './ignore';
import { isInside } from './paths';
import type { Action } from './planner';

/** The rules in `<folder>/.tesseraignore` (none when it does not exist); other read errors are thrown. */
export async function loadIgnoreRules(folder: string): Promise<IgnoreRules> {
  try {
    return IgnoreRules.parse(await readFile(join(folder, IGNORE_FILE), 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return IgnoreRules.none;
    throw e;
  }
}

/** `tree` without the paths `matcher` ignores (the same map when it ignores none), and the paths left out. */
export function withoutIgnored<E extends { kind: EntryKind }>(tree: Tree<E>, matcher: IgnoreMatcher): { tree: Tree<E>; ignored: string[] } {
  const ignored = [...tree].filter(([p, e]) => matcher.ignores(p, e.kind === 'folder')).map(([p]) => p);
  if (ignored.length === 0) return { tree, ignored };
  const out = new Map(tree);
  for (const p of ignored) out.delete(p);
  return { tree: out, ignored };
}

/**
 * Folder deletions in `plan` that would take ignored content with them: a folder deleted
 * remotely keeps living (it is re-created locally) while the remote side holds content the
 * user's rules ignore; a folder deleted locally is re-created remotely while it holds such
 * content on disk. Built-in junk (e.g. `.DS_Store`) never keeps a folder: it is removed from a
 * local folder about to be deleted (errors other than ENOENT are thrown).
 */
export async function keepIgnoredContent(plan: Action[], folder: string, fullRemote: Tree<RemoteEntry>, matcher: IgnoreMatcher): Promise<Action[]> {
  const localFolders = plan.filter((a): a is Extract<Action, { type: 'deleteLocal' }> => a.type === 'deleteLocal' && a.local.kind === 'folder')
    .sort((x, y) => y.path.split('/').length - x.path.split('/').length);
  const kept = new Set<string>();
  const junk = new Map<string, string[]>();
  for (const a of localFolders) {
    let items: Dirent[];
    try {
      items = await readdir(join(folder, a.path), { withFileTypes: true });
    } catch {
      continue;
    }
    const mine: string[] = [];
    for (const d of items) {
      const child = `${a.path}/${d.name}`;
      const isDir = d.isDirectory();
      if (kept.has(child) || matcher.ignoredByUser(child, isDir)) kept.add(a.path);
      else if (!isDir && matcher.ignores(child, false)) mine.push(child);
    }
    junk.set(a.path, mine);
  }
  for (const [dir, files] of junk) {
    if (kept.has(dir)) continue;
    for (const f of files) await unlink(join(folder, f)).catch((e: NodeJS.ErrnoException) => { if (e.code !== 'ENOENT') throw e; });
  }
  return plan.map((a): Action => {
    if (a.type === 'deleteLocal' && kept.has(a.path)) return { type: 'mkdirRemote', path: a.path, local: a.local };
    if (a.type === 'deleteRemote' && a.remote.kind === 'folder'
      && [...fullRemote].some(([p, e]) => isInside(p, a.path) && matcher.ignoredByUser(p, e.kind === 'folder'))) {
      return { type: 'mkdirLocal', path: a.path, remote: a.remote };
    }
    return a;
  });
}
