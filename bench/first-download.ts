/**
 * Why is the first Tessera download after an upload slower than the next ones? (issue 17, goal 3)
 *
 *   npx tsc -p bench/tsconfig.json && node dist/bench/first-download.js [--rounds 3] [--size-mib 1024] [--pause-s 0] [--gap-s 0] [--store s3|local] [--tools tessera,aws,rclone]
 *
 * Needs `npm run build` and scripts/start-rgw.sh (called here). Each round: a new user uploads
 * one random file, then downloads it four times in a row: default, default, --fsync, default
 * (each output deleted before the next, as bench/transfer.ts does), with `--pause-s` seconds
 * between the upload and the first download. For every download it prints the wall time, the
 * CPU seconds of the CLI (its own /proc sample), of the Tessera server and of the RGW with its OSD, and what
 * the kernel did meanwhile (/proc/vmstat deltas: pages dirtied and written back, direct reclaim,
 * dirty pages at the start), so the difference between the first download and the others can be
 * attributed. With `--tools tessera,aws,rclone` (RGW only) the peers take the same positions in
 * the same run, the order rotating every round: each tool uploads the file with its own command,
 * then downloads it three times (aws s3 cp / rclone copy have no --fsync step), so whether a
 * first download after an upload costs more for every tool, or only for Tessera, is one table.
 * Exits non-zero only on error.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { arg, MiB, REPO, cpuSecondsOf, drainRgw, fmtBytes, log, median, mustRun, storeCpuSeconds, storePids, runBench, sameFile, sleep, startServer, table, writeRandomFile } from './lib';
import { awsBinary, peerEnv, rgwEnv } from './peers';

const ROUNDS = Number(arg('rounds', '3'));
const SIZE = Number(arg('size-mib', '1024')) * MiB;
const PAUSE_S = Number(arg('pause-s', '0'));
/** Seconds to wait after each download's output is deleted, before the next download. */
const GAP_S = Number(arg('gap-s', '0'));
/** `s3` (Ceph RGW, the default) or `local` (the server's own disk: no RGW needed, the client's side of the question alone). */
const STORE = arg('store', 's3');
const STEPS = ['1st default', '2nd default', '--fsync', '3rd default'] as const;
type Tool = 'tessera' | 'aws' | 'rclone';
const TOOLS = arg('tools', 'tessera').split(',') as Tool[];
const AWS = awsBinary(arg('aws', ''));
/** Extra node options for the Tessera CLI's downloads, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` (one profile per download). */
const CLI_NODE_ARGS = (process.env.BENCH_CLI_NODE_ARGS ?? '').split(' ').filter(Boolean);

/** The /proc/vmstat counters that tell where page-cache time goes. */
const VMSTAT = ['nr_dirty', 'nr_writeback', 'nr_dirtied', 'nr_written', 'pgscan_direct', 'pgsteal_direct', 'allocstall_normal', 'allocstall_movable', 'pgscan_kswapd', 'nr_free_pages', 'compact_stall', 'compact_migrate_scanned', 'thp_fault_alloc', 'thp_fault_fallback', 'pgfault'];
function vmstat(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of fs.readFileSync('/proc/vmstat', 'utf8').split('\n')) {
    const [k, v] = line.split(' ');
    if (VMSTAT.includes(k)) out[k] = Number(v);
  }
  return out;
}

/**
 * The kernel's dirty-page throttling of one process, where tracefs can be written (root): a
 * private trace instance with writeback:balance_dirty_pages on, filtered to nothing else. Each
 * event is one pause of a writer that dirtied pages faster than the disk takes them (`pause`, in
 * jiffies); folio_wait_writeback counts writes that waited for a page being written back.
 */
class DirtyThrottleTrace {
  private readonly dir = `/sys/kernel/tracing/instances/tessera-bench-firstdl-${process.pid}`;
  readonly on: boolean;
  constructor() {
    let on = false;
    try {
      if (!fs.existsSync('/sys/kernel/tracing/instances')) throw new Error('no tracefs');
      fs.mkdirSync(this.dir, { recursive: true });
      fs.writeFileSync(`${this.dir}/events/writeback/balance_dirty_pages/enable`, '1');
      fs.writeFileSync(`${this.dir}/events/writeback/folio_wait_writeback/enable`, '1');
      on = true;
    } catch {
      log('tracefs not writable here: no dirty-throttling trace (run as root with /sys/kernel/tracing mounted)');
    }
    this.on = on;
  }
  clear(): void {
    if (this.on) fs.writeFileSync(`${this.dir}/trace`, '');
  }
  /** Throttle pauses (count, sum of `pause` in ms assuming the trace's own clock) and page waits for the processes named `comm`. */
  read(comm: string): { pauses: number; pausedMs: number; waits: number } {
    if (!this.on) return { pauses: 0, pausedMs: 0, waits: 0 };
    let pauses = 0;
    let paused = 0;
    let waits = 0;
    for (const line of fs.readFileSync(`${this.dir}/trace`, 'utf8').split('\n')) {
      if (!line.trimStart().startsWith(comm)) continue;
      if (line.includes('balance_dirty_pages:')) {
        pauses++;
        paused += Math.max(0, Number(/ pause=(-?\d+)/.exec(line)?.[1] ?? 0));
      } else if (line.includes('folio_wait_writeback:')) waits++;
    }
    return { pauses, pausedMs: paused * (1000 / HZ), waits };
  }
  close(): void {
    if (!this.on) return;
    try {
      fs.writeFileSync(`${this.dir}/events/writeback/balance_dirty_pages/enable`, '0');
      fs.writeFileSync(`${this.dir}/events/writeback/folio_wait_writeback/enable`, '0');
      fs.rmdirSync(this.dir);
    } catch { /* left for the next run */ }
  }
}

/** The kernel's HZ (jiffies per second; the trace's `pause` unit): CONFIG_HZ where the kernel config is readable, else 250. */
const HZ = (() => {
  for (const f of [`/boot/config-${os.release()}`, '/proc/config.gz']) {
    try {
      const raw = fs.readFileSync(f);
      const m = /^CONFIG_HZ=(\d+)/m.exec((f.endsWith('.gz') ? zlib.gunzipSync(raw) : raw).toString('utf8'));
      if (m) return Number(m[1]);
    } catch { /* not there */ }
  }
  return 250;
})();

interface Row { tool: Tool; round: number; step: string; seconds: number; pauses: number; pausedMs: number; waits: number; cli: number; server: number; rgw: number; dirtyAtStartMiB: number; writtenMiB: number; directReclaim: number; freeMiB: number; kswapd: number; compactStalls: number; thp: number; faults: number }

async function main(): Promise<void> {
  const s3 = STORE === 's3' ? rgwEnv() : {};
  const stamp = `${new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14)}-${process.pid}`;
  const work = fs.mkdtempSync(path.join(process.env.BENCH_DIR ?? os.tmpdir(), 'tessera-bench-firstdl-'));
  const src = path.join(work, 'source.bin');
  const out = path.join(work, 'out.bin');
  const prefix = `bench-firstdl-${stamp}`;
  if (STORE !== 's3' && TOOLS.some((t) => t !== 'tessera')) throw new Error('--tools with aws or rclone needs --store s3');
  const server = await startServer({ STORAGE: STORE, ...s3, S3_PREFIX: `${prefix}/tessera/`, DATA_DIR: path.join(work, 'server') }, path.join(work, 'server.log'));
  const penv = STORE === 's3' ? peerEnv(s3, work) : process.env;
  const awsEp = ['--endpoint-url', s3.S3_ENDPOINT ?? ''];
  const cleanupPrefix = () => mustRun(AWS, [...awsEp, 's3', 'rm', '--recursive', '--only-show-errors', `s3://${s3.S3_BUCKET}/${prefix}/`], { env: penv });
  const cli = path.join(REPO, 'bin', 'tessera.js');
  const rows: Row[] = [];
  const rgw = storePids();
  const page = 4096 / MiB;
  const trace = new DirtyThrottleTrace();
  try {
    log(`work dir ${work}; ${TOOLS.join(', ')}; ${fmtBytes(SIZE)}; ${ROUNDS} round(s); pause ${PAUSE_S} s after each upload, gap ${GAP_S} s after each delete`);
    await writeRandomFile(src, SIZE);
    for (let r = 1; r <= ROUNDS; r++) {
      // the order rotates each round (ABC, BCA, CAB...): every tool's first download sits after its own upload
      for (const tool of [...TOOLS.slice((r - 1) % TOOLS.length), ...TOOLS.slice(0, (r - 1) % TOOLS.length)]) {
        if (STORE === 's3') await drainRgw();
        const env = { ...process.env, TESSERA_SERVER: server.url, TESSERA_CONFIG_DIR: path.join(work, `cli-${r}`) };
        const remote = `${prefix}/${tool}-${r}/source.bin`;
        let up;
        if (tool === 'tessera') {
          await mustRun(process.execPath, [cli, 'signup', '--email', `firstdl-${stamp}-${r}@example.com`, '--password', 'bench-password-1'], { env });
          up = await mustRun(process.execPath, [cli, 'upload', src, `/f${r}.bin`], { env });
        } else if (tool === 'aws') {
          up = await mustRun(AWS, [...awsEp, 's3', 'cp', '--only-show-errors', src, `s3://${s3.S3_BUCKET}/${remote}`], { env: penv });
        } else {
          up = await mustRun('rclone', ['copy', src, `RGW:${s3.S3_BUCKET}/${path.posix.dirname(remote)}/`], { env: penv });
        }
        log(`round ${r}: ${tool} upload ${up.seconds.toFixed(2)} s`);
        if (PAUSE_S) {
          // what the store does on its own after the upload (background work that would compete with a download)
          const p0 = storeCpuSeconds(rgw);
          await sleep(PAUSE_S * 1000);
          log(`round ${r}: RGW+OSD used ${(storeCpuSeconds(rgw) - p0).toFixed(2)} s of CPU in the ${PAUSE_S} s after the upload`);
        }
        for (const step of STEPS) {
          if (tool !== 'tessera' && step === '--fsync') continue;
          const v0 = vmstat();
          trace.clear();
          const s0 = cpuSecondsOf(server.proc.pid!);
          const g0 = storeCpuSeconds(rgw);
          let d;
          if (tool === 'tessera') {
            d = await mustRun(process.execPath, [...CLI_NODE_ARGS, cli, 'download', ...(step === '--fsync' ? ['--fsync'] : []), `/f${r}.bin`, out], { env });
          } else if (tool === 'aws') {
            d = await mustRun(AWS, [...awsEp, 's3', 'cp', '--only-show-errors', `s3://${s3.S3_BUCKET}/${remote}`, out], { env: penv });
          } else {
            const dir = path.join(work, 'rclone-dl');
            d = await mustRun('rclone', ['copy', `RGW:${s3.S3_BUCKET}/${remote}`, dir], { env: penv });
            fs.renameSync(path.join(dir, 'source.bin'), out);
            fs.rmdirSync(dir);
          }
          const v1 = vmstat();
          const t = trace.read(tool === 'tessera' ? 'node-' : tool === 'aws' ? 'aws-' : 'rclone-'); // the tool and its threads
          rows.push({
            tool, pauses: t.pauses, pausedMs: t.pausedMs, waits: t.waits,
            round: r, step, seconds: d.seconds, cli: d.cpuSeconds, server: cpuSecondsOf(server.proc.pid!) - s0, rgw: storeCpuSeconds(rgw) - g0,
            dirtyAtStartMiB: (v0.nr_dirty + v0.nr_writeback) * page, writtenMiB: (v1.nr_written - v0.nr_written) * page,
            directReclaim: (v1.pgscan_direct - v0.pgscan_direct) + (v1.allocstall_normal - v0.allocstall_normal) + (v1.allocstall_movable - v0.allocstall_movable),
            freeMiB: v0.nr_free_pages * page, kswapd: v1.pgscan_kswapd - v0.pgscan_kswapd, compactStalls: v1.compact_stall - v0.compact_stall,
            thp: v1.thp_fault_alloc - v0.thp_fault_alloc, faults: v1.pgfault - v0.pgfault,
          });
          const x = rows[rows.length - 1];
          log(`round ${r}: ${tool.padEnd(7)} ${step.padEnd(11)} ${d.seconds.toFixed(2)} s; throttled ${x.pauses}x ${x.pausedMs.toFixed(0)} ms, ${x.waits} page waits; `
            + `CPU tool ${x.cli.toFixed(2)} server ${x.server.toFixed(2)} store ${x.rgw.toFixed(2)}; dirty at start ${x.dirtyAtStartMiB.toFixed(0)} MiB, `
            + `written back ${x.writtenMiB.toFixed(0)} MiB, free ${x.freeMiB.toFixed(0)} MiB; direct reclaim ${x.directReclaim}, kswapd scanned ${x.kswapd}, `
            + `compaction stalls ${x.compactStalls}, THP faults ${x.thp}, page faults ${x.faults} (load ${os.loadavg()[0].toFixed(2)})`);
          if (!sameFile(src, out)) throw new Error(`round ${r} ${tool} ${step}: the download differs from the source`);
          fs.rmSync(out, { force: true });
          if (GAP_S) await sleep(GAP_S * 1000);
        }
        // every tool's objects go (Tessera's user is not used again): the store's GC can then keep the OSD small
        if (STORE === 's3') await cleanupPrefix();
      }
    }
  } finally {
    trace.close();
    await server.stop();
    if (STORE === 's3') await cleanupPrefix().catch((e) => log(`cleanup of ${prefix}/ failed: ${e}`));
    if (!process.env.BENCH_KEEP) fs.rmSync(work, { recursive: true, force: true });
  }
  const fmt = (x: number) => x.toFixed(2);
  process.stdout.write([
    `First download after an upload: ${TOOLS.join(', ')}; ${fmtBytes(SIZE)}, ${ROUNDS} round(s), pause ${PAUSE_S} s, gap ${GAP_S} s; ${new Date().toISOString()}; ${os.cpus().length} cores, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`,
    '',
    table(['tool', 'round', 'download', 'wall (s)', 'throttled (pauses)', 'throttled (ms)', 'page waits', 'CLI CPU (s)', 'server CPU (s)', 'RGW+OSD CPU (s)', 'dirty+writeback at start (MiB)', 'written back during (MiB)', 'direct reclaim (pages+stalls)', 'free at start (MiB)'],
      rows.map((x) => [x.tool, x.round, x.step, fmt(x.seconds), x.pauses, x.pausedMs.toFixed(0), x.waits, fmt(x.cli), fmt(x.server), fmt(x.rgw), x.dirtyAtStartMiB.toFixed(0), x.writtenMiB.toFixed(0), x.directReclaim, x.freeMiB.toFixed(0)])),
    '',
    table(['tool', 'download', 'median wall (s)', 'median tool CPU (s)', '1st / 2nd (wall, median of rounds)'],
      TOOLS.flatMap((tool) => STEPS.filter((s) => tool === 'tessera' || s !== '--fsync').map((s) => {
        const of = (st: string) => rows.filter((x) => x.tool === tool && x.step === st);
        const ratios = of('1st default').map((a) => a.seconds / (of('2nd default').find((b) => b.round === a.round)?.seconds ?? NaN));
        return [tool, s, fmt(median(of(s).map((x) => x.seconds))), fmt(median(of(s).map((x) => x.cli))), s === '1st default' ? `${fmt(median(ratios))}×` : ''];
      }))),
  ].join('\n') + '\n');
}

runBench(main);
