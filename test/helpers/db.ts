import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';

export type DbKind = 'sqlite' | 'mariadb';

/** The databases every API test runs on (TEST_DBS=sqlite narrows it). */
export const testDatabases: DbKind[] = (process.env.TEST_DBS ?? 'sqlite,mariadb').split(',').map((s) => s.trim()) as DbKind[];

export const MARIADB_ADMIN_URL = process.env.TEST_MARIADB_URL ?? 'mysql://root@127.0.0.1:3306/test';

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

/** A fresh, empty database: a temp SQLite file, or a new schema on the shared MariaDB. */
export async function freshDatabase(kind: DbKind): Promise<TestDatabase> {
  if (kind === 'sqlite') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-db-'));
    return { url: `sqlite:${path.join(dir, 'test.sqlite')}`, drop: async () => fs.rmSync(dir, { recursive: true, force: true }) };
  }
  const name = `tessera_t_${crypto.randomBytes(6).toString('hex')}`;
  const admin = await mysql.createConnection(MARIADB_ADMIN_URL);
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await admin.end();
  const url = new URL(MARIADB_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString().replace(/^mysql:/, 'mariadb:'),
    drop: async () => {
      const c = await mysql.createConnection(MARIADB_ADMIN_URL);
      await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await c.end();
    },
  };
}
