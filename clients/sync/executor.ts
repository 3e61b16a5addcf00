import { existsSync } from 'node:fs';
import { lstat, mkdir, open, rename, rmdir, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { TesseraClient } from '../sdk/client';
import { isTesseraError } from '../sdk/errors';
import type { FileInfo } from '../sdk/types';
import { sameStat, type LocalEntry, type RemoteEntry } from './entries';
import { copyAcross, unseenInside } from './cross-move';
import { conflictedCopyPath, isInside, toRemote } from './paths';
import type { Action } from './planner';
import { toEntry, type RemoteTree } from './remote-tree';
import { stagingPathOf } from './staging';
import type { StateDb } from './state-db';

/** Transfers in flight at once within a plan. */
const TRANSFER_CONCURRENCY = 4;

/** What happened to one action: `error` is set when it failed (it is planned again next cycle). */
export interface ActionOutcome {
  action: Action;
  error?: Error;
  /** Bytes moved over the network for this action. */
  bytesDown?: number;
  bytesUp?: number;
  /** Where the local version went when this action made a conflicted copy. */
  conflictCopy?: string;
}

export interface ExecutorContext {
  client: TesseraClient;
  db: StateDb;
  remote: RemoteTree;
  /** Absolute path of the sync folder. */
  folder: string;
  remoteRoot: string;
  deviceName: string;
  onOutcome?: (o: ActionOutcome) => void;
  /** See SyncEngineOptions.transferOrder: when set, a batch's transfers run one at a time in this order. */
  transferOrder?: (transfers: Action[]) => Action[];
}

/**
 * Carries out a plan. Each action checks that the local side is still what the planner saw,
 * acts, and only then writes the state database. A failure (TesseraError from the server or
 * SDK, an fs error, or a SyncError CHANGED when the local file moved on) is recorded in that
 * action's outcome and does not stop the others. A download lands in `.tessera/downloads` first
 * (verified and fsynced by the SDK) and takes its name only if the local file is still as the
 * planner saw it; otherwise the local one is kept as a conflicted copy. An upload that gets
 * CONFLICT (someone else changed the file since the synced revision) becomes a conflicted copy.
 * Remote deletions and file moves carry preconditions (a file's synced revision; for a folder,
 * the cursor the remote tree reflects): CONFLICT fails the action without losing anything, and
 * the engine plans again from the refreshed remote tree. After a move, a file is recorded as
 * synced only if the server moved the revision and content we hold.
 * A folder move re-keys the whole subtree in the state database (ids and revisions kept); when it
 * fails, the plan's actions inside its target, and a deletion of its source or of a folder
 * holding it, fail too (CHANGED) and wait for the next cycle.
 */
export class Executor {
  /**
   * Folder moves that failed: the actions planned inside their targets wait for the next cycle,
   * and so does a deletion of their source or a folder holding it (the folder's content, which
   * the plan counted as moved away, is still there).
   */
  private readonly failedFolderMoves: { from: string; to: string }[] = [];

  constructor(private readonly ctx: ExecutorContext) {}

  async run(actions: Action[]): Promise<ActionOutcome[]> {
    this.failedFolderMoves.length = 0;
    const outcomes: ActionOutcome[] = [];
    for (let i = 0; i < actions.length; ) {
      let j = i + 1;
      if (isTransfer(actions[i])) while (j < actions.length && isTransfer(actions[j])) j++;
      const batch = actions.slice(i, j);
      const order = this.ctx.transferOrder;
      const queue = order && batch.length > 1 ? order([...batch]) : [...batch];
      const width = order ? 1 : TRANSFER_CONCURRENCY;
      await Promise.all(Array.from({ length: Math.min(width, batch.length) }, async () => {
        for (let a = queue.shift(); a; a = queue.shift()) outcomes.push(await this.one(a));
      }));
      i = j;
    }
    return outcomes;
  }

  private async one(action: Action): Promise<ActionOutcome> {
    const outcome: ActionOutcome = { action };
    try {
      const isDelete = action.type === 'deleteRemote' || action.type === 'deleteLocal';
      const blocked = this.failedFolderMoves.find((m) => [action.path, 'from' in action ? action.from : action.path].some((p) => p === m.to || isInside(p, m.to))
        || (isDelete && (action.path === m.from || isInside(m.from, action.path))));
      if (blocked !== undefined) throw new SyncError('CHANGED', `the move of the folder ${blocked.from} to ${blocked.to} failed`);
      await this.apply(action, outcome);
    } catch (e) {
      outcome.error = e instanceof Error ? e : new Error(String(e));
      if ((action.type === 'moveLocal' || action.type === 'moveRemote') && action.remote.kind === 'folder') this.failedFolderMoves.push({ from: action.from, to: action.path });
    }
    this.ctx.onOutcome?.(outcome);
    return outcome;
  }

  private abs(rel: string): string {
    return join(this.ctx.folder, rel);
  }

  private remotePath(rel: string): string {
    return toRemote(this.ctx.remoteRoot, rel);
  }

  private async apply(a: Action, out: ActionOutcome): Promise<void> {
    const { db, remote, client } = this.ctx;
    switch (a.type) {
      case 'record':
        if (a.local && a.remote) db.putSynced(a.path, synced(a.local, a.remote));
        else db.deleteSynced(a.path);
        return;
      case 'mkdirLocal':
        await mkdir(this.abs(a.path), { recursive: true });
        db.putSynced(a.path, synced(await this.localNow(a.path), a.remote));
        return;
      case 'mkdirRemote': {
        const f = await client.createFolder(this.remotePath(a.path));
        remote.record(a.path, toEntry(f));
        db.putSynced(a.path, synced(a.local, toEntry(f)));
        return;
      }
      case 'upload':
        await this.expectLocal(a.path, a.local);
        await this.upload(a.path, a.local, a.baseRevision, out);
        return;
      case 'download':
        await this.download(a.path, a.remote, a.local, out);
        return;
      case 'deleteLocal':
        await this.expectLocal(a.path, a.local);
        if (a.local.kind === 'folder') await rmdir(this.abs(a.path)).catch(ignoreMissing);
        else await unlink(this.abs(a.path)).catch(ignoreMissing);
        db.deleteSynced(a.path, a.local.kind === 'folder');
        return;
      case 'deleteRemote':
        try {
          // a file: the revision we saw; a folder: nothing inside changed since the remote tree's cursor
          const cursor = remote.cursor;
          await client.deleteFile({ id: a.remote.fileId }, a.remote.kind === 'file' ? { baseRevision: a.remote.revision } : cursor ? { ifUnchangedSince: cursor } : {});
        } catch (e) {
          if (isTesseraError(e, 'CONFLICT')) {
            // edited elsewhere since we saw it: the edit wins; for a file forget the base so the next
            // pass fetches it; for a folder the next pass sees what changed inside and keeps that
            if (a.remote.kind === 'file') db.deleteSynced(a.path);
            throw e;
          }
          if (!isTesseraError(e, 'NOT_FOUND')) throw e;
        }
        remote.record(a.path, null);
        db.deleteSynced(a.path, true);
        return;
      case 'moveLocal': {
        await this.expectLocal(a.from, a.local);
        await this.expectFreeFor(a.from, a.path);
        await mkdir(dirname(this.abs(a.path)), { recursive: true });
        await rename(this.abs(a.from), this.abs(a.path));
        if (a.local.kind === 'folder') db.moveSynced(a.from, a.path);
        else db.deleteSynced(a.from);
        db.putSynced(a.path, synced(await this.localNow(a.path), a.remote));
        return;
      }
      case 'moveRemote': {
        await this.expectLocal(a.path, a.local);
        // a file moves only at the revision we saw (CONFLICT otherwise: the next pass re-plans)
        let f: FileInfo;
        try {
          f = await client.moveFile({ id: a.remote.fileId }, this.remotePath(a.path), a.remote.kind === 'file' ? { baseRevision: a.remote.revision } : {});
        } catch (e) {
          if (!isTesseraError(e, 'BAD_USER_INPUT')) throw e;
          // into or out of a shared folder: another owner's tree, so copy + delete (cross-move.ts)
          const keepOld = a.remote.kind === 'folder' && unseenInside(a.from, remote.entries, db.loadSynced());
          const r = await copyAcross(client, (p) => this.abs(p), (p) => this.remotePath(p), a.path, a.remote, remote.cursor, keepOld);
          out.bytesUp = (out.bytesUp ?? 0) + r.bytesSent;
          if (!r.oldKept) remote.record(a.from, null);
          db.deleteSynced(a.from, true);
          return;
        }
        const moved = toEntry(f);
        if (a.remote.kind === 'folder') {
          remote.recordMove(a.from, a.path, moved);
          db.moveSynced(a.from, a.path);
        } else {
          remote.record(a.from, null);
          remote.record(a.path, moved);
          db.deleteSynced(a.from);
        }
        // record as synced only what we know both sides hold: a file the server moved at another
        // revision or content than ours stays unsynced (the next pass compares it, nothing is assumed)
        if (a.remote.kind === 'folder' || (moved.revision === a.remote.revision && moved.contentHash === a.local.contentHash)) {
          db.putSynced(a.path, synced(a.local, moved));
        } else {
          db.deleteSynced(a.path);
        }
        return;
      }
      case 'conflict':
        await this.expectLocal(a.path, a.local);
        await this.keepAside(a.path, a.copyPath, a.local, out);
        if (a.remote.kind === 'folder') {
          await mkdir(this.abs(a.path), { recursive: true });
          db.putSynced(a.path, synced(await this.localNow(a.path), a.remote));
        } else {
          await this.download(a.path, a.remote, undefined, out);
        }
        return;
    }
  }

  private async upload(rel: string, local: LocalEntry, baseRevision: number, out: ActionOutcome): Promise<void> {
    let r;
    try {
      r = await this.ctx.client.upload(this.abs(rel), this.remotePath(rel), { baseRevision });
    } catch (e) {
      vanishedAsChanged(e, rel);
      if (!isTesseraError(e, 'CONFLICT')) throw e;
      const copy = conflictedCopyPath(rel, this.ctx.deviceName, new Date(), (p) => existsSync(this.abs(p)) || this.ctx.remote.entries.has(p));
      await this.keepAside(rel, copy, local, out);
      this.ctx.db.deleteSynced(rel);
      return;
    }
    out.bytesUp = (out.bytesUp ?? 0) + r.bytesSent;
    this.recordRemote(rel, local, r.file);
  }

  /** Renames the local entry at `rel` to `copy` and, for a file, uploads it there as a new file. */
  private async keepAside(rel: string, copy: string, local: LocalEntry, out: ActionOutcome): Promise<void> {
    await this.expectLocal(copy, undefined);
    await rename(this.abs(rel), this.abs(copy));
    out.conflictCopy = copy;
    if (local.kind !== 'file') return;
    const r = await this.ctx.client.upload(this.abs(copy), this.remotePath(copy), { baseRevision: 0 });
    out.bytesUp = (out.bytesUp ?? 0) + r.bytesSent;
    this.recordRemote(copy, local, r.file);
  }

  private recordRemote(rel: string, local: LocalEntry, file: FileInfo): void {
    this.ctx.remote.record(rel, toEntry(file));
    this.ctx.db.putSynced(rel, synced(local, toEntry(file)));
  }

  private async download(rel: string, expected: RemoteEntry, seen: LocalEntry | undefined, out: ActionOutcome): Promise<void> {
    const staging = stagingPathOf(this.ctx.folder, rel);
    await mkdir(dirname(staging), { recursive: true });
    const reuseFrom = seen?.kind === 'file' && seen.size > 0 ? this.abs(rel) : undefined;
    const r = await this.ctx.client.download(this.remotePath(rel), staging, { fsync: true, reuseFrom });
    out.bytesDown = (out.bytesDown ?? 0) + r.bytesReceived;
    const target = this.abs(rel);
    try {
      await mkdir(dirname(target), { recursive: true });
      const now = await this.localAt(rel);
      if (!matches(now, seen)) {
        if (now?.kind !== 'file') throw new SyncError('CHANGED', `${rel} changed locally during the download`);
        const copy = conflictedCopyPath(rel, this.ctx.deviceName, new Date(), (p) => existsSync(this.abs(p)) || this.ctx.remote.entries.has(p));
        await rename(target, this.abs(copy));
        out.conflictCopy = copy;
      }
      await rename(staging, target);
    } catch (e) {
      // the download could not take its name: nothing is left behind in the staging folder
      await unlink(staging).catch(() => undefined);
      throw e;
    }
    await fsyncDir(dirname(target));
    const file = toEntry(r.file);
    if (file.revision !== expected.revision || file.fileId !== expected.fileId) this.ctx.remote.record(rel, file);
    this.ctx.db.putSynced(rel, synced(await this.localNow(rel), file));
  }

  /** Throws SyncError CHANGED unless the local entry at `rel` is (still) `expected` (undefined: absent). */
  private async expectLocal(rel: string, expected: LocalEntry | undefined): Promise<void> {
    if (!matches(await this.localAt(rel), expected)) {
      throw new SyncError('CHANGED', expected ? `${rel} changed locally since the scan` : `${rel} appeared locally since the scan`);
    }
  }

  /**
   * Throws SyncError CHANGED unless nothing is at `to`, or (a case-only rename on a
   * case-insensitive file system) `to` is `from` itself.
   */
  private async expectFreeFor(from: string, to: string): Promise<void> {
    if (from.toLowerCase() === to.toLowerCase()) {
      const [a, b] = await Promise.all([lstat(this.abs(from)), lstat(this.abs(to)).catch(() => null)]);
      if (!b || (a.dev === b.dev && a.ino === b.ino)) return;
    }
    await this.expectLocal(to, undefined);
  }

  private async localAt(rel: string): Promise<LocalEntry | undefined> {
    const st = await lstat(this.abs(rel)).catch((e) => { if (e.code === 'ENOENT') return null; throw e; });
    if (!st) return undefined;
    return st.isDirectory() ? { kind: 'folder', size: 0, mtimeMs: st.mtimeMs, contentHash: null } : { kind: 'file', size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, contentHash: null };
  }

  private async localNow(rel: string): Promise<LocalEntry> {
    const e = await this.localAt(rel);
    if (!e) throw new SyncError('CHANGED', `${rel} vanished locally`);
    return e;
  }
}

/** A sync-specific failure: CHANGED (the local side moved on since the plan; planned again next cycle). */
export class SyncError extends Error {
  constructor(readonly code: 'CHANGED', message: string) {
    super(message);
    this.name = 'SyncError';
  }
}

function matches(now: LocalEntry | undefined, expected: LocalEntry | undefined): boolean {
  if (!now || !expected) return !now && !expected;
  if (now.kind !== expected.kind) return false;
  return now.kind === 'folder' || sameStat(now, expected);
}

function synced(local: LocalEntry, remote: RemoteEntry) {
  return { kind: remote.kind, size: remote.kind === 'file' ? remote.size : 0, mtimeMs: local.mtimeMs, ino: remote.kind === 'file' ? local.ino : undefined, contentHash: remote.contentHash, fileId: remote.fileId, revision: remote.revision };
}

function isTransfer(a: Action): boolean {
  return a.type === 'upload' || a.type === 'download';
}

/**
 * Maps a local file that vanished (or whose parent became a file) before or during its upload
 * to SyncError CHANGED: the next cycle's scan sees what is there now. Other errors pass through.
 */
function vanishedAsChanged(e: unknown, rel: string): void {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR') throw new SyncError('CHANGED', `${rel} vanished locally before its upload`);
}

function ignoreMissing(e: NodeJS.ErrnoException): void {
  if (e.code !== 'ENOENT') throw e;
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
