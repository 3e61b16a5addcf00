import crypto from 'node:crypto';
import { DataSource } from 'typeorm';
import { openDataSource } from '../../ormconfig';
import { migrations } from '../../migrations';
import { freshDatabase } from '../helpers/db';

// A database from before the quota counters gets each user's usedBytes from their live files:
// on MariaDB by the migration, on SQLite (synchronize adds the column as NULL) at start-up.
const files = (ownerId: string) => [
  { size: 100, status: 'AVAILABLE', isFolder: 0 },
  { size: 20, status: 'AVAILABLE', isFolder: 0 },
  { size: 999, status: 'DELETED', isFolder: 0 }, // the trash does not count
  { size: 0, status: 'AVAILABLE', isFolder: 1 },
].map((f, i) => ({ id: crypto.randomUUID(), ownerId, path: `/f${i}`, name: `f${i}`, ...f }));

async function seed(q: (sql: string, params?: unknown[]) => Promise<unknown>): Promise<string> {
  const userId = crypto.randomUUID();
  await q('INSERT INTO users (id, email, passwordHash) VALUES (?, ?, ?)', [userId, `${userId}@example.com`, 'x']);
  for (const f of files(userId)) {
    await q('INSERT INTO files (id, ownerId, path, name, size, status, isFolder) VALUES (?, ?, ?, ?, ?, ?, ?)', [f.id, f.ownerId, f.path, f.name, f.size, f.status, f.isFolder]);
  }
  return userId;
}

test('the MariaDB migration backfills usedBytes from the live files', async () => {
  const db = await freshDatabase('mariadb');
  const url = db.url.replace(/^mariadb:/, 'mysql:');
  // every migration before the quota counters (later ones may follow it in the list)
  const quotaAt = migrations.findIndex((m) => (m as Function).name === 'QuotaCounters1795430000000');
  const before = new DataSource({ type: 'mariadb', url, migrations: migrations.slice(0, quotaAt) as Function[] });
  try {
    await before.initialize();
    await before.runMigrations({ transaction: 'each' });
    const userId = await seed((sql, p) => before.query(sql, p));
    await before.destroy();
    // the migrations alone (not start-up's backfill, which openDataSource would run too)
    const ds = new DataSource({ type: 'mariadb', url, migrations });
    await ds.initialize();
    await ds.runMigrations({ transaction: 'each' });
    const [row] = await ds.query('SELECT usedBytes, reservedBytes FROM users WHERE id = ?', [userId]);
    expect([Number(row.usedBytes), Number(row.reservedBytes)]).toEqual([120, 0]);
    await ds.destroy();
  } finally {
    if (before.isInitialized) await before.destroy();
    await db.drop();
  }
});

test('on SQLite, start-up backfills a usedBytes that is NULL', async () => {
  const db = await freshDatabase('sqlite');
  try {
    let ds = await openDataSource({ databaseUrl: db.url });
    const userId = await seed((sql, p) => ds.query(sql, p));
    await ds.query('UPDATE users SET usedBytes = NULL');
    await ds.destroy();
    ds = await openDataSource({ databaseUrl: db.url });
    const [row] = await ds.query('SELECT usedBytes FROM users WHERE id = ?', [userId]);
    expect(Number(row.usedBytes)).toBe(120);
    await ds.destroy();
  } finally {
    await db.drop();
  }
});
