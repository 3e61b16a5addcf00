import { posix } from 'node:path';

/** Directory (under the sync root) that holds the state database and download staging; never synced. */
export const STATE_DIR = '.tessera';

/** Names the scanner and watcher skip: the state dir and the SDK's download temp files. */
export function isIgnoredName(name: string): boolean {
  return name === STATE_DIR || name.endsWith('.tessera-partial') || name.endsWith('.tessera-partial.json');
}

/** True for a relative path ("/x/y") that the engine never syncs. */
export function isIgnoredPath(rel: string): boolean {
  return rel.split('/').some((seg) => seg !== '' && isIgnoredName(seg));
}

/** The remote path of `rel` under the remote root. */
export function toRemote(root: string, rel: string): string {
  return root === '/' ? rel : root + rel;
}

/** The relative path of a remote path, or null when it is outside the remote root (or is the root). */
export function toRelative(root: string, remote: string): string | null {
  if (root === '/') return remote === '/' ? null : remote;
  return remote.startsWith(root + '/') ? remote.slice(root.length) : null;
}

/** Normalises a user-given remote root: absolute, no trailing slash ("/" stays "/"). */
export function normaliseRoot(root: string): string {
  const p = posix.normalize('/' + root.trim());
  return p.length > 1 ? p.replace(/\/+$/, '') : '/';
}

export function parentOf(rel: string): string {
  return posix.dirname(rel);
}

/** `anc` is a strict ancestor of `rel`. */
export function isInside(rel: string, anc: string): boolean {
  return rel.startsWith(anc + '/');
}

/**
 * `name (conflicted copy <device> <YYYY-MM-DD>).ext` next to `rel`; `taken` says whether a
 * candidate exists, in which case " 2", " 3"... is added inside the parentheses.
 */
export function conflictedCopyPath(rel: string, device: string, date: Date, taken: (p: string) => boolean): string {
  const dir = posix.dirname(rel);
  const base = posix.basename(rel);
  const dot = base.lastIndexOf('.');
  const [stem, ext] = dot > 0 ? [base.slice(0, dot), base.slice(dot)] : [base, ''];
  const day = date.toISOString().slice(0, 10);
  const safeDevice = device.replace(/[/\\]/g, '-');
  for (let n = 1; ; n++) {
    const label = `conflicted copy ${safeDevice} ${day}${n > 1 ? ` ${n}` : ''}`;
    const candidate = posix.join(dir, `${stem} (${label})${ext}`);
    if (!taken(candidate)) return candidate;
  }
}
