import { createHash } from 'node:crypto';
import { readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { PARTIAL_SUFFIX } from '../sdk/partial';
import { STATE_DIR } from './paths';
import type { Action } from './planner';

/** Where downloads of a sync folder land before they take their names (see Executor). */
export function stagingDir(folder: string): string {
  return join(folder, STATE_DIR, 'downloads');
}

/** The staging file of a download to `rel` (the SDK keeps `<it>.tessera-partial` and its sidecar beside it while unfinished). */
export function stagingPathOf(folder: string, rel: string): string {
  return join(stagingDir(folder), createHash('sha256').update(rel).digest('hex').slice(0, 32));
}

/**
 * Removes from the staging folder every file that belongs to no download of `plan`: a download
 * that a crash (kill -9) cut short and that is no longer wanted (the remote file was deleted or
 * changed path since), or a finished one that could not take its name. Kept: what the plan
 * downloads, so an interrupted download still resumes. Errors other than ENOENT are thrown.
 */
export async function cleanStaging(folder: string, plan: Action[]): Promise<string[]> {
  const dir = stagingDir(folder);
  const names = await readdir(dir).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return [] as string[];
    throw e;
  });
  if (names.length === 0) return [];
  const wanted = new Set(plan.filter((a) => a.type === 'download' || (a.type === 'conflict' && a.remote.kind === 'file'))
    .map((a) => stagingPathOf(folder, a.path).slice(dir.length + 1)));
  const removed: string[] = [];
  for (const name of names) {
    const i = name.indexOf(PARTIAL_SUFFIX);
    if (wanted.has(i < 0 ? name : name.slice(0, i))) continue;
    await unlink(join(dir, name)).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
    removed.push(name);
  }
  return removed;
}
