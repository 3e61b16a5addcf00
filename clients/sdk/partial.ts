/** The on-disk state of an unfinished download: `<dest>.tessera-partial` and its sidecar json of verified parts. */
import { closeSync, fsyncSync, openSync, writevSync } from 'node:fs';
import { constants, open, readFile, rename, unlink, writeFile, type FileHandle } from 'node:fs/promises';

/** Suffix of the file a download writes before its atomic rename. */
export const PARTIAL_SUFFIX = '.tessera-partial';

/** One part of a remote file, as its chunk list describes it. */
export interface Part { index: number; offset: number; size: number; sha256: string }

/** SHA-256 (hex) of a part as it is on disk now; null if the file is too short. */
export type DigestOf = (part: Part) => Promise<string | null>;

/** What the sidecar json holds. */
export interface Sidecar { contentHash: string; size: number; verified: number[] }

/**
 * Opens (or creates) the partial file for reading and writing. `durable` opens it O_DSYNC:
 * every write returns once its bytes are on disk, so the disk works while the network does
 * and the fsync before the rename has almost nothing left to flush (measured faster than
 * periodic fdatasyncs, docs/benchmarks.md).
 */
export async function openPartial(path: string, durable: boolean): Promise<FileHandle>;
/** `exclusive`: creates it, or resolves with null if it exists. */
export async function openPartial(path: string, durable: boolean, exclusive: true): Promise<FileHandle | null>;
export async function openPartial(path: string, durable: boolean, exclusive = false): Promise<FileHandle | null> {
  const flags = constants.O_RDWR | constants.O_CREAT | (durable ? constants.O_DSYNC : 0) | (exclusive ? constants.O_EXCL : 0);
  return open(path, flags).catch((e: NodeJS.ErrnoException) => {
    if (exclusive && e.code === 'EEXIST') return null;
    throw e;
  });
}

/** What a download writes its partial file through: a FileHandle, or a SyncPartial. */
export interface PartialWriter {
  writev(buffers: Uint8Array[], position: number): Promise<unknown>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A new partial file of a small download written with synchronous calls on this thread (a few
 * microseconds each for a few KiB on a local disk) instead of a thread-pool round trip per call:
 * a folder of many small files spent more on those hand-offs than on the writes. Opened like
 * openPartial's exclusive form (O_EXCL; `durable`: O_DSYNC). `close` is idempotent.
 */
export class SyncPartial implements PartialWriter {
  private constructor(private fd: number | null) {}

  /** Creates `path`, or returns null if it exists; other errors throw. */
  static create(path: string, durable: boolean): SyncPartial | null {
    try {
      return new SyncPartial(openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (durable ? constants.O_DSYNC : 0)));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return null;
      throw e;
    }
  }

  async writev(buffers: Uint8Array[], position: number): Promise<number> {
    return writevSync(this.descriptor(), buffers, position);
  }

  async sync(): Promise<void> {
    fsyncSync(this.descriptor());
  }

  async close(): Promise<void> {
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    closeSync(fd);
  }

  private descriptor(): number {
    if (this.fd === null) throw new Error('partial file already closed');
    return this.fd;
  }
}

/** Re-hashes the parts an earlier run left (those the sidecar lists, or all without one): index -> digest. */
export async function verifyExisting(fh: FileHandle, parts: Part[], previous: Sidecar | null, digestOf: DigestOf): Promise<Map<number, string>> {
  const ok = new Map<number, string>();
  const { size: onDisk } = await fh.stat();
  const candidates = previous ? new Set(previous.verified) : null;
  await Promise.all(parts.map(async (p) => {
    if (p.size === 0 || p.offset + p.size > onDisk || (candidates && !candidates.has(p.index))) return;
    const digest = await digestOf(p);
    if (digest === p.sha256) ok.set(p.index, digest);
  }));
  return ok;
}

/**
 * The sidecar json of verified parts, rewritten atomically and one write at a time. Saves that
 * arrive while a write is in flight share the next write (which takes the latest state), so a
 * 6,400-part download does not write 6,400 ever-longer files.
 */
export class SidecarFile {
  private writing: Promise<void> | null = null;
  private queued: Promise<void> | null = null;
  private latest: Map<number, string> = new Map();
  /** False once `load` found no file and nothing was saved since: `remove` has nothing to do. */
  private mayExist = true;
  /**
   * `keep` false: nothing is written (a one-part file: a resumed download re-hashes what is on
   * disk anyway, so the file would cost two file-system calls per save for nothing); `load` and
   * `remove` still deal with one an earlier run left.
   */
  constructor(private readonly path: string, private readonly base: Sidecar, private readonly keep = true) {}

  /** The caller knows there is no sidecar file (none was listed): `remove` has nothing to do unless one is saved. */
  assumeAbsent(): void {
    this.mayExist = false;
  }

  async load(): Promise<Sidecar | null> {
    try {
      const text = await readFile(this.path, 'utf8').catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT') this.mayExist = false;
        throw e;
      });
      const s = JSON.parse(text) as Sidecar;
      return s.contentHash === this.base.contentHash && s.size === this.base.size && Array.isArray(s.verified) ? s : null;
    } catch {
      return null;
    }
  }

  /** Resolves once a write that includes `verified` as it is now is on disk. */
  save(verified: Map<number, string>): Promise<void> {
    if (!this.keep) return Promise.resolve();
    this.mayExist = true;
    this.latest = verified;
    if (this.queued) return this.queued;
    const before = this.writing ?? Promise.resolve();
    const write: Promise<void> = before.catch(() => undefined).then(async () => {
      this.queued = null;
      this.writing = write;
      try {
        const body = JSON.stringify({ ...this.base, verified: [...this.latest.keys()].sort((a, b) => a - b) });
        await writeFile(this.path + '.tmp', body);
        await rename(this.path + '.tmp', this.path);
      } finally {
        if (this.writing === write) this.writing = null;
      }
    });
    this.queued = write;
    return write;
  }

  async remove(): Promise<void> {
    if (!this.mayExist) return;
    await Promise.all([this.writing, this.queued].map((p) => p?.catch(() => undefined)));
    await unlink(this.path).catch(() => undefined);
    await unlink(this.path + '.tmp').catch(() => undefined);
  }
}
