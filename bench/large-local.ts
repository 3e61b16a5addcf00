/**
 * A big upload end to end on the local store, with the peak RSS of client and server.
 *
 *   npx tsc -p bench/tsconfig.json && node dist/bench/large-local.js [--size-gib N] [--dir D]
 *       [--concurrency N] [--dd-sample-gib 8]
 *
 * Needs `npm run build`. The source is a sparse file (no disk, reads as zeros: the client still
 * reads and hashes every byte). The local store writes each part straight to its offset in the
 * object's file and completes by renaming it, so the upload needs about 1x its size on disk; the
 * default size is min(50 GiB, (free space of --dir - 4 GiB) / 1.1), whole GiB. Raw disk write speed is measured first with
 * `dd if=/dev/zero bs=8M conv=fdatasync` of min(size, --dd-sample-gib) (a proportionate sample).
 * The server (STORAGE=local, SQLite, throwaway DATA_DIR) and the CLI run as separate processes;
 * /proc/<pid>/status (VmHWM, VmRSS) is sampled every 250 ms and /proc/<pid>/io gives the phase
 * boundaries (client has read the file once = hashing done; server has written `size` bytes =
 * every part written; the rest until the CLI exits = the last confirmParts and completeUpload).
 * Everything is deleted afterwards. Prints a table; exits non-zero only on error (a failed
 * upload, or an RSS above the 300 MB goal is reported, not an error).
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { arg, GiB, MiB, REPO, fmtBytes, log, mustRun, RssSampler, runBench, startServer, table, track } from './lib';

const RSS_GOAL = 300 * 1000 * 1000;

function ioOf(pid: number): { rchar: number; wchar: number } {
  try {
    const s = fs.readFileSync(`/proc/${pid}/io`, 'utf8');
    const v = (k: string) => Number(new RegExp(`^${k}: (\\d+)`, 'm').exec(s)?.[1] ?? 0);
    return { rchar: v('rchar'), wchar: v('wchar') };
  } catch {
    return { rchar: -1, wchar: -1 };
  }
}

async function main(): Promise<void> {
  const base = path.resolve(arg('dir', process.env.BENCH_DIR ?? os.tmpdir()));
  const st = fs.statfsSync(base);
  const free = st.bavail * st.bsize;
  const cap = Math.floor((free - 4 * GiB) / 1.1 / GiB);
  const requested = arg('size-gib', '');
  const sizeGiB = requested ? Number(requested) : Math.min(50, cap);
  const why = requested
    ? `requested with --size-gib`
    : sizeGiB < 50 ? `min(50 GiB, (free ${fmtBytes(free)} - 4 GiB) / 1.1) = ${sizeGiB} GiB` : 'the 50 GiB target fits';
  if (!(sizeGiB > 0)) throw new Error(`not enough free space under ${base} (${fmtBytes(free)})`);
  if (sizeGiB * GiB * 1.05 > free) throw new Error(`${sizeGiB} GiB needs ~${(sizeGiB * 1.05).toFixed(0)} GiB free under ${base}; only ${fmtBytes(free)}`);
  const size = sizeGiB * GiB;
  const ddGiB = Math.min(sizeGiB, Number(arg('dd-sample-gib', '8')));
  const conc = arg('concurrency', '');
  log(`size ${sizeGiB} GiB (${why}); dir ${base}; free ${fmtBytes(free)}`);

  const work = fs.mkdtempSync(path.join(base, 'tessera-bench-large-'));
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  let serverRss: RssSampler | undefined;
  try {
    // 1. raw disk write speed
    const ddFile = path.join(work, 'dd.bin');
    log(`dd: ${ddGiB} GiB with conv=fdatasync`);
    const dd = await mustRun('dd', ['if=/dev/zero', `of=${ddFile}`, 'bs=8M', `count=${ddGiB * 128}`, 'conv=fdatasync', 'status=none']);
    fs.rmSync(ddFile);
    const diskBps = (ddGiB * GiB) / dd.seconds;
    log(`dd: ${(diskBps / MiB).toFixed(0)} MiB/s`);

    // 2. sparse source, server, user
    const src = path.join(work, 'source.bin');
    fs.closeSync(fs.openSync(src, 'w'));
    fs.truncateSync(src, size);
    server = await startServer({ STORAGE: 'local', DATA_DIR: path.join(work, 'server') }, path.join(work, 'server.log'));
    const spid = server.proc.pid!;
    serverRss = new RssSampler(spid);
    log(`Tessera server (STORAGE=local, SQLite) at ${server.url}, pid ${spid}`);
    const cli = path.join(REPO, 'bin', 'tessera.js');
    const env = { ...process.env, TESSERA_SERVER: server.url, TESSERA_CONFIG_DIR: path.join(work, 'cli') };
    await mustRun(process.execPath, [cli, 'signup', '--email', `large-${process.pid}@example.com`, '--password', 'bench-password-1'], { env });

    // 3. the upload, with phase boundaries from /proc/<pid>/io
    const serverIo0 = ioOf(spid);
    const t0 = Date.now();
    let hashDone = 0;
    let partsDone = 0;
    let clientPid = 0;
    let peakStaged = 0;
    const phaseTimer = setInterval(() => {
      if (clientPid && !hashDone && ioOf(clientPid).rchar >= size) hashDone = Date.now();
      if (!partsDone && ioOf(spid).wchar - serverIo0.wchar >= size) partsDone = Date.now();
      const st2 = fs.statfsSync(base);
      peakStaged = Math.max(peakStaged, free - st2.bavail * st2.bsize);
    }, 250);
    const args = [cli, 'upload', ...(conc ? ['--concurrency', conc] : []), src, '/large.bin'];
    log(`uploading: node ${args.map((a) => path.relative(REPO, a).startsWith('..') ? a : path.relative(REPO, a)).join(' ')}`);
    const child = track(spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] }));
    clientPid = child.pid!;
    const clientRss = new RssSampler(clientPid);
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out = (out + d).slice(-4000)));
    const progress = setInterval(() => {
      const c = ioOf(clientPid);
      const s = ioOf(spid);
      log(`  client read ${fmtBytes(Math.max(0, c.rchar))}, server wrote ${fmtBytes(s.wchar - serverIo0.wchar)}; RSS client ${(clientRss.peak / MiB).toFixed(0)} MiB, server ${(serverRss!.peak / MiB).toFixed(0)} MiB`);
    }, 30_000);
    const code: number = await new Promise((res) => child.on('close', (c) => res(c ?? -1)));
    const t1 = Date.now();
    clearInterval(progress);
    clearInterval(phaseTimer);
    const clientPeak = clientRss.stop();
    if (code !== 0) throw new Error(`upload exited ${code}: ${out}`);
    if (/already stored/.test(out)) throw new Error(`upload completed by dedup: ${out}`);

    // 4. check the stored file
    const ls = await mustRun(process.execPath, [cli, 'ls', '--bytes', '/'], { env }).catch(() => mustRun(process.execPath, [cli, 'ls', '/'], { env }));
    const listed = ls.stdout.includes(String(size));
    const serverPeak = serverRss.stop();
    const secs = (t1 - t0) / 1000;
    const tput = size / secs;
    const hashS = hashDone ? (hashDone - t0) / 1000 : NaN;
    const partsS = partsDone && hashDone ? (partsDone - hashDone) / 1000 : NaN;
    const assembleS = partsDone ? (t1 - partsDone) / 1000 : NaN;
    const mb = (b: number) => `${(b / 1e6).toFixed(0)} MB (${(b / MiB).toFixed(0)} MiB)`;
    const rows: (string | number)[][] = [
      ['size uploaded', `${sizeGiB} GiB (${why})`],
      ['source', 'sparse file (reads as zeros; client reads it twice: hash pass + upload pass)'],
      ['wall time, upload command', `${secs.toFixed(1)} s`],
      ['  hash pass (client read the file once)', `${hashS.toFixed(1)} s (${(size / MiB / hashS).toFixed(0)} MiB/s)`],
      ['  parts PUT, written in place by the server', `${partsS.toFixed(1)} s (${(size / MiB / partsS).toFixed(0)} MiB/s)`],
      ['  last confirmParts + completeUpload (fsync, rename)', `${assembleS.toFixed(1)} s (${(size / MiB / assembleS).toFixed(0)} MiB/s)`],
      ['end-to-end throughput', `${(tput / MiB).toFixed(0)} MiB/s`],
      [`raw disk write (dd ${ddGiB} GiB, fdatasync)`, `${(diskBps / MiB).toFixed(0)} MiB/s`],
      ['throughput / raw disk write', `${((tput / diskBps) * 100).toFixed(0)}% (the store writes every byte once, in place)`],
      ['peak disk used', fmtBytes(peakStaged)],
      ['peak RSS client (VmHWM)', `${mb(clientPeak)} ${clientPeak < RSS_GOAL ? '< 300 MB goal: ok' : '>= 300 MB goal: MISSED'}`],
      ['peak RSS server (VmHWM)', `${mb(serverPeak)} ${serverPeak < RSS_GOAL ? '< 300 MB goal: ok' : '>= 300 MB goal: MISSED'}`],
      ['file listed with its exact size', listed ? 'yes' : `no: ${ls.stdout.trim().slice(0, 200)}`],
    ];
    const header = [
      `Large upload on the local store; ${new Date().toISOString()}`,
      `machine: ${os.cpus().length} cores (${os.cpus()[0]?.model}), ${(os.totalmem() / GiB).toFixed(0)} GiB RAM, Node ${process.version}; dir ${base}; CLI --concurrency ${conc || 'default'}`,
      '',
    ];
    process.stdout.write(header.join('\n') + '\n' + table(['measure', 'value'], rows, true) + '\n');
    if (!listed) throw new Error('the uploaded file is not listed with its size');
  } finally {
    serverRss?.stop();
    await server?.stop();
    if (!process.env.BENCH_KEEP) fs.rmSync(work, { recursive: true, force: true });
    log(`deleted ${work}`);
  }
}

runBench(main);
