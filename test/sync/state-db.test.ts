import Database from 'better-sqlite3';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StateDb, stateFileOf } from '../../clients/sync/state-db';

/** The state database keeps each synced file's inode; a database from before that gains the column on open. */
describe('sync state database: inode of synced files', () => {
  let folder: string;
  beforeEach(async () => {
    folder = await mkdtemp(join(tmpdir(), 'tessera-statedb-'));
  });
  afterEach(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it('an older database (no ino column) opens, its entries have no inode, and new entries keep theirs', async () => {
    await mkdir(join(folder, '.tessera'), { recursive: true });
    const old = new Database(stateFileOf(folder));
    old.exec(`CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE synced (path TEXT PRIMARY KEY, kind TEXT NOT NULL, size INTEGER NOT NULL,
        mtime_ms REAL NOT NULL, content_hash TEXT, file_id TEXT NOT NULL, revision INTEGER NOT NULL);
      CREATE TABLE remote (path TEXT PRIMARY KEY, kind TEXT NOT NULL, size INTEGER NOT NULL,
        content_hash TEXT, file_id TEXT NOT NULL, revision INTEGER NOT NULL);
      INSERT INTO synced VALUES ('/old', 'file', 3, 1000.5, 'h1', 'f1', 1);`);
    old.close();

    const db = new StateDb(folder);
    try {
      expect(db.loadSynced().get('/old')).toEqual({ kind: 'file', size: 3, mtimeMs: 1000.5, ino: undefined, contentHash: 'h1', fileId: 'f1', revision: 1 });
      const big = 2 ** 52 + 7; // inode numbers can be large
      db.putSynced('/new', { kind: 'file', size: 4, mtimeMs: 2000.25, ino: big, contentHash: 'h2', fileId: 'f2', revision: 2 });
      db.moveSynced('/new', '/moved');
      expect(db.loadSynced().get('/moved')).toEqual({ kind: 'file', size: 4, mtimeMs: 2000.25, ino: big, contentHash: 'h2', fileId: 'f2', revision: 2 });
    } finally {
      db.close();
    }
    // and it opens again (the column is not added twice)
    new StateDb(folder).close();
  });
});
