import { promises as fs } from 'node:fs';
import path from 'node:path';
import { StorageError } from '../errors';
import { unquoteEtag } from '../etag';
import type { ObjectInfo } from '../types';
import { crashPoint } from './crash';
import { isMissing } from './errors';
import { cipherSize, type KeyRing } from './envelope';
import { envelopeOf, readPlain, sealFile, writeSealed, type PlaintextPolicy } from './sealed-io';
import { concatRanges, writeHashed } from './streams';
import { Readable } from 'node:stream';
import { DATA_FILE, syncDir, writeDurably, type Staging, type StagedPart, type UploadMeta } from './staging';

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
  /** Bytes on disk (an encrypted object: header and segments, see ./envelope). */
  size: number;
  parts: { partNumber: number; etag: string }[];
}

/** What the completion needs of the adapter. */
export interface Completer {
  staging: Staging;
  objectPath(key: string): string;
  /** Renames `file` to `target` and fsyncs the directory. */
  place(file: string, target: string): Promise<void>;
  head(key: string): Promise<ObjectInfo>;
  /** The stored parts to join for `wanted`, in order (INVALID_PART / PART_TOO_SMALL). */
  checkCompletion(wanted: { partNumber: number; etag: string }[], stored: StagedPart[]): StagedPart[];
  /** The master keys, when configured (an encrypted upload needs them). */
  ring?: KeyRing;
  /** Whether completed objects are encrypted (with `ring`); false when encryption is off. */
  encrypt: boolean;
  /** Segment size of objects encrypted at completion from a plaintext upload. */
  segmentSize: number;
}

/**
 * Prepares the object's file in the claimed directory `dir` and writes the commit record.
 * In place when the parts tile the data file, no live writer holds a slot (its bytes could
 * land in the object) and no other stored part lies in the data file past the object's end
 * (cutting it would destroy a part the upload may still need); else the parts are copied
 * into a new file. INVALID_PART if the data file lost bytes.
 */
export async function commit(
  c: Completer,
  { key, uploadId, meta, parts, dir }: { key: string; uploadId: string; meta: UploadMeta; parts: { partNumber: number; etag: string }[]; dir: string },
): Promise<CommitRecord> {
  const stored = await c.staging.parts(uploadId, dir);
  const ranges = c.checkCompletion(parts, stored);
  const size = ranges.reduce((n, r) => n + r.size, 0);
  const data = path.join(dir, DATA_FILE);
  const beyond = stored.some((p) => p.file === data && p.offset + p.size > size);
  const S = meta.segmentSize;
  const ring = S || c.encrypt ? needRing(c) : undefined;
  // the object's segment size: the upload's, or (an upload begun before encryption was on) the store's; none when off
  const outS = c.encrypt ? (S ?? c.segmentSize) : undefined;
  const onDiskSize = outS ? cipherSize(size, outS) : size;
  let file = OBJECT_FILE;
  if (S === outS && tiles(ranges, data) && !beyond && !(await c.staging.hasSlotWriters(dir))) {
    const { size: onDisk } = await fs.stat(data);
    if (onDisk < onDiskSize) throw new StorageError('INVALID_PART', `the upload's data holds ${onDisk} of its ${onDiskSize} bytes`);
    // an encrypted data file becomes the object: seal its size (a crash before the commit leaves a seal nothing reads)
    if (ring && S) {
      await sealFile(data, await envelopeOf(data, ring), size);
      crashPoint('complete.sealed');
    }
    file = DATA_FILE;
  } else if (ring && outS) {
    await writeSealed(joined(ranges, ring, S ? 'refuse' : 'plain'), path.join(dir, OBJECT_FILE), ring, outS);
    crashPoint('complete.assembled');
  } else if (ring) {
    // an encrypted upload completed after encryption was turned off: decrypted into a plaintext object
    await writeHashed(Readable.from(joined(ranges, ring, 'refuse')), path.join(dir, OBJECT_FILE));
    crashPoint('complete.assembled');
  } else {
    await concatRanges(ranges, path.join(dir, OBJECT_FILE), () => crashPoint('complete.assembling'));
    crashPoint('complete.assembled');
  }
  const { ino } = await fs.stat(path.join(dir, file));
  const record: CommitRecord = { key, contentType: meta.contentType, file, ino, size: onDiskSize, parts: ranges.map(({ partNumber, etag }) => ({ partNumber, etag })) };
  await writeCommit(dir, record);
  return record;
}

/**
 * Deals with an abandoned claim of `uploadId` (its completer died): a committed completion
 * is rolled forward (`completed`: its object, if still the one in place); an intact one is
 * put back (`restored`); anything else (a directory partly removed by an older version) is
 * discarded. Null when there is no abandoned claim.
 */
export async function settle(c: Completer, uploadId: string): Promise<{ restored: boolean; completed?: { key: string; parts?: CommitRecord['parts']; object: ObjectInfo } } | null> {
  const dir = await c.staging.abandonedClaim(uploadId);
  if (!dir) return null;
  const record = await readCommit(dir);
  if (record) {
    const placed = await rollForward(dir, record, c.objectPath(record.key), c.place);
    await c.staging.trash(dir, 'complete').catch(() => undefined);
    const object = placed ? { ...(await c.head(record.key)), contentType: record.contentType } : undefined;
    return { restored: false, completed: object && { key: record.key, parts: record.parts, object } };
  }
  const legacyEtag = await legacyDone(dir);
  if (legacyEtag === null && (await intact(c.staging, uploadId, dir))) return { restored: await c.staging.restore(uploadId, dir) };
  const key = await fs.readFile(path.join(dir, 'upload.json'), 'utf8').then((t) => (JSON.parse(t) as UploadMeta).key, () => null);
  await c.staging.trash(dir, 'complete').catch(() => undefined);
  const object = key !== null && legacyEtag !== null ? await c.head(key).catch(() => null) : null;
  return { restored: false, completed: object && object.etag === legacyEtag ? { key: key!, object } : undefined };
}

/**
 * The plaintext of the staged parts, one after another (re-encrypted by the caller into the
 * object's own envelope: parts' segments need not line up with the object's).
 */
async function* joined(ranges: StagedPart[], ring: KeyRing, plaintext: PlaintextPolicy): AsyncGenerator<Buffer> {
  let first = true;
  for (const r of ranges) {
    const region = { start: r.offset, size: r.size };
    yield* readPlain(r.file, ring, region, { offset: r.offset, length: r.size }, plaintext);
    if (first && r.size > 0) crashPoint('complete.assembling');
    first = false;
  }
}

function needRing(c: Completer): KeyRing {
  if (!c.ring) throw new StorageError('KEY_UNAVAILABLE', 'this upload is encrypted and no master key is configured');
  return c.ring;
}

/** True when the parts lie in `data` one after another from offset 0: the file is the object. */
function tiles(ranges: StagedPart[], data: string): boolean {
  let end = 0;
  for (const r of ranges) {
    if (r.file !== data || r.offset !== end) return false;
    end += r.size;
  }
  return true;
}

/** The same part numbers and etags, in order. */
export function sameParts(a: { partNumber: number; etag: string }[], b: { partNumber: number; etag: string }[]): boolean {
  return a.length === b.length && a.every((p, i) => p.partNumber === b[i].partNumber && p.etag === unquoteEtag(b[i].etag));
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
    const meta = JSON.parse(await fs.readFile(path.join(dir, 'upload.json'), 'utf8')) as UploadMeta;
    const S = meta.segmentSize;
    const onDisk = (plainEnd: number) => (S ? cipherSize(plainEnd, S) : plainEnd);
    const data = await fs.stat(path.join(dir, DATA_FILE)).catch(() => null);
    if (data === null && (await exists(path.join(dir, LEGACY_DONE_FILE)))) return false; // renamed into place already
    for (const p of await staging.parts(uploadId, dir)) {
      if (path.basename(p.file) === DATA_FILE) {
        if (!data || data.size < onDisk(p.offset + p.size)) return false;
      } else if ((await fs.stat(p.file)).size !== onDisk(p.size)) {
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
