import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../clients/cli/main';
import { TesseraClient } from '../../clients/sdk/client';
import { readSyncStatus } from '../../clients/sync/status';
import { cliIo } from '../helpers/cli';
import { freePort, killHard, requireBuild, ROOT, runCli, until } from '../transfers/processes';

const SERVER = join(ROOT, 'dist', 'src', 'server', 'main.js');
const CLI = join(ROOT, 'bin', 'tessera.js');
const MiB = 1024 * 1024;
/** The promise: the sync is back within 2 s of the server listening again (plus scheduling slack on a busy machine). */
const RECONNECT_MS = 2_000;
const SLACK_MS = 750;

/**
 * `tessera sync` as a person watches it, with a real server process and a real `tessera sync`
 * process: progress lines for big files, `up to date`, `offline` when the server goes away and
 * `reconnected` within 2 s of its return (catching up on what changed meanwhile), and
 * `tessera status` (another process) in each state, each state made for real.
 */
describe('tessera sync: progress, offline and back, tessera status (real processes)', () => {
  let work: string;
  let dataDir: string;
  let port: number;
  let server: ChildProcess | null = null;
  const syncs: Watched[] = [];

  beforeAll(async () => {
    requireBuild();
    work = mkdtempSync(join(tmpdir(), 'tessera-watch-'));
    dataDir = join(work, 'data');
    port = await freePort();
    server = (await startServer(port, dataDir)).child;
  });
  afterAll(async () => {
    for (const s of syncs) await killHard(s.child);
    if (server) await killHard(server);
    rmSync(work, { recursive: true, force: true });
  });

  const url = () => `http://127.0.0.1:${port}`;
  const env = (name: string) => ({ TESSERA_SERVER: url(), TESSERA_CONFIG_DIR: join(work, name), TESSERA_DEVICE_NAME: name });

  /** Signs a new account up through the CLI (in-process) and returns an SDK client on its token. */
  async function account(name: string): Promise<TesseraClient> {
    const io = cliIo(env(name), work);
    expect(await main(['signup', '--email', `${name}-${Date.now()}@example.com`, '--password', 'correct horse battery'], io)).toBe(0);
    const config = JSON.parse(readFileSync(join(work, name, 'config.json'), 'utf8'));
    return new TesseraClient({ server: url(), token: config.profiles[url()].token });
  }

  function startSync(name: string, folder: string, remote: string): Watched {
    const s = watch(spawn(process.execPath, [CLI, 'sync', folder, '--remote', remote], { env: { ...process.env, ...env(name) }, stdio: ['ignore', 'pipe', 'pipe'] }));
    syncs.push(s);
    return s;
  }

  async function status(name: string, folder: string): Promise<string> {
    const r = await runCli(['status', folder], env(name)).done;
    expect(r).toMatchObject({ code: 0, stderr: '' });
    return r.stdout;
  }

  it('prints progress and "up to date", says when the server is unreachable, and is back within 2 s of its return', async () => {
    const client = await account('desk');
    const folder = join(work, 'desk-folder');
    mkdirSync(folder);
    const sync = startSync('desk', folder, '/w');
    await sync.line(/^up to date$/m, 30_000);

    // a big remote file comes down with progress lines, then the folder is up to date again
    writeFileSync(join(work, 'remote.bin'), pattern(8 * MiB, 1));
    await client.upload(join(work, 'remote.bin'), '/w/remote.bin');
    const done = await sync.line(/^↓ \/remote\.bin: 8\.0 MiB of 8\.0 MiB \(100%\), [\d.]+ (B|KiB|MiB|GiB)\/s, done in [\d.]+ s$/m, 30_000);
    await sync.line(/^up to date$/m, 30_000, done.index);
    expect(sync.stdout()).toContain('↓ /remote.bin\n');

    // the server stops: the sync says it is offline (it had nothing to do, so only the feed can tell it)
    const offlineFrom = sync.lines.length;
    await stopServer('SIGTERM');
    const offline = await sync.line(new RegExp(`^offline: cannot reach ${escape(url())}: .+; retrying$`, 'm'), 10_000, offlineFrom);

    // meanwhile: a local edit, and a change another device makes through another server on the same data
    writeFileSync(join(folder, 'made-offline.txt'), 'written while the server was away');
    const other = await startServer(await freePort(), dataDir);
    const elsewhere = new TesseraClient({ server: other.url, token: client.token });
    writeFileSync(join(work, 'while-down.txt'), 'changed while the sync could not see it');
    await elsewhere.upload(join(work, 'while-down.txt'), '/w/while-down.txt');
    await killHard(other.child);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(sync.lines.slice(offline.index + 1).filter((l) => /reconnected/.test(l.text))).toEqual([]);

    // the server returns on the same port and data: reconnected within 2 s, then caught up
    const restarted = await startServer(port, dataDir);
    server = restarted.child;
    const back = await sync.line(/^reconnected to .+ after [\d.]+ s offline$/m, 15_000, offline.index);
    const reconnectMs = back.at - restarted.listeningAt;
    await until(() => existsSync(join(folder, 'while-down.txt')), 15_000, 'the change made while the server was down');
    await until(async () => (await client.fileByPath('/w/made-offline.txt')) !== null, 15_000, 'the offline edit on the server');
    const caughtUpMs = Date.now() - restarted.listeningAt;
    process.stdout.write(`cli-sync-watch: reconnected ${reconnectMs} ms after the server was listening again; caught up in ${caughtUpMs} ms\n`);
    expect(reconnectMs).toBeLessThanOrEqual(RECONNECT_MS + SLACK_MS);
    expect(caughtUpMs).toBeLessThanOrEqual(RECONNECT_MS + 2_000);
    expect(readFileSync(join(folder, 'while-down.txt'), 'utf8')).toBe('changed while the sync could not see it');
    await sync.line(/^up to date$/m, 15_000, back.index);
    // one offline line and one reconnected line for the outage, and no raw NETWORK errors
    expect(sync.lines.filter((l) => l.text.startsWith('offline:'))).toHaveLength(1);
    expect(sync.stderr()).not.toMatch(/NETWORK/);

    sync.child.kill('SIGTERM');
    expect((await sync.exited).code).toBe(0);
    expect(await status('desk', folder)).toMatch(/^not running \(last: up to date, at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\)\n/);
  }, 120_000);

  it('tessera status says up to date, syncing N files, offline and halted (with why), each made for real', async () => {
    const client = await account('laptop');
    const folder = join(work, 'laptop-folder');
    mkdirSync(folder);
    const sync = startSync('laptop', folder, '/s');
    await sync.line(/^up to date$/m, 30_000);
    expect(await status('laptop', folder)).toBe(`up to date\n${folder} <-> ${url()} /s (tessera sync, pid ${sync.child.pid})\n`);
    const json = await runCli(['status', folder, '--json'], env('laptop')).done;
    expect(JSON.parse(json.stdout)).toMatchObject({ folder, running: true, state: 'up-to-date', files: 0, pid: sync.child.pid, server: url(), remoteRoot: '/s' });

    // syncing: the server is frozen (SIGSTOP) once the engine has planned the upload of a big file
    const from = sync.lines.length;
    // written beside the folder and renamed in, so the engine never sees it half-written
    writeFileSync(join(work, 'big.bin'), pattern(48 * MiB, 2));
    renameSync(join(work, 'big.bin'), join(folder, 'big.bin'));
    await until(() => { const s = readSyncStatus(folder); return s?.state === 'syncing' && s.files === 1 && s.reason === null; }, 30_000, 'the engine to plan the upload');
    server!.kill('SIGSTOP');
    const frozenAt = Date.now();
    let syncing: string;
    try {
      syncing = await status('laptop', folder);
      await new Promise((r) => setTimeout(r, Math.max(0, 1_300 - (Date.now() - frozenAt))));
    } finally {
      server!.kill('SIGCONT');
    }
    expect(syncing).toMatch(/^syncing 1 file\n/);
    const last = await sync.line(/^↑ \/big\.bin: 48\.0 MiB of 48\.0 MiB \(100%\), [\d.]+ \w+\/s, done in [\d.]+ s$/m, 60_000, from);
    await sync.line(/^up to date$/m, 30_000, last.index);
    // the upload stalled for over a second, so at least one line came while it ran, each with bytes (and a rate once bytes move)
    const during = sync.lines.slice(from, last.index).filter((l) => l.text.startsWith('↑ /big.bin: '));
    expect(during.length).toBeGreaterThanOrEqual(1);
    for (const l of during) expect(l.text).toMatch(/^↑ \/big\.bin: (hashing [\d.]+ \w+ of 48\.0 MiB \(\d+%\)|[\d.]+ \w+ of 48\.0 MiB \(\d+%\), [\d.]+ \w+\/s)$/);
    expect((await client.fileByPath('/s/big.bin'))?.size).toBe(String(48 * MiB));

    // offline: the server dies
    await stopServer('SIGKILL');
    await until(() => readSyncStatus(folder)?.state === 'offline', 10_000, 'the engine to notice');
    expect(await status('laptop', folder)).toMatch(new RegExp(`^offline since \\d\\d:\\d\\d:\\d\\d: cannot reach ${escape(url())}: .+; retrying\n`));
    const down = sync.lines.length;
    server = (await startServer(port, dataDir)).child;
    await sync.line(/^reconnected to /m, 15_000, down);
    await until(() => readSyncStatus(folder)?.state === 'up-to-date', 15_000, 'up to date again');
    expect(await status('laptop', folder)).toMatch(/^up to date\n/);

    // halted: the remote folder is moved away; the sync stops rather than delete the local files
    await client.moveFile('/s', '/s-moved');
    const end = await sync.exited;
    expect(end.code).toBe(1);
    expect(sync.stderr()).toContain('error: REMOTE_ROOT_GONE: ');
    expect(existsSync(join(folder, 'big.bin'))).toBe(true);
    expect(await status('laptop', folder)).toMatch(/^halted: REMOTE_ROOT_GONE: the remote folder \/s was moved.* \(not running\)\n/);
  }, 180_000);

  it('tessera status on a folder that was never synced is NOT_FOUND', async () => {
    mkdirSync(join(work, 'plain'));
    const r = await runCli(['status', join(work, 'plain')], env('desk')).done;
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: NOT_FOUND: .*is not a synced folder/);
  }, 30_000);

  async function stopServer(signal: NodeJS.Signals): Promise<void> {
    const child = server!;
    server = null;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    await gone;
  }
});

interface Line { at: number; text: string; index: number }
interface Watched {
  child: ChildProcess;
  /** stderr lines with the time each arrived. */
  lines: Line[];
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null }>;
  /** The first stderr line from `from` on matching `re` (waits up to `ms`). */
  line(re: RegExp, ms: number, from?: number): Promise<Line>;
}

function watch(child: ChildProcess): Watched {
  const lines: Line[] = [];
  let out = '';
  let err = '';
  let partial = '';
  child.stdout!.on('data', (d) => { out += d; });
  child.stderr!.on('data', (d) => {
    err += d;
    const parts = (partial + d).split('\n');
    partial = parts.pop()!;
    const at = Date.now();
    for (const text of parts) lines.push({ at, text, index: lines.length });
  });
  const exited = new Promise<{ code: number | null }>((r) => child.on('exit', (code) => r({ code })));
  return {
    child, lines, exited,
    stdout: () => out,
    stderr: () => err,
    async line(re, ms, from = 0) {
      let found: Line | undefined;
      try {
        await until(() => (found = lines.slice(from).find((l) => re.test(l.text))) !== undefined, ms, String(re));
      } catch (e) {
        throw new Error(`${(e as Error).message}\n--- sync stderr ---\n${err}\n--- sync stdout ---\n${out}`);
      }
      return found!;
    },
  };
}

/** A server process on `port` and `dataDir` (SQLite, local store); `listeningAt`: the first moment /healthz answered (polled every 10 ms). */
async function startServer(port: number, dataDir: string): Promise<{ child: ChildProcess; url: string; listeningAt: number }> {
  const child = spawn(process.execPath, [SERVER], {
    env: {
      ...process.env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', DATA_DIR: dataDir,
      DATABASE_URL: `sqlite:${join(dataDir, 'tessera.sqlite')}`, STORAGE: 'local', LOCAL_STORAGE_DIR: join(dataDir, 'blobs'),
      REDIS_URL: '', JWT_SECRET: 'watch-test', SIGNING_SECRET: 'watch-test',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => { stderr += d; });
  const url = `http://127.0.0.1:${port}`;
  const end = Date.now() + 30_000;
  while (Date.now() < end) {
    if (child.exitCode !== null) throw new Error(`server exited ${child.exitCode}: ${stderr}`);
    if (await fetch(`${url}/healthz`).then((r) => r.ok, () => false)) return { child, url, listeningAt: Date.now() };
    await new Promise((r) => setTimeout(r, 10));
  }
  await killHard(child);
  throw new Error(`server did not start: ${stderr}`);
}

/** `size` bytes that no other file here has (`seed` tells them apart). */
function pattern(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size);
  let x = seed * 2654435761;
  for (let i = 0; i + 4 <= size; i += 4) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    b.writeUInt32LE(x, i);
  }
  return b;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
