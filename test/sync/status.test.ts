import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeStatus } from '../../clients/cli/status';
import { SyncReporter } from '../../clients/cli/sync-output';
import { TesseraError } from '../../clients/sdk/errors';
import { readSyncStatus, StatusBoard, type SyncStatus } from '../../clients/sync/status';

/** The status board's transitions, its file (what `tessera status` reads) and the lines `tessera sync` prints for them. */
describe('sync status board', () => {
  let folder: string;
  beforeEach(() => {
    folder = mkdtempSync(join(tmpdir(), 'tessera-status-'));
    mkdirSync(join(folder, '.tessera'));
  });
  afterEach(() => rmSync(folder, { recursive: true, force: true }));

  function board() {
    const lines: string[] = [];
    const changes: [SyncStatus, SyncStatus][] = [];
    const reporter = new SyncReporter('/', (l) => lines.push(l));
    const b = new StatusBoard(folder, 'http://srv', '/', (now, before) => { changes.push([now, before]); reporter.status(now, before); });
    return { b, lines, changes };
  }

  it('counts a pass down, says up to date once, and keeps the file in step (no temp file left)', () => {
    const { b, lines } = board();
    expect(readSyncStatus(folder)).toMatchObject({ state: 'syncing', files: 0, pid: process.pid, server: 'http://srv' });
    b.syncing(3);
    expect(readSyncStatus(folder)).toMatchObject({ state: 'syncing', files: 3 });
    b.actionDone();
    b.actionDone();
    b.flush();
    expect(readSyncStatus(folder)).toMatchObject({ state: 'syncing', files: 1 });
    expect(describeStatus(readSyncStatus(folder), true)).toBe('syncing 1 file');
    b.actionDone();
    b.cycleDone([], false);
    b.cycleDone([], false);
    expect(lines).toEqual(['up to date']);
    expect(describeStatus(readSyncStatus(folder), true)).toBe('up to date');
    expect(readdirSync(join(folder, '.tessera'))).toEqual(['status.json']);
  });

  it('failed actions: syncing with the first failure; unreachable ones: offline, then reconnected', () => {
    const { b, lines } = board();
    b.syncing(2);
    const failed = { action: { path: '/a.txt' }, error: new TesseraError('CONFLICT', 'changed elsewhere') };
    b.cycleDone([failed, { action: { path: '/b.txt' }, error: new TesseraError('CONFLICT', 'again') }], false);
    expect(describeStatus(readSyncStatus(folder), true)).toBe('syncing: 2 files failed, CONFLICT: /a.txt: changed elsewhere (retried on the next cycle)');

    b.cycleFailed(new TesseraError('UNAUTHENTICATED', 'signed out'));
    expect(describeStatus(readSyncStatus(folder), true)).toBe('syncing: the last cycle failed, UNAUTHENTICATED: signed out');
    b.cycleDone([{ action: { path: '/a.txt' }, error: new TesseraError('NETWORK', 'cannot reach http://srv: connect ECONNREFUSED') }], false);
    expect(readSyncStatus(folder)).toMatchObject({ state: 'offline', reason: 'cannot reach http://srv: connect ECONNREFUSED' });
    expect(describeStatus(readSyncStatus(folder), true)).toMatch(/^offline since \d\d:\d\d:\d\d: cannot reach http:\/\/srv: connect ECONNREFUSED; retrying$/);
    b.feedLost(3, { code: 1006, reason: '' }); // still offline: no second line
    b.feedConnected();
    b.cycleDone([], false);
    expect(lines).toEqual([
      'offline: cannot reach http://srv: connect ECONNREFUSED; retrying',
      expect.stringMatching(/^reconnected to http:\/\/srv after \d+\.\d s offline$/),
      'up to date',
    ]);
  });

  it('a lost feed is offline only once connecting again failed; halted sticks and reads as such when no longer running', () => {
    const { b, lines } = board();
    b.feedLost(1, new Error('closed'));
    expect(readSyncStatus(folder)?.state).toBe('syncing');
    b.feedLost(2, { error: new Error('connect ECONNREFUSED 127.0.0.1:1') });
    expect(readSyncStatus(folder)).toMatchObject({ state: 'offline', reason: 'cannot reach http://srv: connect ECONNREFUSED 127.0.0.1:1' });
    b.halted({ code: 'REMOTE_ROOT_GONE', message: 'the remote folder /w was moved to /x' });
    b.cycleDone([], false);
    b.feedConnected();
    expect(readSyncStatus(folder)?.state).toBe('halted');
    expect(describeStatus(readSyncStatus(folder), false)).toBe('halted: REMOTE_ROOT_GONE: the remote folder /w was moved to /x (not running)');
    expect(lines).toEqual(['offline: cannot reach http://srv: connect ECONNREFUSED 127.0.0.1:1; retrying']); // halting is not reconnecting
  });

  it('progress: a big file gets a line about every second (its first one at once after a wait for the server) and one when done; a small one none', () => {
    const lines: string[] = [];
    let t = 0;
    const r = new SyncReporter('/w', (l) => lines.push(l), true, () => t);
    const MiB = 1024 * 1024;
    r.progress('↑', '/w/big.bin', 'started');
    t = 1_500; // the server made it wait
    r.progress('↑', '/w/big.bin', { phase: 'hash', bytesDone: 2 * MiB, bytesTotal: 8 * MiB });
    t = 1_600;
    r.progress('↑', '/w/big.bin', { phase: 'hash', bytesDone: 8 * MiB, bytesTotal: 8 * MiB });
    r.progress('↑', '/w/big.bin', { phase: 'upload', bytesDone: 0, bytesTotal: 8 * MiB });
    t = 2_000;
    r.progress('↑', '/w/big.bin', { phase: 'upload', bytesDone: 2 * MiB, bytesTotal: 8 * MiB }); // < 1 s since the last line
    t = 2_600;
    r.progress('↑', '/w/big.bin', { phase: 'upload', bytesDone: 4 * MiB, bytesTotal: 8 * MiB });
    t = 3_600;
    r.progress('↑', '/w/big.bin', { phase: 'upload', bytesDone: 8 * MiB, bytesTotal: 8 * MiB });
    r.progress('↑', '/w/big.bin', { moved: 8 * MiB });
    r.progress('↓', '/w/small.txt', 'started');
    t = 9_000;
    r.progress('↓', '/w/small.txt', { phase: 'download', bytesDone: 10, bytesTotal: 100 });
    r.progress('↓', '/w/small.txt', { moved: 100 });
    expect(lines).toEqual([
      '↑ /big.bin: hashing 2.0 MiB of 8.0 MiB (25%)',
      '↑ /big.bin: 4.0 MiB of 8.0 MiB (50%), 4.0 MiB/s',
      '↑ /big.bin: 8.0 MiB of 8.0 MiB (100%), 4.0 MiB/s, done in 2.0 s',
    ]);
  });

  it('a deleted or replaced folder (LOCAL_ROOT_GONE) gets no status written into it', () => {
    const { b, lines } = board();
    b.cycleDone([], false);
    const before = readFileSync(join(folder, '.tessera', 'status.json'), 'utf8');
    b.halted({ code: 'LOCAL_ROOT_GONE', message: 'gone' });
    b.flush();
    expect(readFileSync(join(folder, '.tessera', 'status.json'), 'utf8')).toBe(before);
    expect(lines).toEqual(['up to date']);
  });
});
