/**
 * Shared helpers for the benchmarks in bench/ (child processes, timing, RSS sampling, tables).
 * The benchmarks drive the real CLI and server as separate processes, exactly as a user would.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export const REPO = path.resolve(__dirname, '..', '..');
export const MiB = 1024 ** 2;
export const GiB = 1024 ** 3;

/** `--name value` from argv, else BENCH_NAME from the environment, else `fallback`. */
export function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : process.env[`BENCH_${name.toUpperCase().replace(/-/g, '_')}`] ?? fallback;
}

export function log(msg: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Every child process the bench started and that is still running (killed on Ctrl-C / SIGTERM). */
export const children = new Set<ChildProcess>();
export function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}
export function killChildren(): void {
  for (const c of children) c.kill('SIGTERM');
}

export interface RunResult {
  code: number;
  seconds: number;
  stdout: string;
  stderr: string;
  /** Peak resident set (VmHWM), bytes, from /proc sampling; 0 if never sampled. */
  peakRss: number;
  /** CPU seconds (user + system) of the command's own process, last sampled before it exited (every 250 ms): a lower bound. */
  cpuSeconds: number;
}

/** Peak RSS (VmHWM, else VmRSS) of a live pid in bytes, or 0 if it is gone. */
export function rssOf(pid: number): { hwm: number; rss: number } {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? 0) * 1024;
    return { hwm: kb('VmHWM'), rss: kb('VmRSS') };
  } catch {
    return { hwm: 0, rss: 0 };
  }
}

/** CPU seconds (user + system) a live pid has used so far, from /proc/<pid>/stat; 0 if it is gone. */
export function cpuSecondsOf(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return 0;
  }
}

/** The pids of the store behind RGW (radosgw, ceph-osd, ceph-mon of scripts/start-rgw.sh); empty if none runs. */
export function storePids(): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (['radosgw', 'ceph-osd', 'ceph-mon'].includes(fs.readFileSync(`/proc/${d}/comm`, 'utf8').trim())) out.push(Number(d));
    } catch { /* gone */ }
  }
  return out;
}

/** CPU seconds the store's processes (storePids) have used so far. */
export function storeCpuSeconds(pids: number[]): number {
  return pids.reduce((n, pid) => n + cpuSecondsOf(pid), 0);
}

/** Keeps the highest VmHWM/VmRSS seen for a pid, sampled every `everyMs`. */
export class RssSampler {
  peak = 0;
  private timer: NodeJS.Timeout;
  constructor(readonly pid: number, everyMs = 250) {
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
    this.timer.unref();
  }
  /** CPU seconds of the pid at the last sample. */
  cpu = 0;
  sample(): void {
    const { hwm, rss } = rssOf(this.pid);
    this.peak = Math.max(this.peak, hwm, rss);
    this.cpu = Math.max(this.cpu, cpuSecondsOf(this.pid));
  }
  stop(): number {
    this.sample();
    clearInterval(this.timer);
    return this.peak;
  }
}

/** Runs a command to completion, timing it (wall clock) and sampling its peak RSS. */
export function run(cmd: string, args: string[], opts: SpawnOptions & { quiet?: boolean } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = track(spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts }));
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => {
      stderr += d;
      if (stderr.length > 1e6) stderr = stderr.slice(-5e5);
    });
    const sampler = child.pid ? new RssSampler(child.pid) : undefined;
    // VmHWM is read from /proc while the child lives; 'exit' fires after it is reaped.
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const peakRss = sampler?.stop() ?? 0;
      resolve({ code: code ?? -1, seconds, stdout, stderr, peakRss, cpuSeconds: sampler?.cpu ?? 0 });
    });
  });
}

/** Like run() but throws with the command's output when it exits non-zero. */
export async function mustRun(cmd: string, args: string[], opts: SpawnOptions = {}): Promise<RunResult> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-4000)}`);
  }
  return r;
}

export interface Server {
  url: string;
  proc: ChildProcess;
  stop(): Promise<void>;
  logFile: string;
}

/** Starts dist/src/server/main.js with `env` and waits until /readyz answers 200. */
export async function startServer(env: NodeJS.ProcessEnv, logFile: string): Promise<Server> {
  const entry = path.join(REPO, 'dist', 'src', 'server', 'main.js');
  if (!fs.existsSync(entry)) throw new Error(`${entry} is missing: run \`npm run build\` first`);
  const port = await freePort();
  const out = fs.openSync(logFile, 'a');
  const proc = track(spawn(process.execPath, [entry], {
    cwd: REPO,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', out, out],
  }));
  fs.closeSync(out);
  let exited: number | null = null;
  proc.on('exit', (code) => (exited = code ?? -1));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited !== null) throw new Error(`server exited ${exited} at start; see ${logFile}`);
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.ok) break;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) throw new Error(`server not ready after 60 s; see ${logFile}`);
    await sleep(200);
  }
  return {
    url,
    proc,
    logFile,
    stop: () =>
      new Promise<void>((resolve) => {
        if (exited !== null) return resolve();
        const t = setTimeout(() => proc.kill('SIGKILL'), 15_000);
        proc.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
        proc.kill('SIGTERM');
      }),
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A markdown table; columns after the first are right-aligned unless `leftAll`. */
export function table(header: string[], rows: (string | number)[][], leftAll = false): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const w = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => '| ' + r.map((c, i) => (i === 0 || leftAll ? c.padEnd(w[i]) : c.padStart(w[i]))).join(' | ') + ' |';
  const sep = '|' + w.map((n, i) => (i === 0 || leftAll ? '-'.repeat(n + 2) : '-'.repeat(n + 1) + ':')).join('|') + '|';
  return [line(cells[0]), sep, ...cells.slice(1).map(line)].join('\n');
}

export function fmtBytes(n: number): string {
  if (n >= GiB) return `${(n / GiB).toFixed(2)} GiB`;
  if (n >= MiB) return `${(n / MiB).toFixed(1)} MiB`;
  return `${n} B`;
}

/** Writes `size` random bytes to `file` (fresh randomness every call), 8 MiB at a time. */
export async function writeRandomFile(file: string, size: number): Promise<void> {
  const { randomFill } = await import('node:crypto');
  const fh = await fs.promises.open(file, 'w');
  try {
    const buf = Buffer.allocUnsafe(8 * MiB);
    for (let off = 0; off < size; ) {
      const n = Math.min(buf.length, size - off);
      await new Promise<void>((res, rej) => randomFill(buf, 0, n, (e) => (e ? rej(e) : res())));
      await fh.write(buf, 0, n, off);
      off += n;
    }
  } finally {
    await fh.close();
  }
}

/** Byte-for-byte comparison of two files with cmp(1); true when identical. */
export function sameFile(a: string, b: string): boolean {
  return spawnSync('cmp', ['-s', a, b]).status === 0;
}

export function version(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env } });
  return ((r.stdout || r.stderr || '').split('\n')[0] || '?').trim();
}

/** Runs a benchmark's main: Ctrl-C or kill unwinds through its finally (children stopped, data deleted); an error exits 1. */
export function runBench(main: () => Promise<void>): void {
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      log(`${sig}: stopping children, cleaning up`);
      killChildren();
    });
  }
  main().catch((e) => {
    process.stderr.write(`bench failed: ${e instanceof Error ? e.stack ?? e.message : e}\n`);
    process.exit(1);
  });
}

/** Where scripts/start-rgw.sh keeps its RGW (sockets, ceph.conf). */
const RGW_BASE = process.env.RGW_BASE ?? '/tmp/tessera-rgw';

/** Bytes the memstore OSD holds (mempool buffer_anon), or -1 if its admin socket does not answer. */
export function osdBytes(): number {
  const r = spawnSync('ceph', ['--admin-daemon', path.join(RGW_BASE, 'run', 'osd.0.asok'), 'perf', 'dump'], { encoding: 'utf8', timeout: 15_000 });
  try {
    return Number(JSON.parse(r.stdout).mempool.buffer_anon_bytes);
  } catch {
    return -1;
  }
}

/** Runs RGW's garbage collector until the OSD holds less than `limit` bytes (best effort, 5 min max). */
export async function drainRgw(limit = 3 * GiB): Promise<void> {
  let used = osdBytes();
  if (used < limit) return;
  log(`RGW OSD holds ${fmtBytes(used)}: running radosgw-admin gc process --include-all`);
  const deadline = Date.now() + 300_000;
  while (used >= limit && Date.now() < deadline) {
    spawnSync('radosgw-admin', ['-c', path.join(RGW_BASE, 'ceph.conf'), 'gc', 'process', '--include-all'], { stdio: 'ignore', timeout: 120_000 });
    await sleep(2000);
    used = osdBytes();
  }
  log(`RGW OSD now holds ${fmtBytes(used)}`);
}
