import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { StorageError } from '../errors';
import type { MultipartUploadInfo, UploadedPart } from '../types';
import { isMissing } from './errors';

/** What `upload.json` holds for one multipart upload. */
export interface UploadMeta {
  key: string;
  uploadId: string;
  contentType?: string;
  /** ISO time. */
  initiated: string;
}

const UPLOAD_ID = /^[0-9a-f]{32}$/;
const PART_LINK = /^\d+$/;
const PART_DATA = /^p(\d+)\.(\d+)\.([0-9a-f]{64})$/;

/**
 * Parts staged on disk, one directory per upload:
 *
 *   <root>/.uploads/<uploadId>/upload.json          who and when (survives restarts)
 *   <root>/.uploads/<uploadId>/p<n>.<size>.<sha256>  a part's bytes
 *   <root>/.uploads/<uploadId>/<n>                   symlink to the current bytes of part n
 *
 * Installing a part writes its bytes under a content-derived name, then atomically renames
 * a fresh symlink over `<n>`, so a re-uploaded part is "last write wins" and the size and
 * etag of every part are read from the link alone. Failures throw raw fs errors; callers
 * translate them (./errors) — except an unknown or malformed upload id, which is
 * StorageError NO_SUCH_UPLOAD.
 */
export class Staging {
  readonly dir: string;

  constructor(
    root: string,
    private readonly tmpDir: string,
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

  async create(meta: UploadMeta): Promise<void> {
    const dir = this.uploadDir(meta.uploadId);
    await fs.mkdir(dir, { recursive: true });
    const tmp = path.join(dir, `tmp-${randomBytes(8).toString('hex')}`);
    await fs.writeFile(tmp, JSON.stringify(meta));
    await fs.rename(tmp, path.join(dir, 'upload.json'));
  }

  /** NO_SUCH_UPLOAD if unknown, or when `key` is given and differs. */
  async meta(uploadId: string, key?: string, dir = this.uploadDir(uploadId)): Promise<UploadMeta> {
    let meta: UploadMeta;
    try {
      meta = JSON.parse(await fs.readFile(path.join(dir, 'upload.json'), 'utf8'));
    } catch (e) {
      if (isMissing(e) && dir === this.uploadDir(uploadId) && (await this.recoverAbandonedClaim(uploadId))) return this.meta(uploadId, key);
      if (isMissing(e) || e instanceof SyntaxError) throw noSuchUpload(uploadId);
      throw e;
    }
    if (key !== undefined && meta.key !== key) throw noSuchUpload(uploadId);
    return meta;
  }

  /**
   * A process that crashed while completing leaves its claimed upload under tmp. Put it back
   * when its claimer is gone: a dead process on this host, or no progress for a while.
   */
  private async recoverAbandonedClaim(uploadId: string): Promise<boolean> {
    const names = await fs.readdir(this.tmpDir).catch(() => [] as string[]);
    const claimed = names.find((n) => n.startsWith(`claimed-${uploadId}-`));
    if (!claimed) return false;
    const claimedDir = path.join(this.tmpDir, claimed);
    const assembling = path.join(this.tmpDir, `assemble-${claimed}`);
    const [, , host, pid] = claimed.slice('claimed-'.length).split('-');
    const mtimes = await Promise.all([claimedDir, assembling].map((f) => fs.stat(f).then((st) => st.mtimeMs, () => 0)));
    const abandoned = (host === hostTag() && !processAlive(Number(pid))) || Date.now() - Math.max(...mtimes) > ABANDONED_CLAIM_MS;
    if (!abandoned) return false;
    try {
      await fs.rename(claimedDir, this.uploadDir(uploadId));
    } catch {
      return false;
    }
    await fs.rm(assembling, { force: true });
    return true;
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
    const link = path.join(dir, `tmp-${randomBytes(8).toString('hex')}`);
    await fs.symlink(data, link);
    await fs.rename(link, path.join(dir, String(part.partNumber)));
  }

  /** Every current part, ascending by number, each with the path of its bytes. */
  async parts(uploadId: string, dir = this.uploadDir(uploadId)): Promise<(UploadedPart & { file: string })[]> {
    const names = (await fs.readdir(dir)).filter((n) => PART_LINK.test(n));
    const parts = await Promise.all(
      names.map(async (name) => {
        const m = PART_DATA.exec(await fs.readlink(path.join(dir, name)));
        if (!m) return undefined;
        return { partNumber: Number(m[1]), size: Number(m[2]), etag: m[3], file: path.join(dir, m[0]) };
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
    const dir = path.join(this.tmpDir, `claimed-${uploadId}-${randomBytes(4).toString('hex')}-${hostTag()}-${process.pid}`);
    await fs.mkdir(this.tmpDir, { recursive: true });
    try {
      await fs.rename(from, dir);
    } catch (e) {
      if (isMissing(e)) throw noSuchUpload(uploadId);
      throw e;
    }
    return { dir, release: () => fs.rename(dir, from) };
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

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function noSuchUpload(uploadId: string): StorageError {
  return new StorageError('NO_SUCH_UPLOAD', `no such upload: ${uploadId}`);
}
