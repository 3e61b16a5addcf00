import { promises as fs } from 'node:fs';
import path from 'node:path';
import { StorageError } from '../errors';
import { crashPoint } from './crash';
import { isMissing } from './errors';
import { DATA_FILE, syncDir, writeDurably, type Staging } from './staging';

/**
 * The commit point of a completion (see the crash-safety scheme in ./adapter): a claimed
 * upload directory holding a durable `commit.json` is completed by whoever finds it; one
 * without is put back as it was (or, if it is not intact, discarded).
 */
export const COMMIT_FILE = 'commit.json';
/** The file the copy path assembles the object into, inside the claimed directory. */
export const OBJECT_FILE = 'object';
/** What completers of earlier versions left after truncating the data file (before renaming it). */
const LEGACY_DONE_FILE = 'done.json';

export interface CommitRecord {
  key: string;
  contentType?: string;
  /** Name, in the claimed directory, of the file that becomes the object (DATA_FILE or OBJECT_FILE). */
  file: string;
  /** Its inode: the object in place is this completion's exactly when its inode and size are these. */
  ino: number;
  size: number;
  parts: { partNumber: number; etag: string }[];
}

/** Writes the record durably (file and name fsynced): nothing is cut, moved or removed before. */
export async function writeCommit(dir: string, record: CommitRecord): Promise<void> {
  await writeDurably(path.join(dir, COMMIT_FILE), JSON.stringify(record));
  await syncDir(dir);
  crashPoint('complete.committed');
}

/** The directory's commit record; null if there is none or it is torn (then nothing after it happened). */
export async function readCommit(dir: string): Promise<CommitRecord | null> {
  try {
    const r = JSON.parse(await fs.readFile(path.join(dir, COMMIT_FILE), 'utf8')) as CommitRecord;
    return typeof r.ino === 'number' && typeof r.size === 'number' && Array.isArray(r.parts) ? r : null;
  } catch {
    return null;
  }
}

/**
 * Finishes a committed completion; every step may already have happened (idempotent): cut
 * the data file to the object's size, fsync, rename into place (`place` fsyncs the
 * directory). Returns the object's stat when the object in place is this completion's, null
 * when it has since been replaced or deleted. INTERNAL if the file is not the one committed.
 */
export async function rollForward(
  dir: string,
  record: CommitRecord,
  target: string,
  place: (file: string, target: string) => Promise<void>,
): Promise<{ size: number; ino: number } | null> {
  const file = path.join(dir, record.file);
  const st = await fs.stat(file).catch((e) => (isMissing(e) ? null : Promise.reject(e)));
  if (st) {
    if (st.ino !== record.ino || st.size < record.size) throw new StorageError('INTERNAL', `${file} is not the file committed`);
    if (st.size > record.size || record.file === DATA_FILE) {
      const fh = await fs.open(file, 'r+');
      try {
        if (st.size > record.size) await fh.truncate(record.size);
        await fh.sync();
      } finally {
        await fh.close();
      }
      crashPoint('complete.truncated');
    }
    await place(file, target);
    crashPoint('complete.placed');
  }
  const placed = await fs.stat(target).catch(() => null);
  return placed && placed.ino === record.ino && placed.size === record.size ? placed : null;
}

/**
 * Whether an uncommitted claimed directory can go back as the upload it was: its
 * upload.json readable and every stored part's bytes present (a part in the data file
 * within its length, a part of its own at its size). A directory partly removed by an
 * older version's cleanup fails this, and must not be restored.
 */
export async function intact(staging: Staging, uploadId: string, dir: string): Promise<boolean> {
  try {
    JSON.parse(await fs.readFile(path.join(dir, 'upload.json'), 'utf8'));
    const data = await fs.stat(path.join(dir, DATA_FILE)).catch(() => null);
    if (data === null && (await exists(path.join(dir, LEGACY_DONE_FILE)))) return false; // renamed into place already
    for (const p of await staging.parts(uploadId, dir)) {
      if (path.basename(p.file) === DATA_FILE) {
        if (!data || data.size < p.offset + p.size) return false;
      } else if ((await fs.stat(p.file)).size !== p.size) {
        return false;
      }
    }
    await fs.rm(path.join(dir, LEGACY_DONE_FILE), { force: true });
    await fs.rm(path.join(dir, COMMIT_FILE), { force: true }); // a torn record
    await fs.rm(path.join(dir, OBJECT_FILE), { force: true }); // a half-assembled object
    return true;
  } catch {
    return false;
  }
}

/**
 * An older version's record of a completion that renamed its data file into place: the
 * object's etag then. Null if there is none, or the data file is still there.
 */
export async function legacyDone(dir: string): Promise<string | null> {
  const record = await fs.readFile(path.join(dir, LEGACY_DONE_FILE), 'utf8').catch(() => null);
  if (record === null || (await exists(path.join(dir, DATA_FILE)))) return null;
  try {
    return (JSON.parse(record) as { etag: string }).etag;
  } catch {
    return null;
  }
}

function exists(file: string): Promise<boolean> {
  return fs.stat(file).then(() => true, () => false);
}
