import { promises as fs } from 'node:fs';
import path from 'node:path';
import { StorageError } from '../errors';
import type { ByteRange } from '../types';
import { translateFsError } from './errors';
import { syncDir } from './staging';

/** Small file-system steps of the local store's objects (adapter.ts), and its argument checks. */

/**
 * Renames `tmp` to `target` and fsyncs the directory, so the object's name survives a power
 * cut once complete has answered (the database then points at it). A concurrent delete that
 * prunes the target's directory meanwhile is retried; other failures are PRECONDITION_FAILED
 * (or the translated fs error).
 */
export async function moveIntoPlace(tmp: string, target: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await fs.mkdir(path.dirname(target), { recursive: true });
      await fs.rename(tmp, target);
      break;
    } catch (e) {
      // A concurrent delete may prune the directory between mkdir and rename.
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' && attempt < 3) continue;
      throw translateFsError(e, 'PRECONDITION_FAILED');
    }
  }
  await syncDir(path.dirname(target)).catch((e) => {
    throw translateFsError(e);
  });
}

/** Removes `dir` and its parents while they are empty, never `objectsDir` itself or anything outside it. */
export async function pruneEmptyDirs(objectsDir: string, dir: string): Promise<void> {
  while (dir.startsWith(objectsDir + path.sep)) {
    try {
      await fs.rmdir(dir);
    } catch {
      return;
    }
    dir = path.dirname(dir);
  }
}

/** The epoch milliseconds `expiresIn` seconds from now; INTERNAL for a non-positive or non-finite value. */
export function expiry(expiresIn: number): number {
  if (!Number.isFinite(expiresIn) || expiresIn <= 0) throw new StorageError('INTERNAL', `bad expiresIn: ${expiresIn}`);
  return Date.now() + Math.round(expiresIn * 1000);
}

/** INVALID_RANGE unless the range's offset and length are non-negative safe integers. */
export function checkRange(r: ByteRange): void {
  if (!Number.isSafeInteger(r.offset) || !Number.isSafeInteger(r.length) || r.offset < 0 || r.length < 0) {
    throw new StorageError('INVALID_RANGE', `bad range ${r.offset}+${r.length}`);
  }
}
