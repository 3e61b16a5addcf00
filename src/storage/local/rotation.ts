import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { constants as fsConstants, createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { isStorageError } from '../errors';
import { DEFAULT_SEGMENT_SIZE, HEADER_SIZE, isEnvelope, KEY_SLOT_SIZE, openHeader, rewrap, staleSlots, type KeyRing } from './envelope';
import { writeSealed } from './sealed-io';
import { syncDir } from './staging';
import { isMissing } from './errors';
import { forgetPlaintext } from './upgrade';

export interface RotationReport {
  /** Encrypted files seen (objects and staged uploads). */
  encrypted: number;
  /** Of those, re-wrapped now with the current key. */
  rewrapped: number;
  /** Old keys' wraps erased (retire). */
  erased: number;
  /** Objects without an envelope (written while encryption was off), found. */
  plaintextObjects: number;
  /** Of those, encrypted now (encryptPlaintext). */
  encryptedNow: number;
  /** Encrypted files by the id (hex) of the master key that opens them, after the run. */
  byKey: Record<string, number>;
  /** Files no configured key opens (KEY_UNAVAILABLE) or whose header is damaged (CORRUPT). */
  failed: { file: string; code: string }[];
}

/**
 * Key rotation for the local store: every encrypted file under `root` (objects, uploads'
 * data files and parts, claimed uploads) gets its data key wrapped by `ring.current`. Only the
 * 68-byte key slot not in use is written, then fsynced (./envelope): the object bytes are not
 * re-encrypted, and a crash at any point leaves every file readable with the keys it was
 * readable with before. Safe while the server runs (a file renamed or removed meanwhile is
 * skipped; one created meanwhile is wrapped by the key the server runs with). Idempotent:
 * run it again until `byKey` shows only the current key.
 * `retire` then also erases the old keys' wraps (after the current one is durable), so an old
 * (say, leaked) master key opens nothing any more; only when no server runs with the old key alone.
 * `encryptPlaintext` encrypts objects written while encryption was off (each replaced by one
 * atomic rename), for a store upgraded to encryption at rest.
 */
export async function rotateKeys(root: string, ring: KeyRing, opts: { dryRun?: boolean; retire?: boolean; encryptPlaintext?: boolean } = {}): Promise<RotationReport> {
  const dryRun = opts.dryRun ?? false;
  const report: RotationReport = { encrypted: 0, rewrapped: 0, erased: 0, plaintextObjects: 0, encryptedNow: 0, byKey: {}, failed: [] };
  const objectsDir = path.join(root, 'objects');
  const plaintext: string[] = [];
  for await (const file of walk(root)) {
    let fh;
    try {
      fh = await fs.open(file, dryRun ? 'r' : fsConstants.O_RDWR);
    } catch (e) {
      if (isMissing(e)) continue;
      throw e;
    }
    try {
      const header = Buffer.alloc(HEADER_SIZE);
      const { bytesRead } = await fh.read(header, 0, HEADER_SIZE, 0);
      if (bytesRead < HEADER_SIZE || !isEnvelope(header)) {
        if (file.startsWith(objectsDir + path.sep)) {
          report.plaintextObjects++;
          plaintext.push(file);
        }
        continue;
      }
      report.encrypted++;
      let keyId: Buffer;
      try {
        const change = dryRun ? null : rewrap(header, ring);
        if (change) {
          await fh.write(change.bytes, 0, change.bytes.length, change.offset);
          await fh.sync();
          change.bytes.copy(header, change.offset);
          report.rewrapped++;
        }
        keyId = openHeader(header, ring).keyId;
        if (opts.retire && !dryRun && keyId.equals(ring.current.id)) {
          // the current key's wrap is durable: the old keys' wraps go, so an old key no longer opens the file
          for (const offset of staleSlots(header, keyId)) {
            await fh.write(Buffer.alloc(KEY_SLOT_SIZE), 0, KEY_SLOT_SIZE, offset);
            report.erased++;
          }
          await fh.sync();
        }
      } catch (e) {
        if (!isStorageError(e)) throw e;
        report.failed.push({ file: path.relative(root, file), code: e.code });
        continue;
      }
      const id = keyId.toString('hex');
      report.byKey[id] = (report.byKey[id] ?? 0) + 1;
    } finally {
      await fh.close();
    }
  }
  if (opts.encryptPlaintext && !dryRun) {
    for (const file of plaintext) if (await encryptObjectFile(file, root, ring)) report.encryptedNow++;
    report.plaintextObjects -= report.encryptedNow;
    if (report.encryptedNow) report.byKey[ring.current.id.toString('hex')] = (report.byKey[ring.current.id.toString('hex')] ?? 0) + report.encryptedNow;
    report.encrypted += report.encryptedNow;
    if (report.plaintextObjects === 0) await forgetPlaintext(root); // from now on an object without an envelope is CORRUPT
  }
  return report;
}

/** Regular files under `dir`, depth first; trash (being removed) is skipped, vanishing entries too. */
async function* walk(dir: string): AsyncGenerator<string> {
  let entries;
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch (e) {
    if (isMissing(e)) return;
    throw e;
  }
  for (const e of entries) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (!e.name.startsWith('trash-')) yield* walk(full);
    } else if (e.isFile()) {
      yield full;
    }
  }
}

/**
 * Replaces the plaintext object `file` by its encryption: written under <root>/.tmp, fsynced,
 * then renamed over the object (atomic: readers see the old file or the new one) if the object
 * is still the same file (inode, size); the directory is fsynced. False when it changed or
 * vanished meanwhile (left as it is). Objects are immutable, so a later run picks up the rest.
 */
async function encryptObjectFile(file: string, root: string, ring: KeyRing): Promise<boolean> {
  const before = await fs.stat(file).catch(() => null);
  if (!before?.isFile()) return false;
  const tmpDir = path.join(root, '.tmp');
  await fs.mkdir(tmpDir, { recursive: true });
  // named as Staging names what it builds (new-<id>-<host>-<pid>): swept once this process is gone, never while it lives
  const tmp = path.join(tmpDir, `new-encrypt${randomBytes(8).toString('hex')}-${os.hostname().replace(/[^A-Za-z0-9]/g, '')}-${process.pid}`);
  const got = await writeSealed(createReadStream(file), tmp, ring, DEFAULT_SEGMENT_SIZE);
  const now = await fs.stat(file).catch(() => null);
  if (!now || now.ino !== before.ino || now.size !== before.size || got.size !== before.size) {
    await fs.rm(tmp, { force: true });
    return false;
  }
  await fs.rename(tmp, file);
  await syncDir(path.dirname(file));
  return true;
}
