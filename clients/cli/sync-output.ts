import type { TesseraClient } from '../sdk/client';
import type { TransferProgress } from '../sdk/progress';
import { toRelative } from '../sync/paths';
import type { SyncStatus } from '../sync/status';
import { formatBytes, RateMeter } from './progress';

/** Files at least this big get progress lines while they transfer. */
export const PROGRESS_MIN_BYTES = 4 * 1024 * 1024;
/** A big file's progress line comes about this often (ms), and once more when it is done. */
export const PROGRESS_EVERY_MS = 1_000;

/**
 * Makes `client`'s uploads and downloads report their progress to `onProgress` (with the remote
 * path), on top of whatever the caller asked for. The sync engine transfers through the client
 * it was given, so this is how `tessera sync` sees its transfers without the engine knowing.
 */
export function reportTransfers(client: TesseraClient, onProgress: TransferListener): TesseraClient {
  const { upload, download } = Object.getPrototypeOf(client) as TesseraClient;
  const track = async <T>(dir: '↑' | '↓', remotePath: string, run: (cb: (p: TransferProgress) => void) => Promise<T>, moved: (r: T) => number): Promise<T> => {
    onProgress(dir, remotePath, 'started');
    try {
      const r = await run((p) => onProgress(dir, remotePath, p));
      onProgress(dir, remotePath, { moved: moved(r) });
      return r;
    } catch (e) {
      onProgress(dir, remotePath, 'failed');
      throw e;
    }
  };
  client.upload = (local, remote, opts = {}) =>
    track('↑', remote, (cb) => upload.call(client, local, remote, { ...opts, onProgress: both(opts.onProgress, cb) }), (r) => r.bytesSent);
  client.download = (remote, local, opts = {}) =>
    track('↓', remote, (cb) => download.call(client, remote, local, { ...opts, onProgress: both(opts.onProgress, cb) }), (r) => r.bytesReceived);
  return client;
}

/** Hears that a transfer started, its progress, then `{ moved }` (bytes sent or received) when it succeeded, or 'failed'. */
export type TransferListener = (dir: '↑' | '↓', remotePath: string, p: 'started' | TransferProgress | { moved: number } | 'failed') => void;

function both(a: ((p: TransferProgress) => void) | undefined, b: (p: TransferProgress) => void): (p: TransferProgress) => void {
  return a ? (p) => { a(p); b(p); } : b;
}

interface Transfer { meter: RateMeter; started: number; lastLine: number; last: TransferProgress | null }

/**
 * What `tessera sync` prints besides its one line per action (all on stderr):
 * - progress of files of PROGRESS_MIN_BYTES or more, about every second and once at the end:
 *   `↑ /big.bin: 24.0 MiB of 64.0 MiB (37%), 31.2 MiB/s` (`hashing` before an upload's bytes move),
 *   `↑ /big.bin: 64.0 MiB of 64.0 MiB (100%), 30.0 MiB/s, done in 2.1 s` (the rate of the bytes
 *   that moved: parts the server or the old local copy already had do not count);
 * - `up to date` each time the folder and the server have become identical;
 * - `offline: cannot reach <server>: <why>; retrying` when the server becomes unreachable, and
 *   `reconnected to <server> after <n> s offline` when it answers again.
 */
export class SyncReporter {
  private readonly transfers = new Map<string, Transfer>();

  /** `watching`: false for `--once`, whose exit code and error line say how the cycle went (no status lines). */
  constructor(private readonly remoteRoot: string, private readonly line: (s: string) => void, private readonly watching = true, private readonly now = () => Date.now()) {}

  /** A transfer's progress (see reportTransfers). */
  readonly progress: TransferListener = (dir, remotePath, p) => {
    const key = `${dir}${remotePath}`;
    const t = this.transfers.get(key);
    if (p === 'started') {
      // the clock starts with the call: a transfer that waited a second for the server shows its first progress at once
      const now = this.now();
      this.transfers.set(key, { meter: new RateMeter(), started: now, lastLine: now, last: null });
      return;
    }
    if (p === 'failed' || 'moved' in p) {
      this.transfers.delete(key);
      if (p !== 'failed' && t?.last && t.last.bytesTotal >= PROGRESS_MIN_BYTES) {
        const secs = Math.max(0.001, (this.now() - t.started) / 1000);
        const total = t.last.bytesTotal;
        this.line(`${this.label(dir, remotePath)}: ${formatBytes(total)} of ${formatBytes(total)} (100%), ${formatBytes(p.moved / secs)}/s, done in ${secs.toFixed(1)} s`);
      }
      return;
    }
    const now = this.now();
    const cur = t ?? { meter: new RateMeter(), started: now, lastLine: now, last: null };
    if (!t) this.transfers.set(key, cur);
    if (p.phase !== 'hash' && cur.last?.phase === 'hash') {
      // the bytes start moving: the rate counts from here
      cur.meter.reset();
      cur.started = now;
    }
    cur.last = p;
    const rate = cur.meter.sample(p.bytesDone, now);
    if (p.bytesTotal < PROGRESS_MIN_BYTES || now - cur.lastLine < PROGRESS_EVERY_MS || p.bytesDone >= p.bytesTotal) return;
    cur.lastLine = now;
    const pct = Math.floor((p.bytesDone / p.bytesTotal) * 100);
    const what = `${formatBytes(p.bytesDone)} of ${formatBytes(p.bytesTotal)} (${pct}%)`;
    this.line(`${this.label(dir, remotePath)}: ${p.phase === 'hash' ? `hashing ${what}` : `${what}, ${formatBytes(rate)}/s`}`);
  };

  /** The engine's state changed (SyncEngineOptions.onStatus). */
  readonly status = (now: SyncStatus, before: SyncStatus): void => {
    if (!this.watching) return;
    if (now.state === 'offline' && before.state !== 'offline') this.line(`offline: ${now.reason ?? `cannot reach ${now.server}`}; retrying`);
    if (before.state === 'offline' && now.state !== 'offline' && now.state !== 'halted') {
      const secs = (Date.parse(now.since) - Date.parse(before.since)) / 1000;
      this.line(`reconnected to ${now.server} after ${secs.toFixed(1)} s offline`);
    }
    if (now.state === 'up-to-date' && before.state !== 'up-to-date') this.line('up to date');
  };

  private label(dir: '↑' | '↓', remotePath: string): string {
    return `${dir} ${toRelative(this.remoteRoot, remotePath) ?? remotePath}`;
  }
}
