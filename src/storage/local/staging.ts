import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { StorageError } from '../errors';
import type { MultipartUploadInfo, UploadedPart } from '../types';
import { crashPoint } from './crash';
import { isMissing } from './errors';

/** What `upload.json` holds for one multipart upload. */
export interface UploadMeta {
  key: string;
  uploadId: string;
  contentType?: string;
  /** ISO time. */
  initiated: string;
  /** The caller's part size, if it gave one: parts of at most this size are written in place (see Staging). */
  partSize?: number;
  /** Set when the upload's files (data file, parts of their own) are encrypted (./envelope): their segment size. */
  segmentSize?: number;
}

/** A staged part and where its bytes are: `size` bytes of `file` from `offset`. */
export interface StagedPart extends UploadedPart {
  file: string;
  offset: number;
}

const UPLOAD_ID = /^[0-9a-f]{32}$/;
const PART_LINK = /^\d+$/;
const PART_DATA = /^p(\d+)\.(\d+)\.([0-9a-f]{64})$/;
const PART_SLOT = /^s(\d+)\.(\d+)\.([0-9a-f]{64})@(\d+)$/;
/** The file parts are written into in place, each at (partNumber - 1) * partSize. */
export const DATA_FILE = 'data';
const SLOT_MARKER_SUFFIX = '.lock';
const SLOT_MARKER = /^slot-\d+\.lock$/;

/**
 * Parts staged on disk, one directory per upload:
 *
 *   <root>/.uploads/<uploadId>/upload.json          who and when (survives restarts)
 *   <root>/.uploads/<uploadId>/data                 parts written in place (uploads with a partSize)
 *   <root>/.uploads/<uploadId>/p<n>.<size>.<sha256>  a part's bytes in a file of its own
 *   <root>/.uploads/<uploadId>/<n>                   symlink naming the current bytes of part n
 *
 * An upload's directory is built under tmp and renamed into place whole (create); it is
 * claimed by renaming it to tmp/claimed-*, and removed by renaming it to tmp/trash-* first
 * (trash), so a crash never leaves a partly removed directory where an upload is looked for.
 *
 * When the upload was created with a partSize, part n of at most that size is written
 * straight into `data` at offset (n - 1) * partSize, and `<n>` is a symlink to the name
 * `s<n>.<size>.<sha256>@<offset>` (which never exists as a file: the name is the record). The
 * data file is created with the upload and never again: a part whose data file is gone goes
 * to a file of its own, so a link can only describe bytes of the file they were written to. When
 * the parts tile the object, completing is a truncate and a rename: no copy, 1x disk. The slot
 * is used only by the first writer of part n (`claimSlot`, an O_EXCL marker, so also across
 * processes); a re-upload of a part goes to a file of its own, so the part it replaces stays
 * intact until the new one is verified. Installing a part renames a fresh symlink over `<n>`,
 * so a re-uploaded part is "last write wins" and the size and etag of every part are read
 * from the link alone. Failures throw raw fs errors; callers
 * translate them (./errors) — except an unknown or malformed upload id, which is
 * StorageError NO_SUCH_UPLOAD.
 */
export class Staging {
  readonly dir: string;

  /**
   * `settle(uploadId)` is asked when an upload's directory is missing: it deals with an
   * abandoned claim (./adapter rolls a committed one forward) and answers true when the
   * upload is back in place.
   */
  constructor(
    root: string,
    private readonly tmpDir: string,
    private readonly settle: (uploadId: string) => Promise<boolean>,
  ) {
    this.dir = path.join(root, '.uploads');
  }

  newUploadId(): string {
    return randomBytes(16).toString('hex');
  }

  uploadDir(uploadId: string): string {
    if (!UPLOAD_ID.test(uploadId)) throw noSuchUpload(uploadId);
    return path.join(this.dir, uploadId);
  }

  /**
   * Creates the upload atomically: its directory is built under tmp (upload.json fsynced,
   * with a partSize the empty data file parts are written into, made by `makeData` when
   * given: an encrypted one's header) and renamed into place, so an upload either exists
   * whole or not at all. Only here is the data file created.
   */
  async create(meta: UploadMeta, makeData?: (file: string) => Promise<unknown>): Promise<void> {
    const dir = this.uploadDir(meta.uploadId);
    const staged = path.join(this.tmpDir, `new-${meta.uploadId}-${ownerTag()}`);
    await fs.mkdir(staged, { recursive: true });
    await writeDurably(path.join(staged, 'upload.json'), JSON.stringify(meta));
    if (meta.partSize) {
      if (makeData) await makeData(path.join(staged, DATA_FILE));
      else await (await fs.open(path.join(staged, DATA_FILE), 'wx')).close();
    }
    await syncDir(staged);
    crashPoint('create.staged');
    await fs.mkdir(this.dir, { recursive: true });
    await fs.rename(staged, dir);
    await syncDir(this.dir);
    crashPoint('create.published');
  }

  /** NO_SUCH_UPLOAD if unknown, or when `key` is given and differs. */
  async meta(uploadId: string, key?: string, dir = this.uploadDir(uploadId)): Promise<UploadMeta> {
    let meta: UploadMeta;
    try {
      meta = JSON.parse(await fs.readFile(path.join(dir, 'upload.json'), 'utf8'));
    } catch (e) {
      if (isMissing(e) && dir === this.uploadDir(uploadId) && (await this.settle(uploadId))) return this.meta(uploadId, key);
      if (isMissing(e) || e instanceof SyntaxError) throw noSuchUpload(uploadId);
      throw e;
    }
    if (key !== undefined && meta.key !== key) throw noSuchUpload(uploadId);
    return meta;
  }

  /**
   * The claimed directory of `uploadId` whose claimer is gone (a dead process on this host,
   * or no progress for a while), or null.
   */
  async abandonedClaim(uploadId: string): Promise<string | null> {
    const names = await fs.readdir(this.tmpDir).catch(() => [] as string[]);
    const claimed = names.find((n) => n.startsWith(`claimed-${uploadId}-`));
    if (!claimed) return null;
    const claimedDir = path.join(this.tmpDir, claimed);
    const [, , host, pid] = claimed.slice('claimed-'.length).split('-');
    if (host === hostTag() && !processAlive(Number(pid))) return claimedDir;
    const assembling = path.join(claimedDir, 'object');
    const mtimes = await Promise.all([claimedDir, assembling].map((f) => fs.stat(f).then((st) => st.mtimeMs, () => 0)));
    return Date.now() - Math.max(...mtimes) > ABANDONED_CLAIM_MS ? claimedDir : null;
  }

  /** Puts an abandoned, uncommitted claim back in the namespace; false if someone else moved it. */
  async restore(uploadId: string, claimedDir: string): Promise<boolean> {
    try {
      await fs.rename(claimedDir, this.uploadDir(uploadId));
    } catch {
      return false;
    }
    // a completer of an older version assembled beside its claim
    await fs.rm(path.join(this.tmpDir, `assemble-${path.basename(claimedDir)}`), { force: true });
    return true;
  }

  /**
   * Takes `dir` out of every namespace in one rename (to trash-*, which nothing reads or
   * recovers), then removes it. A crash midway leaves only trash, swept later (sweep).
   */
  async trash(dir: string, op: 'complete' | 'abort'): Promise<void> {
    const trash = path.join(this.tmpDir, `trash-${randomBytes(8).toString('hex')}`);
    await fs.rename(dir, trash);
    held.delete(dir);
    crashPoint(`${op}.trashed` as const);
    let first = true;
    for (const name of await fs.readdir(trash).catch(() => [] as string[])) {
      await fs.rm(path.join(trash, name), { recursive: true, force: true });
      if (first) crashPoint(`${op}.removing` as const);
      first = false;
    }
    await fs.rm(trash, { recursive: true, force: true });
  }

  /** Removes trash and uploads whose creator died before publishing them. */
  async sweep(): Promise<void> {
    for (const name of await fs.readdir(this.tmpDir).catch(() => [] as string[])) {
      const [kind, , host, pid] = name.split('-');
      const stale = kind === 'trash' || (kind === 'new' && host === hostTag() && !processAlive(Number(pid)));
      if (stale) await fs.rm(path.join(this.tmpDir, name), { recursive: true, force: true }).catch(() => undefined);
    }
  }

  /** A temp file name inside the upload's directory (removed with it on abort). */
  tempFile(uploadId: string): string {
    return path.join(this.uploadDir(uploadId), `tmp-${randomBytes(8).toString('hex')}`);
  }

  /** Moves finished bytes at `tmp` into place as part `n` (last write wins). */
  async install(uploadId: string, part: UploadedPart, tmp: string): Promise<void> {
    const dir = this.uploadDir(uploadId);
    const data = `p${part.partNumber}.${part.size}.${part.etag}`;
    await fs.rename(tmp, path.join(dir, data));
    crashPoint('part.own-renamed');
    await this.link(dir, part.partNumber, data);
  }

  /** Atomically points `<n>` at `target`. */
  private async link(dir: string, n: number, target: string): Promise<void> {
    const link = path.join(dir, `tmp-${randomBytes(8).toString('hex')}`);
    await fs.symlink(target, link);
    await fs.rename(link, path.join(dir, String(n)));
  }

  /**
   * Claims the in-place slot of part `n` for one writer, or returns null when the part must
   * go to a file of its own: no partSize, a larger part, a slot beyond `maxEnd`, part n
   * already stored, or another writer on the slot. `release` must be called when done.
   */
  async claimSlot(uploadId: string, meta: UploadMeta, n: number, size: number, maxEnd: number): Promise<{ file: string; offset: number; release(): Promise<void> } | null> {
    if (!meta.partSize || size > meta.partSize || n * meta.partSize > maxEnd) return null;
    const dir = this.uploadDir(uploadId);
    const marker = path.join(dir, `slot-${n}${SLOT_MARKER_SUFFIX}`);
    const data = path.join(dir, DATA_FILE);
    for (let attempt = 0; ; attempt++) {
      try {
        await fs.writeFile(marker, ownerTag(), { flag: 'wx' });
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        // a writer that died left its marker: nothing can write through it any more
        if (attempt > 0 || !(await staleMarker(marker))) return null;
        await fs.rm(marker, { force: true });
      }
    }
    held.add(marker);
    const release = async () => {
      await fs.rm(marker, { force: true });
      held.delete(marker);
    };
    // part n already stored, or no data file (it is created with the upload, never here)
    const stored = await fs.readlink(path.join(dir, String(n))).then(() => true, (e) => (isMissing(e) ? false : Promise.reject(e)));
    const hasData = await fs.stat(data).then(() => true, (e) => (isMissing(e) ? false : Promise.reject(e)));
    if (stored || !hasData) {
      await release();
      return null;
    }
    crashPoint('part.slot-claimed');
    return { file: data, offset: (n - 1) * meta.partSize, release };
  }

  /** True while some live writer holds a slot marker in `dir` (markers of dead writers do not count). */
  async hasSlotWriters(dir: string): Promise<boolean> {
    for (const n of (await fs.readdir(dir)).filter((name) => SLOT_MARKER.test(name))) {
      if (!(await staleMarker(path.join(dir, n)))) return true;
    }
    return false;
  }

  /** Records part `n` as written in place at `offset` of the data file. */
  async installInPlace(uploadId: string, part: UploadedPart, offset: number): Promise<void> {
    await this.link(this.uploadDir(uploadId), part.partNumber, `s${part.partNumber}.${part.size}.${part.etag}@${offset}`);
  }

  /**
   * The current parts, ascending by number, each with where its bytes are: all of them, or
   * the first `window.limit` numbered above `window.after` (only their links are read).
   */
  async parts(uploadId: string, dir = this.uploadDir(uploadId), window?: { after: number; limit: number }): Promise<StagedPart[]> {
    let names = (await fs.readdir(dir)).filter((n) => PART_LINK.test(n));
    if (window) {
      names = names.filter((n) => Number(n) > window.after).sort((a, b) => Number(a) - Number(b)).slice(0, window.limit);
    }
    const parts = await Promise.all(
      names.map(async (name): Promise<StagedPart | undefined> => {
        const target = await fs.readlink(path.join(dir, name));
        const own = PART_DATA.exec(target);
        if (own) return { partNumber: Number(own[1]), size: Number(own[2]), etag: own[3], file: path.join(dir, own[0]), offset: 0 };
        const slot = PART_SLOT.exec(target);
        if (slot) return { partNumber: Number(slot[1]), size: Number(slot[2]), etag: slot[3], file: path.join(dir, DATA_FILE), offset: Number(slot[4]) };
        return undefined;
      }),
    );
    return parts.filter((p) => p !== undefined).sort((a, b) => a.partNumber - b.partNumber);
  }

  /**
   * Takes the upload out of the namespace atomically (so a concurrent complete or abort sees
   * NO_SUCH_UPLOAD); returns the directory it now lives in, and a function to put it back.
   */
  async claim(uploadId: string): Promise<{ dir: string; release(): Promise<void> }> {
    const from = this.uploadDir(uploadId);
    const dir = path.join(this.tmpDir, `claimed-${uploadId}-${randomBytes(4).toString('hex')}-${ownerTag()}`);
    await fs.mkdir(this.tmpDir, { recursive: true });
    try {
      await fs.rename(from, dir);
    } catch (e) {
      if (isMissing(e)) throw noSuchUpload(uploadId);
      throw e;
    }
    held.add(dir);
    return { dir, release: () => fs.rename(dir, from).finally(() => held.delete(dir)) };
  }

  /** Every upload's metadata; uploads vanishing mid-scan are skipped. */
  async *list(): AsyncGenerator<MultipartUploadInfo> {
    let ids: string[];
    try {
      ids = await fs.readdir(this.dir);
    } catch (e) {
      if (isMissing(e)) return;
      throw e;
    }
    for (const id of ids.filter((n) => UPLOAD_ID.test(n)).sort()) {
      try {
        const meta = await this.meta(id);
        yield { key: meta.key, uploadId: meta.uploadId, initiated: new Date(meta.initiated) };
      } catch (e) {
        if (!(e instanceof StorageError && e.code === 'NO_SUCH_UPLOAD')) throw e;
      }
    }
  }
}

const ABANDONED_CLAIM_MS = 120_000;

function hostTag(): string {
  return os.hostname().replace(/[^A-Za-z0-9]/g, '');
}

/** `<host>-<pid>`: who created a claim, marker or staged upload. */
function ownerTag(): string {
  return `${hostTag()}-${process.pid}`;
}

/** Claims and slot markers this process holds (a pid alone can be reused by a restarted process). */
const held = new Set<string>();

/** Whether the process that made `name` on this host may still be using it (a marker: held by this process, if its pid is ours). */
function ownerAlive(pid: number, name: string): boolean {
  return pid === process.pid ? held.has(name) : processAlive(pid);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A slot marker whose writer (named inside it) is a dead process on this host. */
async function staleMarker(marker: string): Promise<boolean> {
  const owner = await fs.readFile(marker, 'utf8').catch(() => '');
  const [host, pid] = owner.split('-');
  return host === hostTag() && Number(pid) > 0 && !ownerAlive(Number(pid), marker);
}

/** Writes `file` and fsyncs it. */
export async function writeDurably(file: string, text: string): Promise<void> {
  const fh = await fs.open(file, 'wx');
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** fsync of a directory: makes the names created or renamed in it durable. */
export async function syncDir(dir: string): Promise<void> {
  const fh = await fs.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export function noSuchUpload(uploadId: string): StorageError {
  return new StorageError('NO_SUCH_UPLOAD', `no such upload: ${uploadId}`);
}
