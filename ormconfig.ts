import 'reflect-metadata';
import fs from 'node:fs';
import path from 'node:path';
import { DataSource, type Logger } from 'typeorm';
import { entities } from './src/entities';
import { migrations } from './migrations';
import { backfillUsage } from './src/services/quota';

export interface DataSourceOptions {
  /** `sqlite:<file>` or `sqlite::memory:`, or a mysql:// / mariadb:// URL. */
  databaseUrl: string;
  logger?: Logger;
}

/**
 * The metadata database: SQLite (synchronize) by default, MySQL/MariaDB (migrations only)
 * when the URL says so.
 */
export function createDataSource({ databaseUrl, logger }: DataSourceOptions): DataSource {
  if (databaseUrl.startsWith('sqlite:')) {
    const file = databaseUrl.slice('sqlite:'.length);
    if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    return serialiseTransactions(new DataSource({
      type: 'better-sqlite3',
      database: file,
      entities,
      synchronize: true,
      enableWAL: file !== ':memory:',
      logger,
      logging: logger ? 'all' : false,
    }));
  }
  const url = databaseUrl.replace(/^mysql:\/\//, 'mariadb://').replace(/^mariadb:\/\//, 'mysql://');
  return new DataSource({
    type: 'mariadb',
    url,
    entities,
    migrations,
    migrationsRun: false,
    synchronize: false,
    timezone: 'Z',
    charset: 'utf8mb4',
    supportBigNumbers: true,
    bigNumberStrings: true,
    logger,
    logging: logger ? 'all' : false,
  });
}

/**
 * better-sqlite3 has one connection: two concurrent `transaction()` calls would nest as savepoints
 * of one transaction (and commit or roll back each other's work). Run them one at a time.
 */
function serialiseTransactions(ds: DataSource): DataSource {
  const manager = ds.manager;
  const original = manager.transaction.bind(manager) as (...args: unknown[]) => Promise<unknown>;
  let tail: Promise<unknown> = Promise.resolve();
  (manager as { transaction: unknown }).transaction = (...args: unknown[]) => {
    const run = tail.then(() => original(...args));
    tail = run.catch(() => undefined);
    return run;
  };
  return ds;
}

/** Opens the data source and brings its schema up to date. */
export async function openDataSource(opts: DataSourceOptions): Promise<DataSource> {
  const ds = createDataSource(opts);
  await ds.initialize();
  if (ds.options.type !== 'better-sqlite3') await ds.runMigrations({ transaction: 'each' });
  await backfillUsage(ds); // a SQLite database from before the quota counters (synchronize added them as NULL)
  return ds;
}

/** For the TypeORM CLI (`typeorm migration:generate -d dist/ormconfig.js`). */
export default createDataSource({ databaseUrl: process.env.DATABASE_URL || 'mariadb://root@127.0.0.1:3306/test' });
