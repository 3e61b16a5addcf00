import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isTesseraError } from '../sdk/errors';
import { causeMessage } from '../sdk/graphql';
import { STATE_DIR } from './paths';

/**
 * What a sync engine is doing, as `tessera status` (another process) reads it:
 * `syncing` (a pass is carrying out `files` changes, or is looking for changes when 0, or the
 * last cycle left `files` failed ones to retry: `reason` says why), `up-to-date`, `offline`
 * (the server cannot be reached: `reason`, and `since` when), `halted` (stopped rather than
 * destroy data: `code` and `reason`, see SyncHalted).
 */
export type SyncState = 'syncing' | 'up-to-date' | 'offline' | 'halted';

export interface SyncStatus {
  state: SyncState;
  /** syncing: changes in the pass being carried out (still to do), or failed in the last cycle. */
  files: number;
  /** Why: the network error (offline), the halt (halted), the first failure of the last cycle (syncing). */
  reason: string | null;
  code: string | null;
  /** When this state began (ISO 8601). */
  since: string;
  /** The process of the engine that wrote it (it may have ended since: see `tessera status`). */
  pid: number;
  server: string;
  remoteRoot: string;
  /** When it was written (ISO 8601). */
  updatedAt: string;
}

/** The status file of a sync folder: `<folder>/.tessera/status.json`. */
export function statusFileOf(folder: string): string {
  return join(folder, STATE_DIR, 'status.json');
}

/** The status the folder's last engine wrote, or null when there is none (or it cannot be read). */
export function readSyncStatus(folder: string): SyncStatus | null {
  try {
    const s = JSON.parse(readFileSync(statusFileOf(folder), 'utf8')) as SyncStatus;
    return typeof s?.state === 'string' && typeof s.pid === 'number' ? s : null;
  } catch {
    return null;
  }
}

/**
 * Writes `status` to the folder's status file atomically (a temp file renamed over it), so a
 * reader sees the old or the new status, never a torn one. Best effort: a folder that is gone
 * (LOCAL_ROOT_GONE) has nowhere to keep it, so errors are swallowed.
 */
export function writeSyncStatus(folder: string, status: SyncStatus): void {
  const file = statusFileOf(folder);
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, JSON.stringify(status) + '\n');
    renameSync(tmp, file);
  } catch {
    // the status is advisory; the folder's state database is what matters
  }
}

/** True for an error that says the server could not be reached (rather than that it refused). */
export function isUnreachable(e: unknown): boolean {
  return isTesseraError(e, 'NETWORK');
}

/** How the change feed's connection error reads ("connect ECONNREFUSED 127.0.0.1:4000", "connection closed (1006)"). */
function describeLoss(e: unknown): string {
  const close = e as { code?: unknown; reason?: unknown; type?: unknown };
  if (typeof close?.code === 'number') return `connection closed (${close.code}${close.reason ? ` ${close.reason}` : ''})`;
  const ev = e as { error?: unknown; message?: unknown };
  if (ev?.error instanceof Error) return causeMessage(ev.error);
  return causeMessage(e);
}

/**
 * The engine's state as it changes, kept in the status file and told to `onChange` (with the
 * state before) on every change of state or of the number of files. A change of state or of
 * its reason, and a new pass, are written at once; a count going down (a change done) at most
 * once per 200 ms.
 */
export class StatusBoard {
  private status: SyncStatus;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly folder: string,
    server: string,
    remoteRoot: string,
    private readonly onChange?: (now: SyncStatus, before: SyncStatus) => void,
  ) {
    const now = new Date().toISOString();
    this.status = { state: 'syncing', files: 0, reason: null, code: null, since: now, pid: process.pid, server, remoteRoot, updatedAt: now };
    this.flush();
  }

  get current(): SyncStatus {
    return { ...this.status };
  }

  /** A pass is about to carry out `files` changes (the server answered, so it is reachable). */
  syncing(files: number): void {
    this.set({ state: 'syncing', files, reason: null, code: null });
  }

  /** One change of the pass is done (or failed). */
  actionDone(): void {
    if (this.status.state === 'syncing' && this.status.files > 0) this.set({ files: this.status.files - 1 });
  }

  /**
   * A cycle ended: up to date when nothing failed and nothing waits (`waiting`: e.g. a file
   * still being written); failures that are all unreachability make it offline.
   */
  cycleDone(failures: { error?: Error; action: { path: string } }[], waiting: boolean): void {
    const errors = failures.map((f) => f.error).filter((e): e is Error => !!e);
    if (errors.length > 0 && errors.every(isUnreachable)) return this.offline(errors[0]);
    if (errors.length > 0) {
      const first = failures[0];
      const code = (first.error as { code?: unknown }).code;
      return this.set({ state: 'syncing', files: errors.length, code: typeof code === 'string' ? code : 'ERROR', reason: `${first.action.path}: ${first.error!.message} (retried on the next cycle)` });
    }
    if (waiting) this.set({ state: 'syncing', files: 0, reason: null, code: null });
    else this.set({ state: 'up-to-date', files: 0, reason: null, code: null });
  }

  /** A cycle failed as a whole: unreachable → offline; otherwise syncing with the reason. */
  cycleFailed(e: unknown): void {
    if (isUnreachable(e)) return this.offline(e);
    const code = (e as { code?: unknown })?.code;
    this.set({ state: 'syncing', files: 0, code: typeof code === 'string' ? code : 'ERROR', reason: String((e as Error)?.message ?? e) });
  }

  /** The live feed lost its connection; from the second attempt on, the server is unreachable. */
  feedLost(attempt: number, e: unknown): void {
    if (attempt >= 2) this.offline(e);
  }

  /** The live feed is connected: the server is reachable again (the engine looks for changes next). */
  feedConnected(): void {
    if (this.status.state === 'offline') this.set({ state: 'syncing', files: 0, reason: null, code: null });
  }

  /**
   * The engine stopped rather than destroy data. LOCAL_ROOT_GONE is not written: the folder is
   * gone or being deleted (a file made in it now could make the user's `rm -r` fail), or another
   * folder stands in its place.
   */
  halted(e: { code: string; message: string }): void {
    this.set({ state: 'halted', files: 0, code: e.code, reason: e.message });
  }

  /** Stops the pending delayed write (writing what is current now). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.status.code === 'LOCAL_ROOT_GONE') return;
    writeSyncStatus(this.folder, this.status);
  }

  /** The server cannot be reached (`e` says how). */
  offline(e: unknown): void {
    if (this.status.state === 'halted') return;
    const reason = `cannot reach ${this.status.server}: ${isTesseraError(e) ? e.message.replace(/^cannot reach \S+: /, '') : describeLoss(e)}`;
    if (this.status.state === 'offline') {
      if (this.status.reason !== reason) this.set({ reason }, false);
      return;
    }
    this.set({ state: 'offline', files: 0, code: 'NETWORK', reason });
  }

  private set(patch: Partial<SyncStatus>, tell = true): void {
    if (this.status.state === 'halted' && patch.state !== undefined && patch.state !== 'halted') return;
    const before = this.status;
    const stateChanged = patch.state !== undefined && patch.state !== before.state;
    const now = new Date().toISOString();
    this.status = { ...before, ...patch, since: stateChanged ? now : before.since, updatedAt: now };
    if (!stateChanged && this.status.files === before.files && this.status.reason === before.reason) return;
    if (stateChanged || before.reason !== this.status.reason || this.status.files > before.files) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), 200).unref();
    if (tell) this.onChange?.(this.current, before);
  }
}
