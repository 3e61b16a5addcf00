import type { TesseraClient } from '../sdk/client';
import { isTesseraError } from '../sdk/errors';
import type { FileInfo } from '../sdk/types';
import type { RemoteEntry, Tree } from './entries';
import { isReset, type ChangeInfo, type ChangeSource } from './feed';
import { isIgnoredPath, isInside, toRelative } from './paths';
import { SyncHalted } from './halt';
import type { StateDb } from './state-db';

const PAGE = 500;
/** Listings of the whole tree tried before a listing that raced a change is given up on (see relist). */
const RELIST_ATTEMPTS = 4;

/** What a refresh did: a full re-list (first run or RESET) or how many changes it applied. */
export interface RemoteRefresh { relisted: boolean; changes: number }

/**
 * The remote tree: the signed-in user's own files under the remote root, persisted with the
 * journal cursor it reflects. The first refresh takes `latestCursor` and then lists everything;
 * later ones apply `changes(cursor)` pages, each page and its cursor in one transaction. A RESET
 * re-lists. Files shared with this user are part of the tree where the server presents them:
 * inside the user's mounts, at the user's own paths (a change whose file this user can no
 * longer see, such as after an unshare, removes it). Since a
 * change carries the file as it is now, applying them in order converges on the current tree.
 * Errors from the server (other than RESET) are thrown; the tree keeps what was applied.
 * A change that moves or deletes the root folder itself throws SyncHalted (REMOTE_ROOT_GONE)
 * before its page is applied: the files under it did not go away.
 */
export class RemoteTree {
  readonly entries: Tree<RemoteEntry>;
  private readonly byId = new Map<string, string>();

  constructor(
    private readonly client: TesseraClient,
    private readonly feed: ChangeSource,
    private readonly db: StateDb,
    private readonly root: string,
    private readonly userId: string,
    /** The root folder's file id (null for "/", which cannot move). */
    private readonly rootId: string | null = null,
  ) {
    this.entries = db.loadRemote();
    for (const [p, e] of this.entries) this.byId.set(e.fileId, p);
  }

  /**
   * Set when a change put an entry where a folder with files of another id stood: those files
   * went wherever that folder went, which no later change may say (they did not change), so
   * the next refresh lists the whole tree again instead.
   */
  private stale = false;
  /**
   * While a page is applied: the ids a change of this page already put where they are now (a
   * change carries the file as it is now). An older change in the same page that moves or
   * deletes a folder at one of their ancestors' paths leaves them there: that folder was another.
   */
  private current: Set<string> | null = null;

  get cursor(): string | null {
    return this.db.get('cursor');
  }

  async refresh(): Promise<RemoteRefresh> {
    let cursor = this.cursor;
    if (!cursor || this.stale || this.db.get('relist')) return this.relist();
    let applied = 0;
    for (;;) {
      let page;
      try {
        page = await this.feed.changes(cursor, PAGE);
      } catch (e) {
        if (isReset(e)) return this.relist();
        throw e;
      }
      for (const c of page.changes) this.checkRoot(c);
      const edits = new Map<string, RemoteEntry | null>();
      this.current = new Set();
      for (const c of page.changes) this.apply(c, edits);
      this.current = null;
      this.db.updateRemote(edits, page.cursor);
      applied += page.changes.length;
      cursor = page.cursor;
      if (this.stale) return this.relist();
      if (!page.hasMore) return { relisted: false, changes: applied };
    }
  }

  /**
   * Records what this engine just did remotely (an upload, mkdir, delete or move), without moving
   * the cursor. An entry whose id the tree holds at another path moved there, with its subtree
   * (createFolder answers with a folder someone else just moved to that path). An entry of
   * another id that stood at `rel` went elsewhere (a download by path got the file that took its
   * place, say after its folder moved), and no change may ever say where if it did not change
   * itself: the next refresh lists the whole tree again (kept in the state database, so a
   * crash before that refresh does not forget it).
   */
  record(rel: string, entry: RemoteEntry | null): void {
    const edits = new Map<string, RemoteEntry | null>();
    const known = entry ? this.byId.get(entry.fileId) : undefined;
    const prev = this.entries.get(rel);
    if (entry && prev && prev.fileId !== entry.fileId) this.db.set('relist', '1');
    if (known !== undefined && known !== rel) this.moveSubtree(known, rel, edits);
    if (entry) this.put(rel, entry, edits);
    else this.removeSubtree(rel, edits);
    this.db.updateRemote(edits);
  }

  /** Records a move this engine just made remotely: the entry at `from` and everything under it now live under `to`. */
  recordMove(from: string, to: string, entry: RemoteEntry): void {
    const edits = new Map<string, RemoteEntry | null>();
    this.moveSubtree(from, to, edits);
    this.put(to, entry, edits);
    this.db.updateRemote(edits);
  }

  /**
   * Lists the whole remote tree as of a cursor taken before the listing. A listing that raced a
   * change (a folder moved, deleted or replaced by a file while it was walked: NOT_FOUND or
   * BAD_USER_INPUT, or the journal moved on meanwhile) can miss a subtree the feed would never bring back, so it is taken again, up to
   * RELIST_ATTEMPTS times; the last attempt's error is thrown (the next cycle lists again).
   */
  private async relist(): Promise<RemoteRefresh> {
    for (let attempt = 1; ; attempt++) {
      const cursor = await this.feed.latestCursor();
      if (this.rootId !== null && (await this.client.fileByPath(this.root))?.id !== this.rootId) {
        throw new SyncHalted('REMOTE_ROOT_GONE', `the remote folder ${this.root} was moved or deleted: sync stopped, no local file was touched`);
      }
      let tree: Tree<RemoteEntry>;
      try {
        tree = await this.listAll();
      } catch (e) {
        // a folder being walked was moved away or replaced by a file meanwhile
        if (attempt < RELIST_ATTEMPTS && (isTesseraError(e, 'NOT_FOUND') || isTesseraError(e, 'BAD_USER_INPUT'))) continue;
        throw e;
      }
      if (attempt < RELIST_ATTEMPTS && (await this.feed.latestCursor()) !== cursor) continue;
      this.stale = false;
      this.entries.clear();
      this.byId.clear();
      for (const [p, e] of tree) {
        this.entries.set(p, e);
        this.byId.set(e.fileId, p);
      }
      this.db.replaceRemote(tree, cursor);
      this.db.set('relist', null); // after the new tree is stored: a crash in between lists again
      return { relisted: true, changes: 0 };
    }
  }

  private async listAll(): Promise<Tree<RemoteEntry>> {
    const tree: Tree<RemoteEntry> = new Map();
    const walk = async (remote: string) => {
      for (const f of await this.client.listFolder(remote)) {
        const rel = toRelative(this.root, f.path);
        if (rel === null || f.status !== 'AVAILABLE' || isIgnoredPath(rel)) continue;
        tree.set(rel, toEntry(f));
        if (f.isFolder) await walk(f.path);
      }
    };
    await walk(this.root);
    return tree;
  }

  private checkRoot(c: ChangeInfo): void {
    if (this.rootId === null || c.fileId !== this.rootId) return;
    if (c.file && c.file.status === 'AVAILABLE' && c.file.path === this.root) return;
    const where = c.file && c.file.status === 'AVAILABLE' ? `moved to ${c.file.path}` : 'deleted';
    throw new SyncHalted('REMOTE_ROOT_GONE', `the remote folder ${this.root} was ${where}: sync stopped, no local file was touched`);
  }

  private apply(c: ChangeInfo, edits: Map<string, RemoteEntry | null>): void {
    const f = c.file;
    const known = this.byId.get(c.fileId);
    const rel = f && f.status === 'AVAILABLE' ? toRelative(this.root, f.path) : null;
    if (rel === null || isIgnoredPath(rel)) {
      if (known !== undefined) this.removeSubtree(known, edits);
      return;
    }
    if (known !== undefined && known !== rel) this.moveSubtree(known, rel, edits);
    this.put(rel, toEntry(f!), edits);
    this.current?.add(c.fileId);
  }

  private put(rel: string, e: RemoteEntry, edits: Map<string, RemoteEntry | null>): void {
    const prev = this.entries.get(rel);
    if (prev && prev.fileId !== e.fileId && this.byId.get(prev.fileId) === rel) {
      this.byId.delete(prev.fileId);
      // a folder displaced by another id moved elsewhere with its files, and nothing says where yet
      if (prev.kind === 'folder' && [...this.entries.keys()].some((p) => isInside(p, rel))) this.stale = true;
    }
    const old = this.byId.get(e.fileId);
    if (old !== undefined && old !== rel) {
      this.entries.delete(old);
      edits.set(old, null);
    }
    this.entries.set(rel, e);
    this.byId.set(e.fileId, rel);
    edits.set(rel, e);
  }

  private removeSubtree(rel: string, edits: Map<string, RemoteEntry | null>): void {
    const placed = this.placedByPage(rel);
    for (const p of [...this.entries.keys()]) {
      if (p !== rel && !isInside(p, rel)) continue;
      if (placed(p)) continue; // already where it is now
      const e = this.entries.get(p)!;
      if (this.byId.get(e.fileId) === p) this.byId.delete(e.fileId);
      this.entries.delete(p);
      edits.set(p, null);
    }
  }

  private moveSubtree(from: string, to: string, edits: Map<string, RemoteEntry | null>): void {
    const moved: [string, RemoteEntry][] = [];
    const placed = this.placedByPage(from);
    for (const [p, e] of this.entries) if (isInside(p, from) && !placed(p)) moved.push([to + p.slice(from.length), e]);
    this.removeSubtree(from, edits);
    for (const [p, e] of moved) this.put(p, e, edits);
  }

  /**
   * While a page is applied: tells whether `p` (under `rel`) is an entry this page already put
   * where it is now, or lies inside one (a folder the page moved there carried it along), so an
   * older change of the page that moves or deletes `rel` must leave it.
   */
  private placedByPage(rel: string): (p: string) => boolean {
    const current = this.current;
    if (!current) return () => false;
    const roots: string[] = [];
    for (const [p, e] of this.entries) if (isInside(p, rel) && current.has(e.fileId)) roots.push(p);
    return (p) => roots.some((q) => p === q || isInside(p, q));
  }
}

export function toEntry(f: FileInfo): RemoteEntry {
  return f.isFolder
    ? { kind: 'folder', size: 0, contentHash: null, fileId: f.id, revision: f.revision }
    : { kind: 'file', size: Number(f.size), contentHash: f.contentHash, fileId: f.id, revision: f.revision };
}
