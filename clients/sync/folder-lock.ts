import type Database from 'better-sqlite3';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { STATE_DIR } from './paths';

/** Holds the pid of the process syncing the folder (informational: the lock itself is SQLite's). */
const PID_FILE = 'sync.pid';

/**
 * LOCKED: another engine (in this process or another one) already syncs the folder. Two at
 * once would scramble it (each taking the other's writes for remote edits), so the second
 * one refuses to start.
 */
export class SyncLockedError extends Error {
  readonly code = 'LOCKED' as const;

  constructor(readonly folder: string, readonly pid: number | null) {
    super(`another tessera sync is already running on ${folder}${pid === null ? '' : ` (pid ${pid})`}`);
    this.name = 'SyncLockedError';
  }
}

/**
 * Makes `db` (the folder's freshly opened state database, opened with `timeout: 0`) the only
 * connection to it for as long as it stays open: `locking_mode = EXCLUSIVE` plus a write
 * transaction takes SQLite's exclusive lock on the file and never gives it back before
 * `close()`. The lock is an OS (fcntl) lock, so the kernel drops it when the process dies,
 * even by SIGKILL: no stale lock is ever left behind. Throws SyncLockedError (naming the
 * holder's pid when known) when another connection holds it; other errors as they are.
 */
export function lockStateDb(db: Database.Database, folder: string): void {
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('journal_mode = WAL');
    db.exec('BEGIN IMMEDIATE; COMMIT');
  } catch (e) {
    if ((e as { code?: unknown }).code === 'SQLITE_BUSY') throw new SyncLockedError(folder, holderPid(folder));
    throw e;
  }
  writeFileSync(pidFile(folder), `${process.pid}\n`);
}

/** Removes the pid file if it still names this process (call before closing the locked database). */
export function forgetPid(folder: string): void {
  if (holderPid(folder) === process.pid) rmSync(pidFile(folder), { force: true });
}

/** The pid in the folder's pid file: the process syncing it, or one that died without removing it (null: none). */
export function holderPid(folder: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(pidFile(folder), 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

const pidFile = (folder: string) => join(folder, STATE_DIR, PID_FILE);
