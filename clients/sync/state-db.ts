import Database from 'better-sqlite3';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { RemoteEntry, SyncedEntry, Tree } from './entries';
import { forgetPid, lockStateDb } from './folder-lock';
import { STATE_DIR } from './paths';

/** Where a sync folder's state database lives. */
export function stateFileOf(folder: string): string {
  return join(folder, STATE_DIR, 'state.db');
}

/**
 * The sync folder's state, in `<folder>/.tessera/state.db` (SQLite, WAL, synchronous=FULL):
 * the synced tree (merge base), the remote tree as of `cursor`, and settings (remote root,
 * cursor). Callers write an entry only after the action it records has succeeded. An open
 * StateDb holds the folder's lock (folder-lock.ts) until `close()` or the process's death: a
 * second one on the same folder, in this process or another, throws SyncLockedError (LOCKED).
 * Methods throw better-sqlite3's errors.
 */
export class StateDb {
  private readonly db: Database.Database;

  constructor(private readonly folder: string) {
    mkdirSync(join(folder, STATE_DIR), { recursive: true });
    // timeout 0: no one else may hold the file, so waiting for it would only delay the LOCKED error
    this.db = new Database(stateFileOf(folder), { timeout: 0 });
    try {
      lockStateDb(this.db, folder);
    } catch (e) {
      this.db.close();
      throw e;
    }
    this.db.pragma('synchronous = FULL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS synced (path TEXT PRIMARY KEY, kind TEXT NOT NULL, size INTEGER NOT NULL,
        mtime_ms REAL NOT NULL, content_hash TEXT, file_id TEXT NOT NULL, revision INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS remote (path TEXT PRIMARY KEY, kind TEXT NOT NULL, size INTEGER NOT NULL,
        content_hash TEXT, file_id TEXT NOT NULL, revision INTEGER NOT NULL);
    `);
    // a file's inode (null: not known), added after the first release: older databases gain the column
    const columns = this.db.prepare('PRAGMA table_info(synced)').all() as { name: string }[];
    if (!columns.some((c) => c.name === 'ino')) this.db.exec('ALTER TABLE synced ADD COLUMN ino INTEGER');
  }

  /** True when `folder` already has a state database (without creating or locking it). */
  static existsIn(folder: string): boolean {
    return existsSync(stateFileOf(folder));
  }

  get(key: string): string | null {
    const row = this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
    return row?.value ?? null;
  }

  set(key: string, value: string | null): void {
    if (value === null) this.db.prepare('DELETE FROM meta WHERE key = ?').run(key);
    else this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  loadSynced(): Tree<SyncedEntry> {
    const rows = this.db.prepare('SELECT * FROM synced').all() as Row[];
    return new Map(rows.map((r) => [r.path, { kind: r.kind, size: r.size, mtimeMs: r.mtime_ms, ino: r.ino ?? undefined, contentHash: r.content_hash, fileId: r.file_id, revision: r.revision }]));
  }

  putSynced(path: string, e: SyncedEntry): void {
    this.db.prepare(`INSERT INTO synced (path, kind, size, mtime_ms, ino, content_hash, file_id, revision) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT(path) DO UPDATE SET kind = excluded.kind, size = excluded.size, mtime_ms = excluded.mtime_ms, ino = excluded.ino,
      content_hash = excluded.content_hash, file_id = excluded.file_id, revision = excluded.revision`)
      .run(path, e.kind, e.size, e.mtimeMs, e.ino ?? null, e.contentHash, e.fileId, e.revision);
  }

  /** Forgets `path` and, with `subtree`, everything under it. */
  deleteSynced(path: string, subtree = false): void {
    this.db.prepare('DELETE FROM synced WHERE path = ?').run(path);
    if (subtree) this.db.prepare("DELETE FROM synced WHERE substr(path, 1, ?) = ?").run(chars(path) + 1, path + '/');
  }

  /** Re-keys the synced entries at and under `from` to `to` (a folder or file moved), dropping what was at and under `to`. */
  moveSynced(from: string, to: string): void {
    const under = 'path = ? OR substr(path, 1, ?) = ?';
    this.db.transaction(() => {
      this.db.prepare(`DELETE FROM synced WHERE ${under}`).run(to, chars(to) + 1, to + '/');
      this.db.prepare(`UPDATE synced SET path = ? || substr(path, ?) WHERE ${under}`).run(to, chars(from) + 1, from, chars(from) + 1, from + '/');
    })();
  }

  loadRemote(): Tree<RemoteEntry> {
    const rows = this.db.prepare('SELECT * FROM remote').all() as Row[];
    return new Map(rows.map((r) => [r.path, { kind: r.kind, size: r.size, contentHash: r.content_hash, fileId: r.file_id, revision: r.revision }]));
  }

  /** Replaces the whole remote tree and the cursor in one transaction. */
  replaceRemote(tree: Tree<RemoteEntry>, cursor: string): void {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM remote').run();
      for (const [p, e] of tree) this.putRemoteRow(p, e);
      this.set('cursor', cursor);
    })();
  }

  /** Applies remote-tree edits (null deletes) and, when given, moves the cursor, in one transaction. */
  updateRemote(edits: Map<string, RemoteEntry | null>, cursor?: string): void {
    this.db.transaction(() => {
      for (const [p, e] of edits) {
        if (e) this.putRemoteRow(p, e);
        else this.db.prepare('DELETE FROM remote WHERE path = ?').run(p);
      }
      if (cursor !== undefined) this.set('cursor', cursor);
    })();
  }

  /** Closes the database, which releases the folder's lock. */
  close(): void {
    if (!this.db.open) return;
    forgetPid(this.folder);
    this.db.close();
  }

  private putRemoteRow(path: string, e: RemoteEntry): void {
    this.db.prepare(`INSERT INTO remote (path, kind, size, content_hash, file_id, revision) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT(path) DO UPDATE SET kind = excluded.kind, size = excluded.size, content_hash = excluded.content_hash,
      file_id = excluded.file_id, revision = excluded.revision`).run(path, e.kind, e.size, e.contentHash, e.fileId, e.revision);
  }
}

/** Length in SQLite's characters (code points), for substr. */
const chars = (s: string) => [...s].length;

interface Row {
  path: string;
  kind: 'file' | 'folder';
  size: number;
  mtime_ms: number;
  ino?: number | null;
  content_hash: string | null;
  file_id: string;
  revision: number;
}
