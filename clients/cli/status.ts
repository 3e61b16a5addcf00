import type { Command } from 'commander';
import { resolve } from 'node:path';
import { TesseraError } from '../sdk/errors';
import { holderPid } from '../sync/folder-lock';
import { StateDb } from '../sync/state-db';
import { readSyncStatus, type SyncStatus } from '../sync/status';
import type { CliContext } from './context';

/**
 * `status [folder] [--json]`: what the sync of a folder (default: the current one) is doing,
 * read from what its engine keeps in <folder>/.tessera (no server is asked): `up to date`,
 * `syncing N files`, `offline since <time>: <why>; retrying`, `halted: <CODE>: <why>`, or
 * `not running (last: ...)` when no `tessera sync` runs on it. A second line names the folder,
 * server and remote folder. NOT_FOUND when the folder was never synced.
 */
export function registerStatusCommands(program: Command, ctx: CliContext): void {
  program
    .command('status')
    .description('whether a synced folder is up to date, syncing, offline or halted (and why)')
    .argument('[folder]', 'the synced folder', '.')
    .option('--json', 'print the status as JSON (with "running")')
    .action((dir: string, o: { json?: boolean }) => {
      const folder = resolve(ctx.io.cwd, dir);
      if (!StateDb.existsIn(folder)) throw new TesseraError('NOT_FOUND', `${folder} is not a synced folder (no .tessera/state.db)`);
      const status = readSyncStatus(folder);
      const running = status !== null && isSyncing(folder, status.pid);
      if (o.json) {
        ctx.io.stdout.write(JSON.stringify({ folder, running, ...status }) + '\n');
        return;
      }
      ctx.io.stdout.write(describeStatus(status, running) + '\n');
      if (status) ctx.io.stdout.write(`${folder} <-> ${status.server} ${status.remoteRoot}${running ? ` (tessera sync, pid ${status.pid})` : ''}\n`);
    });
}

/** The first line of `tessera status`. */
export function describeStatus(s: SyncStatus | null, running: boolean): string {
  if (!s) return 'not running (no sync has recorded a status here yet)';
  if (s.state === 'halted') return `halted: ${s.code}: ${s.reason}${running ? '' : ' (not running)'}`;
  const now = describeState(s);
  return running ? now : `not running (last: ${now}, at ${clock(s.updatedAt, true)})`;
}

function describeState(s: SyncStatus): string {
  switch (s.state) {
    case 'up-to-date': return 'up to date';
    case 'offline': return `offline since ${clock(s.since)}: ${s.reason}; retrying`;
    case 'halted': return `halted: ${s.code}: ${s.reason}`;
    case 'syncing':
      if (s.reason) return `syncing: ${s.files > 0 ? `${files(s.files)} failed` : 'the last cycle failed'}, ${s.code}: ${s.reason}`;
      return s.files > 0 ? `syncing ${files(s.files)}` : 'syncing (looking for changes)';
  }
}

const files = (n: number) => `${n} file${n === 1 ? '' : 's'}`;

/** True while process `pid` lives and holds the folder (its pid file names it: a clean exit removes it). */
function isSyncing(folder: string, pid: number): boolean {
  if (holderPid(folder) !== pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Local time "HH:MM:SS" (with the date: "YYYY-MM-DD HH:MM:SS"). */
function clock(iso: string, withDate = false): string {
  const d = new Date(iso);
  const two = (n: number) => String(n).padStart(2, '0');
  const time = `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
  return withDate ? `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${time}` : time;
}
