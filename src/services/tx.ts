import type { DataSource, EntityManager } from 'typeorm';
import { AppError } from './errors';

const RETRYABLE = new Set(['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT', 'SQLITE_BUSY']);
const DUPLICATE = new Set(['ER_DUP_ENTRY', 'SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_CONSTRAINT_PRIMARYKEY']);

/**
 * Runs `work` in one transaction, retrying when the database chose it as a deadlock victim or
 * a unique index refused a row a concurrent writer had just created; a unique-index race that
 * persists becomes CONFLICT.
 */
export async function transaction<T>(ds: DataSource, work: (m: EntityManager) => Promise<T>, attempts = 4): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await ds.transaction(work);
    } catch (e) {
      const code = (e as { code?: string; driverError?: { code?: string } }).driverError?.code ?? (e as { code?: string }).code;
      // a duplicate key means a concurrent writer created the same row (a parent folder, say):
      // running the work again sees that row and decides properly (reuse it, or CONFLICT)
      if (code && (RETRYABLE.has(code) || DUPLICATE.has(code)) && attempt < attempts) {
        await new Promise((r) => setTimeout(r, 20 * attempt + Math.random() * 50));
        continue;
      }
      if (code && DUPLICATE.has(code)) throw new AppError('CONFLICT', 'a concurrent change got there first; try again');
      throw e;
    }
  }
}

/**
 * Whether the database takes row locks (MariaDB/MySQL). SQLite does not and needs none: its
 * transactions are serialised (ormconfig.ts).
 */
export function locksRows(m: EntityManager): boolean {
  return m.connection.options.type !== 'better-sqlite3';
}

/** Find options that lock the rows read until the transaction ends (SQLite serialises writers anyway). */
export function writeLock(m: EntityManager): { lock?: { mode: 'pessimistic_write' } } {
  return locksRows(m) ? { lock: { mode: 'pessimistic_write' } } : {};
}

/**
 * Serialises one owner's tree and quota changes: locks the owners' user rows (sorted, so two
 * transactions never wait on each other in a cycle) until the transaction ends. Every
 * transaction that changes a tree (folders, moves, deletes, restores, revisions, purges) or a
 * user's quota counters calls it FIRST, before any other read, and then reads the nodes it
 * acts on: on MariaDB a REPEATABLE READ snapshot is taken at the first plain read, so reads
 * after the lock see everything the previous holder committed. One owner's mutations thus run
 * one at a time; different owners' run in parallel. On SQLite every transaction is already
 * serialised (ormconfig.ts), so this costs nothing there.
 */
export async function lockOwner(m: EntityManager, ...ownerIds: string[]): Promise<void> {
  if (!locksRows(m)) return;
  const ids = [...new Set(ownerIds)].sort();
  if (!ids.length) return;
  await m.createQueryBuilder().select('u.id', 'id').from('users', 'u')
    .where('u.id IN (:...ids)', { ids }).orderBy('u.id', 'ASC').setLock('pessimistic_write').getRawMany();
}
