import { existsSync } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { isTesseraError } from '../sdk/errors';
import type { ActionOutcome, ExecutorContext } from './executor';
import type { Action } from './planner';
import type { StateDb } from './state-db';
import { conflictedCopyPath, isInside, toRelative, toRemote } from './paths';

/** What rescuing refused writes needs of the executor's context. */
export type ReadOnlyContext = Pick<ExecutorContext, 'client' | 'db' | 'remote' | 'folder' | 'remoteRoot' | 'deviceName'>;

/** State key: local entries kept unsynced because the server refused them (see rescueRefused). */
const REFUSED_KEY = 'readOnlyRefused';
type Refused = Record<string, { kind: string; size: number; mtimeMs: number }>;

/**
 * Local changes the server refused with FORBIDDEN: made inside a folder shared with this user
 * as a viewer (a read-only mount), or where the role no longer allows writing. As Dropbox does
 * for a view-only folder, such a change is not retried for ever and nothing written is lost:
 *
 * - a new or edited file, or a new folder (upload, conflict, mkdirRemote), moves out of the
 *   mount into the folder of the user's own tree that holds the mount, named
 *   `name (conflicted copy <device> <date>)`; the next pass uploads it there (the user's own
 *   tree) and, since the path's synced entry is forgotten, downloads the server version back
 *   into the mount;
 * - a local rename inside the mount (moveRemote) is undone: the entry takes its old name again;
 * - a local deletion (deleteRemote) is undone: the server version is downloaded again.
 *
 * The same holds for a name held by a shared folder its owner has trashed (FORBIDDEN,
 * SHARE_TRASHED: hidden until restored): a local folder or file made there moves aside, next to
 * itself, as a conflicted copy of the user's own.
 *
 * When the sync root itself lies inside the read-only mount (no folder of the user's own to
 * move a copy to), the new or edited entry stays where it is, unsynced, and is not offered to
 * the server again while it is unchanged (`withoutRefused`). Rescued outcomes lose their error
 * (`conflictCopy` says where a copy went); others keep it. One `sharedWithMe` request, only
 * when something was refused.
 */
export async function rescueRefused(ctx: ReadOnlyContext, outcomes: ActionOutcome[]): Promise<void> {
  const refused = outcomes.filter((o) => isTesseraError(o.error, 'FORBIDDEN'))
    .sort((a, b) => a.action.path.split('/').length - b.action.path.split('/').length);
  if (!refused.length) return;
  const mounts = (await ctx.client.sharedWithMe()).map((s) => s.file.path);
  const abs = (rel: string) => join(ctx.folder, ...rel.split('/'));
  const moved: string[] = [];
  const kept = loadRefused(ctx.db);
  for (const o of refused) {
    const a = o.action;
    if (moved.some((m) => a.path === m || isInside(a.path, m))) { o.error = undefined; continue; } // went with its folder
    if (a.type === 'deleteRemote') {
      ctx.db.deleteSynced(a.path, true);
      o.error = undefined;
    } else if (a.type === 'moveRemote') {
      if (existsSync(abs(a.path)) && !existsSync(abs(a.from))) {
        await mkdir(posix.dirname(abs(a.from)), { recursive: true });
        await rename(abs(a.path), abs(a.from));
      }
      o.error = undefined;
    } else if (a.type === 'upload' || a.type === 'conflict' || a.type === 'mkdirRemote') {
      const src = a.type === 'conflict' && existsSync(abs(a.copyPath)) ? a.copyPath : a.path;
      if (!existsSync(abs(src))) { o.error = undefined; continue; }
      const outside = holderOf(ctx.remoteRoot, toRemote(ctx.remoteRoot, a.path), mounts, posix.dirname(a.path));
      if (outside === null) {
        kept[src] = { kind: a.local.kind, size: a.local.size, mtimeMs: a.local.mtimeMs };
        o.error = undefined;
        continue;
      }
      const copy = conflictedCopyPath(posix.join(outside, posix.basename(src)), ctx.deviceName, new Date(),
        (p) => existsSync(abs(p)) || ctx.remote.entries.has(p));
      await rename(abs(src), abs(copy));
      ctx.db.deleteSynced(a.path, true);
      moved.push(src);
      o.error = undefined;
      o.conflictCopy = copy;
    }
  }
  ctx.db.set(REFUSED_KEY, Object.keys(kept).length ? JSON.stringify(kept) : null);
}

/**
 * The plan without what `rescueRefused` kept unsynced and is unchanged since (uploads, new
 * folders and conflicts at or under those paths); entries that changed or went are forgotten.
 */
export function withoutRefused(plan: Action[], db: StateDb): Action[] {
  const kept = loadRefused(db);
  const paths = Object.keys(kept);
  if (!paths.length) return plan;
  const still = new Set(paths.filter((p) => plan.some((a) => a.path === p && 'local' in a && a.local
    && a.local.kind === kept[p].kind && (a.local.kind === 'folder' || (a.local.size === kept[p].size && a.local.mtimeMs === kept[p].mtimeMs)))));
  const next = Object.fromEntries(paths.filter((p) => still.has(p)).map((p) => [p, kept[p]]));
  db.set(REFUSED_KEY, still.size ? JSON.stringify(next) : null);
  const blocked = (p: string) => [...still].some((s) => p === s || isInside(p, s));
  return plan.filter((a) => !((a.type === 'upload' || a.type === 'mkdirRemote' || a.type === 'conflict') && blocked(a.path)));
}

function loadRefused(db: StateDb): Refused {
  const raw = db.get(REFUSED_KEY);
  return raw ? (JSON.parse(raw) as Refused) : {};
}

/**
 * The relative path (under the sync root; '/' for the root) of the folder that holds the
 * outermost live mount containing `remotePath`, or null when that folder is outside the synced
 * root (the root lies inside the mount). With no live mount there (the name is held by a mount
 * whose folder its owner trashed: SHARE_TRASHED), `beside`: the copy goes next to the entry.
 */
function holderOf(remoteRoot: string, remotePath: string, mounts: string[], beside: string): string | null {
  const covering = mounts.filter((m) => remotePath === m || remotePath.startsWith(m + '/')).sort((a, b) => a.length - b.length)[0];
  if (!covering) return beside;
  const parent = posix.dirname(covering);
  if (parent === remoteRoot) return '/';
  const rel = toRelative(remoteRoot, parent);
  return rel === null ? null : rel;
}
